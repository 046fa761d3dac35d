"""A row index being built when the process exits is stopped first (``rowindex.stop_builds``,
run at exit): Python stops daemon threads at exit, and one stopped inside DuckDB's C++ code
aborts the whole process ("FATAL: exception not rethrown", seen after test runs). Stopped
builds record no failure, so the next process builds the index as usual."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb

from datatorg.lake import rowindex, rowindex_build
from datatorg.lake.storage import storage_for

SCHEMA = {
    "fields": [
        {"name": "i", "type": "integer"},
        {"name": "k", "type": "integer"},
        {"name": "s", "type": "string"},
    ]
}


def test_builds_stop_at_exit_and_record_nothing(tmp_path: Path) -> None:
    source = tmp_path / "rows.parquet"
    duckdb.sql(
        "COPY (SELECT i, i % 50 AS k, 'v' || i AS s FROM range(400000) t(i)) "
        f"TO '{source}' (FORMAT parquet)"
    )
    storage = storage_for(tmp_path / "lake")
    version = uuid.uuid4()
    try:
        assert rowindex.lookup(storage, version, [source], SCHEMA, 400_000, 1_000_000) is None
        rowindex.stop_builds(timeout=30)
        path = rowindex.index_path(storage, version)
        assert not rowindex._building  # every build thread has ended
        assert rowindex.read_failure(path) is None  # not a failure of the version
        # while stopping, no new build starts
        again = uuid.uuid4()
        assert rowindex.lookup(storage, again, [source], SCHEMA, 400_000, 1_000_000) is None
        assert not rowindex._building
    finally:
        rowindex_build.STOPPING.clear()
    # the next process (here: after the flag is cleared) builds it
    assert rowindex.wait(storage, version, timeout=0) is False
    rowindex.lookup(storage, version, [source], SCHEMA, 400_000, 1_000_000)
    assert rowindex.wait(storage, version, timeout=60)
