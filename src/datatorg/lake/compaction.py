"""Compaction of live datasets: fewer, well-sized files, without changing what readers see.

The live segments of a dataset (``lake.live``) are compacted in the background:

* ``merge`` — when ``MERGE_FANIN`` live segments share a size tier, they become one segment
  (one transaction retires the small ones and registers the merged one). No version.
* ``fold`` — when the live rows reach ``fold_rows`` or the oldest segment is older than
  ``fold_seconds``, the live segments and the version's trailing small files are written as
  one well-sized file and a new version lists it (the head swap and the retirement of the
  segments are one transaction).
* ``cleanup`` — retired segments, and versions that compaction superseded, are deleted once
  ``grace_seconds`` have passed (a reader that listed them may still be reading).

Every step writes its file before it takes the dataset's write lock and checks, under the
lock, that what it read is unchanged; otherwise it gives up and the next round retries.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.lake import writer
from datatorg.lake.ingest_common import PARQUET_OPTIONS, lit, quote_ident
from datatorg.lake.live import SOURCE, Snapshot, lock, register_segment, snapshot
from datatorg.lake.models import (
    DatasetHead,
    DatasetVersion,
    LiveSegment,
    SegmentState,
    VersionFile,
    WriteMode,
)
from datatorg.lake.schema import columns_with_role
from datatorg.lake.storage import Storage

MERGE_FANIN = 8
TIER_BASE = 8
FOLD_ROWS = 500_000
FOLD_SECONDS = 3600
GRACE_SECONDS = 600


def _tier(rows: int) -> int:
    return int(math.log(max(rows, 1), TIER_BASE))


def _write_merged(
    storage: Storage, dataset_id: uuid.UUID, schema: dict[str, Any], keys: list[str], folder: str
) -> tuple[str, int, int]:
    """One file with the rows of ``keys`` (the schema's columns, not ``lake/subject_no.py``'s
    hidden one), sorted by the time column; key, size, rows."""
    staging = storage.staging_dir(str(uuid.uuid4()))
    tmp = staging / "merged.parquet"
    files = ", ".join(lit(str(storage.local_path(k))) for k in keys)
    times = columns_with_role(schema, "time")
    order = f" ORDER BY {quote_ident(times[0])}" if times else ""
    cols = ", ".join(quote_ident(f["name"]) for f in schema["fields"])
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute(
            f"COPY (SELECT {cols} FROM read_parquet([{files}]){order}) TO {lit(str(tmp))} "
            f"({PARQUET_OPTIONS})"
        )
        rows = int(pq.ParquetFile(tmp).metadata.num_rows)
        key = f"datasets/{dataset_id}/{folder}/{uuid.uuid4().hex}.parquet"
        size = storage.put_file(key, tmp)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
        staging.rmdir()
    return key, size, rows


def merge(*, session: Session, storage: Storage, dataset_id: uuid.UUID) -> int:
    """Merge live segments of one size tier (``MERGE_FANIN`` or more) into one; commits.
    Returns how many segments were merged (0: nothing to do, or the tail changed)."""
    snap = snapshot(session, dataset_id)
    session.rollback()  # no transaction held while the file is written
    if snap is None:
        return 0
    tiers: dict[int, list[LiveSegment]] = {}
    for seg in snap.segments:
        tiers.setdefault(_tier(seg.row_count), []).append(seg)
    group = next((g for _, g in sorted(tiers.items()) if len(g) >= MERGE_FANIN), None)
    if group is None:
        return 0
    key, size, rows = _write_merged(
        storage, dataset_id, snap.version.table_schema, [s.key for s in group], "live"
    )
    ids = [s.id for s in group]
    lock(session, dataset_id)
    still = session.scalar(
        select(func.count()).where(LiveSegment.id.in_(ids), LiveSegment.state == SegmentState.live)
    )
    if still != len(ids):
        session.rollback()
        storage.delete(key)
        return 0
    _retire(session, ids)
    register_segment(session=session, dataset_id=dataset_id, key=key, rows=rows, size=size)
    session.commit()
    return len(ids)


def _retire(session: Session, ids: list[uuid.UUID]) -> None:
    session.execute(
        update(LiveSegment)
        .where(LiveSegment.id.in_(ids))
        .values(state=SegmentState.retired, retired_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def due_to_fold(snap: Snapshot, *, fold_rows: int, fold_seconds: int) -> bool:
    """Whether the live rows are many or old enough to become a version."""
    if not snap.segments:
        return False
    rows = sum(s.row_count for s in snap.segments)
    oldest = min(s.created_at for s in snap.segments)
    return rows >= fold_rows or oldest <= utcnow() - timedelta(seconds=fold_seconds)


def fold(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    fold_rows: int = FOLD_ROWS,
    fold_seconds: int = FOLD_SECONDS,
    force: bool = False,
) -> DatasetVersion | None:
    """Write the live segments, with the version's trailing files smaller than
    ``fold_rows`` in all, as one file of a new version; commits. None if not due."""
    snap = snapshot(session, dataset_id)
    session.rollback()
    if snap is None or not snap.segments:
        return None
    if not force and not due_to_fold(snap, fold_rows=fold_rows, fold_seconds=fold_seconds):
        return None
    tail_rows = sum(s.row_count for s in snap.segments)
    packed: list[VersionFile] = []
    total = tail_rows
    for f in reversed(snap.files):
        if total + f.row_count > fold_rows:
            break
        packed.insert(0, f)
        total += f.row_count
    keys = [f.key for f in packed] + [s.key for s in snap.segments]
    key, size, rows = _write_merged(storage, dataset_id, snap.version.table_schema, keys, "files")
    ids = [s.id for s in snap.segments]
    lock(session, dataset_id)
    head_now = session.scalar(
        select(DatasetHead.version_id).where(DatasetHead.dataset_id == dataset_id)
    )
    still = session.scalar(
        select(func.count()).where(LiveSegment.id.in_(ids), LiveSegment.state == SegmentState.live)
    )
    if head_now != snap.version.id or still != len(ids):
        session.rollback()
        storage.delete(key)
        return None
    kept = snap.files[: len(snap.files) - len(packed)]
    old = snap.version
    version = DatasetVersion(
        id=uuid.uuid4(),
        dataset_id=dataset_id,
        number=old.number + 1,
        mode=WriteMode.append,
        row_count=old.row_count + tail_rows,
        added_rows=tail_rows,
        table_schema=old.table_schema,
        schema_changes=[],
        parent_id=old.id,
        source_format=SOURCE,
        live=True,
    )
    session.add(version)
    session.flush()
    for i, f in enumerate(kept):
        session.add(
            VersionFile(
                version_id=version.id,
                key=f.key,
                ordinal=i,
                row_count=f.row_count,
                size_bytes=f.size_bytes,
            )
        )
    session.add(
        VersionFile(
            version_id=version.id, key=key, ordinal=len(kept), row_count=rows, size_bytes=size
        )
    )
    writer._swap_head(session, dataset_id, old.id, version.id)
    _retire(session, ids)
    session.commit()
    return version


@dataclass(frozen=True)
class CleanupReport:
    segments: int
    versions: int
    files: int


def cleanup(
    *, session: Session, storage: Storage, dataset_id: uuid.UUID, grace_seconds: int = GRACE_SECONDS
) -> CleanupReport:
    """Delete retired segments and superseded compaction versions older than the grace
    period, with the files nothing else lists; commits."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    lock(session, dataset_id)
    gone = list(
        session.scalars(
            select(LiveSegment).where(
                LiveSegment.dataset_id == dataset_id,
                LiveSegment.state == SegmentState.retired,
                LiveSegment.retired_at < cutoff,
            )
        )
    )
    head = session.scalar(
        select(DatasetHead.version_id).where(DatasetHead.dataset_id == dataset_id)
    )
    child = DatasetVersion.__table__.alias("child")
    superseded = list(
        session.scalars(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset_id,
                DatasetVersion.live.is_(True),
                DatasetVersion.source_format == SOURCE,
                DatasetVersion.id != head,
                select(child.c.id)
                .where(child.c.parent_id == DatasetVersion.id, child.c.created_at < cutoff)
                .exists(),
            )
        )
    )
    candidates: set[str] = {s.key for s in gone}
    vids = [v.id for v in superseded]
    if vids:
        candidates |= set(
            session.scalars(select(VersionFile.key).where(VersionFile.version_id.in_(vids)))
        )
        session.execute(
            update(DatasetVersion)
            .where(DatasetVersion.parent_id.in_(vids))
            .values(parent_id=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(VersionFile).where(VersionFile.version_id.in_(vids)))
        session.execute(delete(DatasetVersion).where(DatasetVersion.id.in_(vids)))
    if gone:
        session.execute(delete(LiveSegment).where(LiveSegment.id.in_([s.id for s in gone])))
    still_listed = (
        set(session.scalars(select(VersionFile.key).where(VersionFile.key.in_(candidates))))
        if candidates
        else set()
    )
    still_listed |= (
        set(session.scalars(select(LiveSegment.key).where(LiveSegment.key.in_(candidates))))
        if candidates
        else set()
    )
    session.commit()
    removed = 0
    for key in candidates - still_listed:  # after the commit: a crash leaves orphans, not holes
        storage.delete(key)
        removed += 1
    return CleanupReport(segments=len(gone), versions=len(vids), files=removed)


def live_datasets(session: Session) -> list[uuid.UUID]:
    """Datasets whose current version is live."""
    return list(
        session.scalars(
            select(DatasetHead.dataset_id)
            .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
            .where(DatasetVersion.live.is_(True))
        )
    )


@dataclass(frozen=True)
class CompactReport:
    merged: int = 0
    folded: int = 0
    segments_deleted: int = 0
    versions_deleted: int = 0


def compact(
    *,
    session: Session,
    storage: Storage,
    fold_rows: int = FOLD_ROWS,
    fold_seconds: int = FOLD_SECONDS,
    grace_seconds: int = GRACE_SECONDS,
) -> CompactReport:
    """One round over every live dataset: merge, fold when due, clean up."""
    merged = folded = segs = vers = 0
    for dataset_id in live_datasets(session):
        session.rollback()
        while n := merge(session=session, storage=storage, dataset_id=dataset_id):
            merged += n
        if (
            fold(
                session=session,
                storage=storage,
                dataset_id=dataset_id,
                fold_rows=fold_rows,
                fold_seconds=fold_seconds,
            )
            is not None
        ):
            folded += 1
        report = cleanup(
            session=session, storage=storage, dataset_id=dataset_id, grace_seconds=grace_seconds
        )
        segs += report.segments
        vers += report.versions
    return CompactReport(merged, folded, segs, vers)
