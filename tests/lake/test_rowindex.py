"""The row index: built atomically and once, per version, within the size cap; gc drops the
indexes of versions that are no longer current."""

from __future__ import annotations

import io
import multiprocessing
import os
import sqlite3
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.lake import gc, rowindex, rowindex_build, service
from datatorg.settings import Settings
from tests.lake.helpers import make_dataset, publisher, upload


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _readings(n: int = 30, start: int = 0) -> bytes:
    return _parquet(
        pa.table(
            {
                "station": [f"S{i % 3}" for i in range(start, start + n)],
                "ts": [datetime(2025, 1, 1, i % 24) for i in range(start, start + n)],
                "no2": [float(i) for i in range(start, start + n)],
            }
        )
    )


def _dataset(client: TestClient, session: Session, content: bytes) -> Dataset:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, content, filename="r.parquet")
    assert resp.status_code == 201, resp.text
    return ds


def _head(session: Session, settings: Settings, ds: Dataset) -> service.HeadFiles:
    head = service.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None
    return head


def test_build_holds_every_row_with_its_position_and_chosen_indexes(
    client: TestClient, session: Session, settings: Settings
) -> None:
    ds = _dataset(client, session, _readings())
    head = _head(session, settings, ds)
    path = service.build_row_index(settings=settings, head=head)
    assert path is not None and path.name == f"{head.version_id}.sqlite3"
    meta = rowindex.read_meta(path)
    assert meta.time == "ts" and meta.keys == ("station",)
    assert meta.indexes == {
        "k0": ["station"],
        "kt0": ["station", "ts"],
        "kt0d": ["station", "ts"],
        "t": ["ts"],
        "td": ["ts"],
    }
    assert meta.descending == ("kt0d", "td")
    assert meta.types == {"station": "VARCHAR", "ts": "TIMESTAMP", "no2": "DOUBLE"}
    db = sqlite3.connect(path)
    rows = db.execute('SELECT "__datatorg_pos", station, ts, no2 FROM r ORDER BY 1').fetchall()
    db.close()
    assert len(rows) == 30
    assert rows[0] == (0, "S0", int(datetime(2025, 1, 1).timestamp()) * 10**6, 0.0)
    assert [r[0] for r in rows] == list(range(30))  # file 0, row numbers 0..29


def test_build_is_idempotent_and_leaves_no_temporary_file(
    client: TestClient, session: Session, settings: Settings
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings()))
    first = service.build_row_index(settings=settings, head=head)
    assert first is not None
    inode = first.stat().st_ino
    again = service.build_row_index(settings=settings, head=head)
    assert again == first and first.stat().st_ino == inode  # not rebuilt
    assert not list(first.parent.glob(f"{head.version_id}*.tmp"))


def test_a_failed_build_leaves_nothing_visible(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings()))

    def boom(*args: Any) -> Any:
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(rowindex_build, "_indexes", boom)
    with pytest.raises(RuntimeError):
        service.build_row_index(settings=settings, head=head)
    target = rowindex.index_path(service.storage(settings), head.version_id)
    assert not target.exists()
    assert not list(target.parent.glob(f"{head.version_id}*.tmp"))


