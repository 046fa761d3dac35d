"""Backup and restore: ``datatorg backup`` of a live demo (two workers serving reads and
writes meanwhile) restores into an empty installation that is whole (every referenced file,
an intact audit chain, every version's rows as published); a backup of the same
installation once quiet restores to an identical state: every table, every version's rows.
Runs on the run's database (SQLite, or PostgreSQL with ``pg_dump``/``pg_restore``)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from sqlalchemy import Engine, select, text

import datatorg.db.models  # noqa: F401  (every table)
from datatorg.audit import service as audit
from datatorg.db.base import Base
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import User
from datatorg.lake.models import DatasetVersion, VersionFile
from tests.robust.server import Installation, load_demo, new_installation, serve


def _cli(inst: Installation, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datatorg.cli", *args],
        env=inst.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _empty(root: Path, pg: Any, name: str) -> Installation:
    """An installation with an empty database (not migrated) and no lake."""
    root.mkdir(parents=True, exist_ok=True)
    url = pg.create_database(name) if pg is not None else f"sqlite:///{root / (name + '.sqlite3')}"
    return Installation(database_url=url, lake=root / f"{name}-lake")


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            out[table.name] = [tuple(r) for r in rows]
        out["alembic_version"] = list(conn.execute(text("SELECT version_num FROM alembic_version")))
    return out


def _version_rows(inst: Installation) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(inst.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            files: dict[str, list[str]] = {}
            for vid, key in s.execute(
                select(DatasetVersion.id, VersionFile.key)
                .join(VersionFile, VersionFile.version_id == DatasetVersion.id)
                .order_by(VersionFile.ordinal)
            ):
                files.setdefault(str(vid), []).append(str(inst.lake / key))
            assert audit.verify_chain(session=s).ok
    finally:
        engine.dispose()
    con = duckdb.connect()
    try:
        return {
            vid: con.execute(f"SELECT * FROM read_parquet({paths!r})").fetchall()
            for vid, paths in files.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, pg_server: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("backup")
    inst = new_installation(root / "live", pg_server, "robust_backup_live")
    load_demo(inst)
    engine = make_engine(inst.database_url)
    with make_sessionmaker(engine)() as s:
        consumer = s.scalars(select(User).where(User.email == "consumer@demo.datatorg.no")).one()
        token, _ = identity.create_token(session=s, user=consumer, name="before-backup")
        s.commit()
    engine.dispose()
    statuses: list[int] = []
    dropped: list[str] = []  # connections lost without an answer (see traffic)
    with serve(inst, workers=2) as server:
        stop = threading.Event()

        def traffic() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            i = 0
            while not stop.is_set():
                # A kept-alive connection the server closes after its idle time-out while the
                # next request is on its way is reset (seen at load 12): that is the network's
                # doing, not an answer; the next round opens a new connection.
                with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
                    try:
                        while not stop.is_set():
                            i += 1
                            body = {"name": f"t{i}"}
                            statuses.append(c.post("/api/v1/me/tokens", json=body).status_code)
                            statuses.append(c.get("/api/v1/datasets?q=halden").status_code)
                            statuses.append(c.get("/datasets").status_code)
                    except httpx.TransportError as exc:
                        dropped.append(type(exc).__name__)

        threads = [threading.Thread(target=traffic) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        busy = _cli(inst, "backup", str(root / "busy"))
        stop.set()
        for t in threads:
            t.join()
    quiet = _cli(inst, "backup", str(root / "quiet"))
    return {
        "root": root,
        "inst": inst,
        "busy": busy,
        "quiet": quiet,
        "statuses": statuses,
        "dropped": dropped,
    }


def test_the_backup_ran_while_the_server_wrote(live: dict[str, Any]) -> None:
    assert live["busy"].returncode == 0, live["busy"].stderr
    assert live["quiet"].returncode == 0, live["quiet"].stderr
    writes = [s for s in live["statuses"]]
    assert len(writes) >= 12 and set(writes) <= {200, 201}
    assert len(live["dropped"]) <= 2, live["dropped"]  # a rare reset, never a pattern


def test_a_backup_taken_under_load_restores_whole(live: dict[str, Any], pg_server: Any) -> None:
    target = _empty(live["root"] / "restored-busy", pg_server, "robust_backup_busy")
    done = _cli(target, "restore", str(live["root"] / "busy"))
    assert done.returncode == 0, done.stderr
    restored = _version_rows(target)  # every referenced file there; the audit chain intact
    original = _version_rows(live["inst"])
    assert restored and all(original[vid] == rows for vid, rows in restored.items())
    engine = make_engine(target.database_url)
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM api_tokens"))}
    engine.dispose()
    assert "before-backup" in names


def test_a_quiet_backup_restores_an_identical_installation(
    live: dict[str, Any], pg_server: Any
) -> None:
    target = _empty(live["root"] / "restored-quiet", pg_server, "robust_backup_quiet")
    done = _cli(target, "restore", str(live["root"] / "quiet"))
    assert done.returncode == 0, done.stderr
    a, b = make_engine(live["inst"].database_url), make_engine(target.database_url)
    try:
        assert _tables(b) == _tables(a)
    finally:
        a.dispose()
        b.dispose()
    assert _version_rows(target) == _version_rows(live["inst"])


def test_restore_refuses_a_used_installation(live: dict[str, Any]) -> None:
    done = _cli(live["inst"], "restore", str(live["root"] / "quiet"))
    assert done.returncode != 0
    assert "not empty" in done.stderr
    assert _cli(live["inst"], "backup", str(live["root"] / "quiet")).returncode != 0  # not empty
