"""Live datasets: acknowledged appends visible at once, without a version per append.

A live dataset (a sensor stream) has a current version like any other, marked ``live``.
Each append is one small Parquet *segment* written aside, fsynced, and registered in
``live_segments`` by the caller's transaction; once that commits, the rows are durable and
every reader sees them: ``lake.heads.head_files`` lists the head version's files plus the
live segments, read in one statement so a reader never sees a half-swapped state.

This module is the write side of live segments (make a dataset live, take its lock, write
and register a segment, the exact duplicate check); ``lake.compaction`` merges and folds
them in the background.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.errors import Conflict, Invalid
from datatorg.lake import writer
from datatorg.lake.ingest_common import ROW_GROUP_ROWS, lit, quote_ident
from datatorg.lake.models import (
    DatasetHead,
    DatasetVersion,
    LiveSegment,
    SegmentState,
    VersionFile,
    WriteMode,
)
from datatorg.lake.schema import STORAGE
from datatorg.lake.storage import Storage

SOURCE = "live"  # ``source_format`` of live versions (made here and by compaction)

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
}


def arrow_schema(table_schema: dict[str, Any]) -> pa.Schema:
    """The Arrow schema a segment of a dataset with ``table_schema`` is written with."""
    return pa.schema([(f["name"], _ARROW[f["type"]]) for f in table_schema["fields"]])


def check_schema(table_schema: dict[str, Any]) -> None:
    """Refuse a schema a live dataset cannot hold (types without an Arrow twin)."""
    bad = [f["name"] for f in table_schema.get("fields", []) if f.get("type") not in _ARROW]
    if bad or not table_schema.get("fields"):
        raise Invalid(
            "A live dataset's columns must be string, integer, number, boolean, date or datetime",
            errors=[{"column": n} for n in bad],
        )
    for f in table_schema["fields"]:
        f.setdefault("x-storage-type", STORAGE[f["type"]])


def make_live(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    schema: dict[str, Any],
    created_by: uuid.UUID | None = None,
) -> DatasetVersion:
    """Make ``dataset_id`` live with ``schema``: its first (empty) live version, or a live
    version over its current files (whose schema must be ``schema``). Idempotent."""
    check_schema(schema)
    head = writer.head_of(session, dataset_id)
    if head is not None and head.live:
        return head
    if head is not None and [f["name"] for f in head.table_schema["fields"]] != [
        f["name"] for f in schema["fields"]
    ]:
        raise Conflict("The dataset already has contents with other columns.")
    version = DatasetVersion(
        id=uuid.uuid4(),
        dataset_id=dataset_id,
        number=(head.number + 1) if head else 1,
        mode=WriteMode.append,
        row_count=head.row_count if head else 0,
        added_rows=0,
        table_schema=head.table_schema if head else schema,
        schema_changes=[],
        parent_id=head.id if head else None,
        created_by=created_by,
        source_format=SOURCE,
        live=True,
    )
    session.add(version)
    session.flush()
    if head is not None:
        for old in writer.files_of(session, head.id):
            session.add(
                VersionFile(
                    version_id=version.id,
                    key=old.key,
                    ordinal=old.ordinal,
                    row_count=old.row_count,
                    size_bytes=old.size_bytes,
                )
            )
    writer._swap_head(session, dataset_id, head.id if head else None, version.id)
    return version


def lock(session: Session, dataset_id: uuid.UUID) -> None:
    """Take the dataset's write lock (its head row) for the rest of the transaction.

    On SQLite this is the database's write lock: take it before reading what the write
    depends on, or a concurrent writer makes the transaction fail instead of wait. Outside
    a transaction, the new one begins as a write (``db.writes``: it waits its turn, at most
    ``DATATORG_WRITE_WAIT_MS``, then ``WriteBusy``)."""
    if not session.in_transaction():
        writes.begin(session)
    session.execute(
        update(DatasetHead)
        .where(DatasetHead.dataset_id == dataset_id)
        .values(version_id=DatasetHead.version_id)
        .execution_options(synchronize_session=False)
    )


def write_segment_file(storage: Storage, dataset_id: uuid.UUID, table: pa.Table) -> tuple[str, int]:
    """Write ``table`` as a new segment file, fsynced and in place; its key and size.

    The file is an orphan (collected by ``lake gc``) until ``register_segment`` commits."""
    staging = storage.staging_dir(str(uuid.uuid4()))
    tmp = staging / "segment.parquet"
    try:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS, compression="snappy")
        key = f"datasets/{dataset_id}/live/{uuid.uuid4().hex}.parquet"
        size = storage.put_file(key, tmp)  # fsync, rename, fsync the folder
    finally:
        tmp.unlink(missing_ok=True)
        staging.rmdir()
    return key, size


def register_segment(
    *, session: Session, dataset_id: uuid.UUID, key: str, rows: int, size: int
) -> LiveSegment:
    """Add a written segment to the dataset's live rows; the caller holds the lock
    (``lock``) and commits. Readers see the rows from the commit on."""
    head = writer.head_of(session, dataset_id)
    if head is None or not head.live:
        raise Conflict("This dataset does not take live appends.")
    seq = (
        session.scalar(
            select(func.max(LiveSegment.seq)).where(LiveSegment.dataset_id == dataset_id)
        )
        or 0
    ) + 1
    segment = LiveSegment(dataset_id=dataset_id, seq=seq, key=key, row_count=rows, size_bytes=size)
    session.add(segment)
    session.flush()
    return segment


def append(
    *, session: Session, storage: Storage, dataset_id: uuid.UUID, table: pa.Table
) -> LiveSegment:
    """Write ``table`` as a segment and register it (under the lock, taken here); the caller
    commits, and acknowledges only after the commit."""
    key, size = write_segment_file(storage, dataset_id, table)
    lock(session, dataset_id)
    return register_segment(
        session=session, dataset_id=dataset_id, key=key, rows=table.num_rows, size=size
    )


@dataclass(frozen=True)
class Snapshot:
    version: DatasetVersion
    files: list[VersionFile]
    segments: list[LiveSegment]


def snapshot(session: Session, dataset_id: uuid.UUID) -> Snapshot | None:
    head = writer.head_of(session, dataset_id)
    if head is None or not head.live:
        return None
    segments = list(
        session.scalars(
            select(LiveSegment)
            .where(LiveSegment.dataset_id == dataset_id, LiveSegment.state == SegmentState.live)
            .order_by(LiveSegment.seq)
        )
    )
    return Snapshot(head, writer.files_of(session, head.id), segments)


def existing_keys(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    columns: tuple[str, str],
    keys: list[tuple[str, Any]],
) -> set[tuple[str, Any]]:
    """Which of ``keys`` (values of the two ``columns``, e.g. entity and time) the live
    dataset already holds, in its version or its live segments: the write path's exact
    duplicate check for appends older than what it remembers."""
    snap = snapshot(session, dataset_id)
    if snap is None or not keys:
        return set()
    paths = [storage.local_path(f.key) for f in snap.files]
    paths += [storage.local_path(s.key) for s in snap.segments]
    if not paths:
        return set()
    a, b = (quote_ident(c) for c in columns)
    wanted = pa.table({"k0": [k[0] for k in keys], "k1": [k[1] for k in keys]})
    lo, hi = min(k[1] for k in keys), max(k[1] for k in keys)
    files = ", ".join(lit(str(p)) for p in paths)
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register("wanted", wanted)
        found = con.execute(
            f"SELECT DISTINCT t.{a}, t.{b} FROM read_parquet([{files}]) t "
            f"JOIN wanted w ON t.{a} = w.k0 AND t.{b} = w.k1 WHERE t.{b} BETWEEN ? AND ?",
            [lo, hi],
        ).fetchall()
    finally:
        con.close()
    return {(str(x), y) for x, y in found}
