"""Backup and restore: a consistent snapshot of the control plane and the lake, taken while the
server runs, and its restoration into an empty installation.

A backup is a folder:

- ``manifest.json``: format, time, database kind, migration revision, and every lake file it
  holds with its size and SHA-256;
- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while others read and
  write) or ``database.dump`` (``pg_dump --format=custom``: one snapshot transaction);
- ``lake/``: the Parquet files of every version the database snapshot knows, and the staged
  files of its pending uploads. Lake files are immutable and written before the transaction
  that points at them commits, so the files a snapshot references exist and never change;
  files written after it are not referenced by it and are left out. Row indexes are caches,
  rebuilt on first read, and are not saved.

``restore`` refuses a database that already has tables or a lake folder with files in it; it
loads the snapshot (``sqlite3`` backup API, or ``pg_restore``), copies the lake files and
checks their digests. Database kinds are not mixed (a SQLite backup restores to SQLite).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


@dataclass(frozen=True)
class Report:
    kind: str
    files: int
    nbytes: int


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database kind {backend!r}")
    return backend


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools")
    return found


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL tools, the password in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {proc.stderr.strip()[:500]}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _snapshot_keys(url: str) -> tuple[list[str], str | None]:
    """The lake keys a database snapshot references, and its migration revision."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            keys = [r[0] for r in conn.execute(text("SELECT key FROM version_files"))]
            keys += [
                r[0]
                for r in conn.execute(
                    text("SELECT staged_key FROM pending_uploads WHERE status = 'pending'")
                )
            ]
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    return sorted(set(keys)), revision


def backup(*, database_url: str, lake: Path, dest: Path) -> Report:
    """Write a consistent snapshot of the installation to the empty folder ``dest``."""
    url = make_url(database_url)
    kind = _kind(url)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="datatorg-backup-"))
    try:
        if kind == "sqlite":
            db_file = dest / "database.sqlite3"
            src = sqlite3.connect(url.database or ":memory:", timeout=60)
            dst = sqlite3.connect(db_file)
            try:
                src.backup(dst, pages=1024)  # steps of 1,024 pages: writers go on meanwhile
            finally:
                dst.close()
                src.close()
            snapshot_url = f"sqlite:///{db_file}"
        else:
            db_file = dest / "database.dump"
            args, env = _libpq(url)
            _run([_pg_tool("pg_dump"), "--format=custom", "--file", str(db_file), *args], env)
            # the file list must come from the dump's own snapshot: read it from a scratch copy
            snapshot_url = _scratch_pg(url, db_file, work)
        keys, revision = _snapshot_keys(snapshot_url)
        files = []
        total = 0
        for key in keys:
            source = lake / key
            if not source.is_file():
                raise BackupError(f"the lake lacks a file the database references: {key}")
            target = dest / "lake" / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            size = target.stat().st_size
            files.append({"key": key, "bytes": size, "sha256": _sha256(target)})
            total += size
    finally:
        _drop_scratch(work)
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "database": kind,
        "revision": revision,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return Report(kind=kind, files=len(files), nbytes=total)


_scratch: dict[Path, tuple[URL, str]] = {}


def _scratch_pg(url: URL, dump: Path, work: Path) -> str:
    """A throw-away database on the same server, restored from ``dump``: its URL."""
    name = f"datatorg_backup_{os.getpid()}_{work.name[-8:].lower()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    _scratch[work] = (url, name)
    args, env = _libpq(url.set(database=name))
    _run([_pg_tool("pg_restore"), "--no-owner", *args, str(dump)], env)
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_scratch(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    found = _scratch.pop(work, None)
    if found is None:
        return
    url, name = found
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} is not a Datatorg backup ({type(exc).__name__})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} is a backup of another format")
    return manifest


def restore(*, src: Path, database_url: str, lake: Path) -> Report:
    """Bring an empty installation (database and lake) to the state saved in ``src``."""
    manifest = read_manifest(src)
    url = make_url(database_url)
    kind = _kind(url)
    if manifest["database"] != kind:
        raise BackupError(f"a {manifest['database']} backup cannot restore to {kind}")
    if kind == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        if inspect(engine).get_table_names():
            raise BackupError("the database is not empty: restore needs an empty one")
    finally:
        engine.dispose()
    if lake.exists() and any(p.is_file() for p in lake.rglob("*")):
        raise BackupError(f"the lake folder {lake} is not empty")
    if kind == "sqlite":
        target = Path(url.database or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(src / "database.sqlite3")
        dst = sqlite3.connect(target)
        try:
            source.backup(dst)
        finally:
            dst.close()
            source.close()
    else:
        args, env = _libpq(url)
        _run([_pg_tool("pg_restore"), "--no-owner", *args, str(src / "database.dump")], env)
    total = 0
    for entry in manifest["files"]:
        source_file = src / "lake" / entry["key"]
        target_file = lake / entry["key"]
        target_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_file, target_file)
        if _sha256(target_file) != entry["sha256"]:
            raise BackupError(f"the backup's copy of {entry['key']} is damaged")
        total += entry["bytes"]
    return Report(kind=kind, files=len(manifest["files"]), nbytes=total)
