"""Orphan collection: delete lake files that no version lists, stale staging folders, and
the row indexes of versions that are no longer current (or no longer exist).

A writer killed between writing a file and committing its version leaves an orphan; so does
an upload that failed after its file was moved into place. Both are harmless (no head
points at them) and are removed here. Files younger than ``grace_seconds`` are kept, so a
write in progress is never collected under its feet.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.lake import rowindex
from datatorg.lake.models import (
    DatasetHead,
    LiveSegment,
    PendingUpload,
    UploadStatus,
    VersionFile,
)
from datatorg.lake.storage import Storage


@dataclass(frozen=True)
class GcReport:
    files_removed: int
    bytes_freed: int
    staging_removed: int
    uploads_expired: int = 0
    indexes_removed: int = 0


def expire_pending(*, session: Session, max_age: timedelta) -> int:
    """Discard validated uploads that waited for the publisher longer than ``max_age``;
    their staging folders are then collected like any other. Committed here."""
    stale = list(
        session.scalars(
            select(PendingUpload).where(
                PendingUpload.status == UploadStatus.pending,
                PendingUpload.created_at < utcnow() - max_age,
            )
        )
    )
    for upload in stale:
        upload.status = UploadStatus.discarded
        audit.record(
            session=session,
            actor=None,
            action="lake.upload.expired",
            target_type="dataset",
            target_id=str(upload.dataset_id),
            details={"upload": str(upload.id), "rows": upload.row_count},
        )
    session.commit()
    return len(stale)


def collect(
    *,
    session: Session,
    storage: Storage,
    grace_seconds: int = 3600,
    pending_max_age: timedelta | None = None,
) -> GcReport:
    """Remove orphan files and staging folders older than ``grace_seconds``; first discard
    uploads left pending longer than ``pending_max_age`` (if given)."""
    expired = (
        0 if pending_max_age is None else expire_pending(session=session, max_age=pending_max_age)
    )
    now = time.time()
    known = set(session.scalars(select(VersionFile.key).distinct()))
    known |= set(session.scalars(select(LiveSegment.key)))  # live data (``lake/live.py``)
    removed = freed = 0
    for key in list(storage.keys("datasets")):
        path = storage.local_path(key)
        if key in known or now - path.stat().st_mtime < grace_seconds:
            continue
        freed += path.stat().st_size
        storage.delete(key)
        removed += 1
    pending = {
        str(i)
        for i in session.scalars(
            select(PendingUpload.id).where(PendingUpload.status == UploadStatus.pending)
        )
    }
    staging = storage.staging_dir("gc-probe").parent
    shutil.rmtree(staging / "gc-probe", ignore_errors=True)
    staged_removed = 0
    for folder in staging.iterdir():
        try:
            uuid.UUID(folder.name)
        except ValueError:
            continue
        if folder.name in pending or now - folder.stat().st_mtime < grace_seconds:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        staged_removed += 1
    # row indexes serve the current version only; any other version's index is dropped
    live = {str(v) for v in session.scalars(select(DatasetHead.version_id))}
    indexes = rowindex.collect(storage, live, grace_seconds)
    return GcReport(
        files_removed=removed,
        bytes_freed=freed,
        staging_removed=staged_removed,
        uploads_expired=expired,
        indexes_removed=indexes,
    )
