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

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.lake import rowindex
from datatorg.lake.models import DatasetHead, PendingUpload, UploadStatus, VersionFile
from datatorg.lake.storage import Storage


@dataclass(frozen=True)
class GcReport:
    files_removed: int
    bytes_freed: int
    staging_removed: int
    indexes_removed: int = 0


def collect(*, session: Session, storage: Storage, grace_seconds: int = 3600) -> GcReport:
    """Remove orphan files and staging folders older than ``grace_seconds``."""
    now = time.time()
    known = set(session.scalars(select(VersionFile.key).distinct()))
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
        indexes_removed=indexes,
    )
