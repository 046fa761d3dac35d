"""The gate's view of the lake: which version of a dataset is current, its files and schema
(cached by version id: a committed version never changes) and its row index.

Reached from the gate through ``datatorg.lake.service``, which names these.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset, DatasetFacts
from datatorg.db import fastread
from datatorg.db.engine import engine_of
from datatorg.errors import NotFound
from datatorg.lake import rowindex, subject_no
from datatorg.lake.models import (
    DatasetHead,
    DatasetVersion,
    LiveSegment,
    SegmentState,
    VersionFile,
)
from datatorg.lake.storage import storage_for
from datatorg.settings import Settings

_HEAD = select(DatasetHead.version_id).where(DatasetHead.dataset_id == bindparam("dataset_id"))


# The gate's facts, built by name: each field of ``DatasetFacts`` is the ``Dataset`` column of
# that name (a new fact is a new field there, nothing here).
_FACTS = tuple(f.name for f in fields(DatasetFacts))


def _with_head(where: Any) -> Any:
    return (
        select(*(getattr(Dataset, name) for name in _FACTS), DatasetHead.version_id)
        .outerjoin(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .where(where)
    )


_READ_BY_ID = _with_head(Dataset.id == bindparam("ref"))
_READ_BY_SLUG = _with_head(Dataset.slug == bindparam("ref"))


_FAST_BY_ID = fastread.FastSelect(_READ_BY_ID)
_FAST_BY_SLUG = fastread.FastSelect(_READ_BY_SLUG)
_UNREAD = object()


def dataset_for_read(*, session: Session, ref: str) -> tuple[DatasetFacts, uuid.UUID | None]:
    """What the gate decides on about the dataset (a plain row, not an ORM entity) and the
    id of its current version, in one statement: the rows API's hot path.

    While ``session`` has no transaction to share (no transaction of its own, and bound to an
    engine rather than to a connection whose transaction it joins), the statement runs
    straight on the driver (``datatorg.db.fastread``), else in the session."""
    key = catalog.dataset_key(ref)  # the one lookup's rules (NotFound without a query)
    if isinstance(key, uuid.UUID):
        stmt, fast = _READ_BY_ID, _FAST_BY_ID
    else:
        stmt, fast = _READ_BY_SLUG, _FAST_BY_SLUG
    row: Any = _UNREAD
    if not session.in_transaction() and isinstance(session.get_bind(), Engine):
        try:
            with fastread.reader(engine_of(session)) as reader:
                if reader is not None:
                    row = fast.first(reader, {"ref": key})
        except fastread.Unavailable:
            pass  # the session's pool pings and reconnects
    if row is _UNREAD:
        row = session.execute(stmt, {"ref": key}).first()
    if row is None:
        raise NotFound("No such dataset")
    *facts, version_id = row  # the statement selects _FACTS, then the head's version
    return DatasetFacts(**dict(zip(_FACTS, facts, strict=True))), version_id


@dataclass(frozen=True)
class HeadFiles:
    """A committed version's number, files and schema. Committed versions never change, so
    these are cached by version id; callers must treat ``schema`` as read-only."""

    version_id: uuid.UUID
    dataset_id: uuid.UUID
    number: int
    row_count: int
    paths: tuple[Path, ...]
    schema: dict[str, Any]
    live: bool = False  # a live dataset: ``paths`` also hold its live segments, no row index
    # every file has the hidden subject-number column (``lake/subject_no.py``; never live):
    # the largest number in them, else None
    subject_no_max: int | None = None

    @property
    def numbered(self) -> bool:
        return self.subject_no_max is not None


_VERSION_CACHE_SIZE = 512
_version_cache: OrderedDict[tuple[str, uuid.UUID], HeadFiles] = OrderedDict()
_version_lock = threading.Lock()


def _version_files(session: Session, settings: Settings, version_id: uuid.UUID) -> HeadFiles:
    key = (str(settings.lake_path), version_id)
    with _version_lock:
        hit = _version_cache.get(key)
        if hit is not None:
            _version_cache.move_to_end(key)
            return hit
    dataset_id, number, row_count, schema, live = session.execute(
        select(
            DatasetVersion.dataset_id,
            DatasetVersion.number,
            DatasetVersion.row_count,
            DatasetVersion.table_schema,
            DatasetVersion.live,
        ).where(DatasetVersion.id == version_id)
    ).one()
    keys = session.scalars(
        select(VersionFile.key)
        .where(VersionFile.version_id == version_id)
        .order_by(VersionFile.ordinal)
    ).all()
    store = storage_for(settings.lake_path)
    paths = tuple(store.local_path(k) for k in keys)
    found = HeadFiles(
        version_id=version_id,
        dataset_id=dataset_id,
        number=number,
        row_count=row_count,
        paths=paths,
        schema=schema,
        live=live,
        subject_no_max=None
        if live or subject_no.subject_column(schema) is None
        else subject_no.largest(paths),
    )
    with _version_lock:
        _version_cache[key] = found
        while len(_version_cache) > _VERSION_CACHE_SIZE:
            _version_cache.popitem(last=False)
    return found


def head_files(
    *,
    session: Session,
    settings: Settings,
    dataset_id: uuid.UUID,
    version_id: uuid.UUID | None = None,
) -> HeadFiles | None:
    """The current version with the local paths of its Parquet files (for the gate).

    The head pointer is read from the database on every call (one indexed lookup), unless
    the caller read it in the same transaction (``version_id``, from ``dataset_for_read``),
    so a new version is seen at once; the version's files and schema come from a cache keyed
    by the version id, since a committed version is immutable.
    """
    if version_id is None:
        version_id = session.scalar(_HEAD, {"dataset_id": dataset_id})
    if version_id is None:
        return None
    found = _version_files(session, settings, version_id)
    if found.live:
        found = _with_live_segments(session, settings, found)
    return found if found.paths else None


_LIVE = (
    select(DatasetHead.version_id, LiveSegment.key, LiveSegment.row_count)
    .outerjoin(
        LiveSegment,
        (LiveSegment.dataset_id == DatasetHead.dataset_id)
        & (LiveSegment.state == SegmentState.live),
    )
    .where(DatasetHead.dataset_id == bindparam("dataset_id"))
    .order_by(LiveSegment.seq)
)


def _with_live_segments(session: Session, settings: Settings, found: HeadFiles) -> HeadFiles:
    """A live dataset's current version and its live segments, read in one statement (one
    snapshot: compaction swaps both in one transaction), as one list of files."""
    rows = session.execute(_LIVE, {"dataset_id": found.dataset_id}).all()
    if not rows:
        return found
    if rows[0][0] != found.version_id:
        found = _version_files(session, settings, rows[0][0])
    segments = [(k, n) for _, k, n in rows if k is not None]
    if not segments:
        return found
    store = storage_for(settings.lake_path)
    return replace(
        found,
        paths=found.paths + tuple(store.local_path(k) for k, _ in segments),
        row_count=found.row_count + sum(n for _, n in segments),
    )


def row_index(*, settings: Settings, head: HeadFiles) -> tuple[Path, rowindex.Meta] | None:
    """The row index of ``head``'s version (path and what it holds), or None while there is
    none; a missing one is then built in the background (``datatorg.lake.rowindex``).
    Live datasets have none: their rows change with every append."""
    if head.live:
        return None
    return rowindex.lookup(
        storage_for(settings.lake_path),
        head.version_id,
        head.paths,
        head.schema,
        head.row_count,
        settings.row_index_max_rows,
        (settings.row_index_build_seconds, settings.row_index_memory_mb),
    )


def build_row_index(*, settings: Settings, head: HeadFiles) -> Path | None:
    """Build the row index of ``head``'s version now; None if the version cannot have one."""
    limit = settings.row_index_max_rows
    if head.live or limit <= 0 or head.row_count > limit:
        return None
    try:
        return rowindex.build(
            storage_for(settings.lake_path),
            head.version_id,
            head.paths,
            head.schema,
            seconds=settings.row_index_build_seconds,
            memory_mb=settings.row_index_memory_mb,
            force=True,  # asked for now: an earlier failure's pause does not apply
        )
    except rowindex.Unsupported:
        return None


def wait_row_index(*, settings: Settings, version_id: uuid.UUID, timeout: float = 60) -> bool:
    """Wait for a background build of a version's row index; whether it exists."""
    return rowindex.wait(storage_for(settings.lake_path), version_id, timeout)


def forget_versions(version_ids: list[uuid.UUID]) -> None:
    """Drop cached facts of these versions (an erasure changed their row counts)."""
    wanted = set(version_ids)
    with _version_lock:
        for key in [k for k in _version_cache if k[1] in wanted]:
            del _version_cache[key]


def drop_row_indexes(*, session: Session, settings: Settings, dataset_id: uuid.UUID) -> int:
    """Remove the row index of every version of a dataset now, so that no serving copy holds
    rows that must disappear (an erasure; DESIGN.md invariant 5); how many there were. The
    next read of the current version builds its index again from the version's files."""
    store = storage_for(settings.lake_path)
    ids = session.scalars(
        select(DatasetVersion.id).where(DatasetVersion.dataset_id == dataset_id)
    ).all()
    return sum(rowindex.drop(store, vid) for vid in ids)