def test_a_failed_background_build_is_retried_after_a_pause(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings()))
    real = rowindex_build._indexes
    calls = [0]

    def fails_once(*args: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("No space left on device")
        return real(*args)

    monkeypatch.setattr(rowindex_build, "_indexes", fails_once)
    assert service.row_index(settings=settings, head=head) is None  # starts a build: it fails
    assert not service.wait_row_index(settings=settings, version_id=head.version_id)
    assert service.row_index(settings=settings, head=head) is None  # paused: no new build
    assert not service.wait_row_index(settings=settings, version_id=head.version_id)
    assert calls[0] == 1
    path = rowindex.index_path(service.storage(settings), head.version_id)
    failure = rowindex.read_failure(path)  # recorded for every worker and the next start
    assert failure is not None and failure.attempts == 1 and failure.waiting
    assert "No space left" in failure.reason
    rowindex.failure_path(path).write_text('{"attempts": 1, "retry_at": 0, "reason": "x"}')
    rowindex._refused[path] = 0.0  # the pause is over
    assert service.row_index(settings=settings, head=head) is None  # builds again
    assert service.wait_row_index(settings=settings, version_id=head.version_id)
    assert calls[0] == 2
    assert service.row_index(settings=settings, head=head) is not None


def _build_in_child(root: str, vid: str, paths: list[str], schema: dict[str, Any], q: Any) -> None:
    from datatorg.lake.storage import LocalStorage

    path = rowindex.build(LocalStorage(Path(root)), vid, [Path(p) for p in paths], schema)
    q.put(path.stat().st_ino)


def test_two_processes_build_one_index(
    client: TestClient, session: Session, settings: Settings
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings(3000)))
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    args = (str(settings.lake_path), str(head.version_id), [str(p) for p in head.paths])
    procs = [ctx.Process(target=_build_in_child, args=(*args, head.schema, q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    inodes = {q.get(timeout=5), q.get(timeout=5)}
    target = rowindex.index_path(service.storage(settings), head.version_id)
    assert inodes == {target.stat().st_ino}  # the second found the first one's file
    assert not list(target.parent.glob(f"{head.version_id}*.tmp"))


def test_background_build_on_first_lookup(
    client: TestClient, session: Session, settings: Settings
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings()))
    assert service.row_index(settings=settings, head=head) is None  # starts the build
    assert service.wait_row_index(settings=settings, version_id=head.version_id)
    found = service.row_index(settings=settings, head=head)
    assert found is not None and found[1].version_id == str(head.version_id)


def test_a_new_version_gets_its_own_index(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, _readings(), filename="a.parquet").status_code == 201
    old = _head(session, settings, ds)
    assert service.build_row_index(settings=settings, head=old) is not None
    resp = upload(
        client, ds, headers, _readings(5, start=100), filename="b.parquet", mode="replace"
    )
    assert resp.status_code == 201
    new = _head(session, settings, ds)
    assert new.version_id != old.version_id
    assert service.row_index(settings=settings, head=new) is None  # not the old one's
    body = client.get(f"/api/v1/datasets/{ds.slug}/rows?station=S0&_sort=ts").json()
    assert [r[2] for r in body["rows"]] == [102.0]  # the new version's rows
    assert service.wait_row_index(settings=settings, version_id=new.version_id)
    found = service.row_index(settings=settings, head=new)
    assert found is not None and found[0].name == f"{new.version_id}.sqlite3"
    again = client.get(f"/api/v1/datasets/{ds.slug}/rows?station=S0&_sort=ts").json()
    assert again == body


def test_size_cap_and_zero_turn_the_index_off(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _head(session, settings, _dataset(client, session, _readings()))
    for cap in (29, 0):
        monkeypatch.setattr(settings, "row_index_max_rows", cap)
        assert service.row_index(settings=settings, head=head) is None
        assert service.build_row_index(settings=settings, head=head) is None
        assert not service.wait_row_index(settings=settings, version_id=head.version_id)


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"d": pa.array([Decimal("1" + "0" * 17 + ".10")], pa.decimal128(38, 2))}),
        pa.table({"d": pa.array([Decimal("1." + "0" * 19 + "1")], pa.decimal128(21, 20))}),
        pa.table({"n": [1.0, float("nan")]}),
        pa.table({"n": [1.0, -0.0]}),
        pa.table({"ts": pa.array([datetime(2025, 1, 1)], pa.timestamp("us", tz="UTC"))}),
        pa.table({"u": pa.array([1, 2**63], pa.uint64())}),
    ],
    ids=[
        "decimal-too-large",
        "decimal-scale-20",
        "nan",
        "negative-zero",
        "timestamptz",
        "uint64-too-large",
    ],
)
def test_versions_the_index_cannot_hold_exactly_get_none(
    client: TestClient, session: Session, settings: Settings, table: pa.Table
) -> None:
    head = _head(session, settings, _dataset(client, session, _parquet(table)))
    assert service.build_row_index(settings=settings, head=head) is None
    assert not rowindex.index_path(service.storage(settings), head.version_id).exists()


def test_gc_drops_indexes_of_versions_no_longer_current(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, _readings(), filename="a.parquet").status_code == 201
    old = _head(session, settings, ds)
    old_path = service.build_row_index(settings=settings, head=old)
    resp = upload(client, ds, headers, _readings(4), filename="b.parquet", mode="replace")
    assert resp.status_code == 201
    new = _head(session, settings, ds)
    new_path = service.build_row_index(settings=settings, head=new)
    store = service.storage(settings)
    gone = rowindex.index_path(store, uuid.uuid4())  # a version that was erased
    gone.write_bytes(b"x")
    stale_tmp = new_path.with_name(f"{new.version_id}.1.abc.tmp") if new_path else None
    assert old_path and new_path and stale_tmp
    stale_tmp.write_bytes(b"x")
    os.utime(stale_tmp, (0, 0))
    report = gc.collect(session=session, storage=store, grace_seconds=60)
    assert report.indexes_removed >= 2
    assert not old_path.exists() and not gone.exists() and not stale_tmp.exists()
    assert new_path.exists()  # the current version's index stays


