"""What a publisher sees before publishing an upload: sample rows and what changes.

The sample is the first rows of the staged file (the publisher's own, not yet published
upload; nobody else can see it); the changes compare the upload with the current version:
columns added, removed or retyped, and the row count before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from datatorg.lake import schema as ts
from datatorg.lake.models import DatasetVersion, PendingUpload, WriteMode
from datatorg.lake.storage import Storage

SAMPLE_ROWS = 10


@dataclass
class Review:
    columns: list[str]
    sample: list[list[Any]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    rows_before: int | None = None
    rows_after: int = 0
    first_version: bool = True


def review(storage: Storage, pending: PendingUpload, head: DatasetVersion | None) -> Review:
    """The sample rows of ``pending`` and how it changes the current version ``head``."""
    path = storage.local_path(pending.staged_key)
    columns = ts.field_names(pending.table_schema)
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT * FROM read_parquet(?) LIMIT ?", [str(path), SAMPLE_ROWS]
        ).fetchall()
    finally:
        con.close()
    append = pending.mode == WriteMode.append
    before = head.row_count if head else None
    return Review(
        columns=columns,
        sample=[list(r) for r in rows],
        changes=[]
        if append or head is None
        else ts.changes(head.table_schema, pending.table_schema),
        rows_before=before,
        rows_after=(before or 0) + pending.row_count if append else pending.row_count,
        first_version=head is None,
    )