def test_unsigned_integers_that_fit_are_held(
    client: TestClient, session: Session, settings: Settings
) -> None:
    table = pa.table({"u": pa.array([0, 2**63 - 1], pa.uint64()), "n": [-0.5, 0.0]})
    head = _head(session, settings, _dataset(client, session, _parquet(table)))
    path = service.build_row_index(settings=settings, head=head)
    assert path is not None
    assert rowindex.read_meta(path).kinds == {"u": "int", "n": "real"}
    db = sqlite3.connect(path)
    assert db.execute("SELECT u, n FROM r ORDER BY u").fetchall() == [(0, -0.5), (2**63 - 1, 0.0)]
    db.close()


def test_decimals_are_held_as_scaled_integers_and_read_back_exactly(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DECIMAL(p,s) is stored as the value times 10**s: up to 18 digits always, wider ones
    when every value fits (here 17 digits before the point in a DECIMAL(38,2))."""
    big = Decimal("-" + "9" * 16 + ".99")
    values = [Decimal("59.1200"), Decimal("0.0000"), Decimal("-0.0500"), None]
    table = pa.table(
        {
            "lat": pa.array(values, pa.decimal128(6, 4)),
            "sum": pa.array([big, Decimal("0.10"), None, Decimal("1.00")], pa.decimal128(38, 2)),
            "whole": pa.array([Decimal(7), Decimal(-7), Decimal(0), None], pa.decimal128(5, 0)),
        }
    )
    ds = _dataset(client, session, _parquet(table))
    head = _head(session, settings, ds)
    path = service.build_row_index(settings=settings, head=head)
    assert path is not None
    assert rowindex.read_meta(path).kinds == {"lat": "dec4", "sum": "dec2", "whole": "dec0"}
    db = sqlite3.connect(path)
    stored = db.execute('SELECT lat, sum, whole FROM r ORDER BY "__datatorg_pos"').fetchall()
    db.close()
    assert stored[0] == (591200, -999999999999999999, 7)
    assert stored[3] == (None, 100, None)
    index_page = client.get(f"/api/v1/datasets/{ds.slug}/rows?_size=10").json()
    assert service.row_index(settings=settings, head=head) is not None
    monkeypatch.setattr(settings, "row_index_max_rows", 0)  # DuckDB answers the same read
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows?_size=10").json() == index_page
    assert [r[0] for r in index_page["rows"]] == [59.12, 0.0, -0.05, None]


def test_a_version_refused_for_good_by_an_older_build_is_tried_again(
    client: TestClient, session: Session, settings: Settings
) -> None:
    table = pa.table({"d": pa.array([Decimal("1.10")], pa.decimal128(5, 2))})
    head = _head(session, settings, _dataset(client, session, _parquet(table)))
    path = rowindex.index_path(service.storage(settings), head.version_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = '{"attempts": 1, "retry_at": null, "reason": "column type DECIMAL(5,2)"}'
    rowindex.failure_path(path).write_text(old)  # as builds before decimals recorded it
    assert rowindex.read_failure(path) is None
    assert service.row_index(settings=settings, head=head) is None  # builds it now
    assert service.wait_row_index(settings=settings, version_id=head.version_id)
    assert service.row_index(settings=settings, head=head) is not None
    rowindex.failure_path(path).write_text(old.replace("null,", 'null, "holds": 2,'))
    refused = rowindex.read_failure(path)  # one recorded by this build stays
    assert refused is not None and refused.waiting


def test_rowindex_build_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datatorg import cli
    from datatorg.db import migrate
    from datatorg.db.engine import make_engine

    url = f"sqlite:///{tmp_path / 'ri.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    env = {"DATATORG_DATABASE_URL": url, "DATATORG_LAKE_PATH": str(tmp_path / "lake")}
    cli.get_settings.cache_clear()
    try:
        for ref in ("no-such-dataset", "'; DROP TABLE datasets;--", "æøå"):
            result = CliRunner().invoke(cli.main, ["lake", "rowindex", "build", ref], env=env)
            assert result.exit_code == 1 and "No such dataset" in result.output, result.output
    finally:
        cli.get_settings.cache_clear()
