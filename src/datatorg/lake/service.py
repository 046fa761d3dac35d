"""The lake's public services: find datasets, stage and publish uploads, list versions.

The read path (DuckDB over a version's files) is ``datatorg.lake.reader``, reachable only
from the gate. Everything here is the write and metadata side.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset
from datatorg.catalog.vocab import TABLE_SCHEMA_TYPES
from datatorg.db import writes
from datatorg.errors import Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.lake import ingest, ingest_errors, ingest_process, missing, subject_no, writer
from datatorg.lake import schema as ts
from datatorg.lake.compaction import CompactReport
from datatorg.lake.compaction import compact as compact_live
from datatorg.lake.heads import (
    HeadFiles,
    build_row_index,
    dataset_for_read,
    drop_row_indexes,
    head_files,
    row_index,
    wait_row_index,
)
from datatorg.lake.live import append as live_append
from datatorg.lake.live import arrow_schema as live_arrow_schema
from datatorg.lake.live import existing_keys as live_existing_keys
from datatorg.lake.live import lock as live_lock
from datatorg.lake.live import make_live
from datatorg.lake.models import (
    DatasetHead,
    DatasetVersion,
    PendingUpload,
    UploadStatus,
    WriteMode,
)
from datatorg.lake.rewrite import (
    EraseReport,
    count_rows,
    distinct_values,
    erase_rows,
    map_column,
    map_dataset_column,
)
from datatorg.lake.schema import (
    ROLES,
    columns_with_role,
    field_names,
    fields_by_name,
    localized,
    localized_field,
    time_column,
)
from datatorg.lake.storage import Storage, storage_for
from datatorg.lake.subject_no import register as subject_numbering
from datatorg.lake.subjects import link_subjects as _link_subjects
from datatorg.lake.subjects import subject_keys_kept, subject_linker
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

__all__ = [  # live datasets (``lake/live.py``, ``lake/compaction.py``): make_live … compact_live
    "subject_linker",  # privacy's seam (``lake/subjects.py``)
    "ROLES",
    "EraseReport",
    "subject_numbering",
    "count_rows",
    "distinct_values",
    "erase_rows",
    "map_column",
    "map_dataset_column",
    "CompactReport",
    "Storage",
    "compact_live",
    "describe_in_catalog",
    "live_append",
    "live_arrow_schema",
    "live_existing_keys",
    "live_lock",
    "make_live",
    "HeadFiles",
    "build_row_index",
    "columns_with_role",
    "dataset_for_read",
    "drop_row_indexes",
    "field_names",
    "fields_by_name",
    "localized",
    "localized_field",
    "head_files",
    "row_index",
    "time_column",
    "wait_row_index",
]

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]|^\.|\.\.")


def storage(settings: Settings) -> Storage:
    """The lake's file store for ``settings``."""
    return storage_for(settings.lake_path)


def get_dataset(*, session: Session, ref: str, related: bool = True) -> Dataset:
    """A dataset by slug or UUID (the catalog's one lookup); ``NotFound`` otherwise.

    ``related=False`` leaves the catalog relations (themes, keywords, …) to load lazily.
    """
    return catalog.find_dataset(session=session, ref=ref, related=related)


def check_filename(filename: str) -> str:
    """The client's file name if harmless; path tricks and control characters are refused."""
    if not filename or len(filename) > 200 or _BAD_NAME.search(filename):
        message = _("The file name is not allowed (no folders, '..' or control characters).")
        raise Invalid(message, errors=[{"code": "file_name", "field": "file", "message": message}])
    return filename


def head(*, session: Session, dataset_id: uuid.UUID) -> DatasetVersion | None:
    """The current version, or None before the first upload."""
    return writer.head_of(session, dataset_id)


def _dataset_page(session: Session, actor: Actor, dataset: Dataset) -> dict[str, Any]:
    """The dataset page's contents part (``catalog.service.dataset_page_part``): the current
    version, None before the first upload."""
    return {"head": head(session=session, dataset_id=dataset.id)}


def _published_schema(session: Session, dataset_id: uuid.UUID) -> dict[str, Any] | None:
    version = head(session=session, dataset_id=dataset_id)
    return version.table_schema if version is not None else None


catalog.dataset_page_part("lake", _dataset_page)
catalog.published_schema_source(_published_schema)


def versions(*, session: Session, dataset_id: uuid.UUID) -> list[DatasetVersion]:
    """Every version, newest first."""
    return list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset_id)
            .order_by(DatasetVersion.number.desc())
        )
    )


def begin_write(session: Session, dataset_id: uuid.UUID) -> None:
    """End the read transaction and open a write one (``datatorg.db.writes``: on SQLite it
    waits its turn for the write lock); on PostgreSQL the first statement also locks the
    dataset's head row against a concurrent publish.
    """
    writes.begin(session)
    session.execute(
        update(DatasetHead)
        .where(DatasetHead.dataset_id == dataset_id)
        .values(version_id=DatasetHead.version_id)
        .execution_options(synchronize_session=False)
    )


def _invalid(exc: ingest.IngestError) -> Invalid:
    return Invalid(exc.message, errors=exc.errors)


def stage_upload(
    *,
    session: Session,
    settings: Settings,
    dataset: Dataset,
    source: Path,
    filename: str,
    mode: WriteMode,
    uploaded_by: uuid.UUID | None,
) -> PendingUpload:
    """Validate ``source`` (already in its staging folder) into a pending upload.

    On any error the staging folder is removed and ``Invalid`` lists the problems.
    """
    work = source.parent
    try:
        check_filename(filename)
        with source.open("rb") as fh:
            head_bytes = fh.read(8)
        fmt = ingest.detect_format(filename, head_bytes)
        staged = ingest_process.stage_file(source, fmt, work)  # not in this process's GIL
        begin_write(session, dataset.id)
        linked = _link_subjects(session, settings, dataset.id, staged.path, staged.schema)
        if linked is not None:
            staged.schema = linked
            staged.report = {**staged.report, "subjects_linked": True}
        current = writer.head_of(session, dataset.id)
        target = current.table_schema if (mode == WriteMode.append and current) else staged.schema
        errors = writer.check_rows(staged.path, staged.schema, target)
        if errors:
            raise ingest_errors.does_not_fit(errors)
    except ingest.IngestError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise _invalid(exc) from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    for extra in work.iterdir():
        if extra != staged.path:
            extra.unlink()
    pending = PendingUpload(
        id=uuid.UUID(work.name),
        dataset_id=dataset.id,
        mode=mode,
        filename=filename,
        source_format=fmt,
        staged_key=f"staging/{work.name}/{staged.path.name}",
        row_count=staged.row_count,
        size_bytes=staged.path.stat().st_size,
        table_schema=staged.schema,
        report=staged.report | {"base_version": str(current.id) if current else None},
        uploaded_by=uploaded_by,
    )
    session.add(pending)
    session.flush()
    return pending


def new_staging(settings: Settings) -> Path:
    """A fresh staging folder (its name becomes the pending upload's id)."""
    return storage(settings).staging_dir(str(uuid.uuid4()))


def get_pending(*, session: Session, dataset: Dataset, upload_id: str) -> PendingUpload:
    try:
        found = session.get(PendingUpload, uuid.UUID(upload_id))
    except ValueError:
        found = None
    if found is None or found.dataset_id != dataset.id:
        raise NotFound("No such upload")
    return found


def publish(
    *,
    session: Session,
    settings: Settings,
    pending: PendingUpload,
    changes: dict[str, Any] | None = None,
    created_by: uuid.UUID | None = None,
    locked: bool = False,
) -> DatasetVersion:
    """Publish a pending upload as the next version, with the publisher's schema changes.

    ``locked``: the caller staged it in this transaction and already holds the write lock.
    """
    if pending.status != UploadStatus.pending:
        raise Invalid(_("This upload was already published or discarded."))
    store = storage(settings)
    staged = store.local_path(pending.staged_key)
    if not locked:  # a pending upload from an earlier request: take the lock now
        begin_write(session, pending.dataset_id)
    if not pending.report.get("subjects_linked"):
        linked = _link_subjects(session, settings, pending.dataset_id, staged, pending.table_schema)
        if linked is not None:
            pending.table_schema = linked
            pending.report = {**pending.report, "subjects_linked": True}
    schema, errors = ts.adjust(pending.table_schema, changes or {})
    if pending.report.get("subjects_linked"):
        errors += subject_keys_kept(pending.table_schema, schema)
    if changes and "missingValues" in changes:
        schema, more = missing.accept(
            schema, pending.report.get("missing_values"), changes["missingValues"]
        )
        errors += more
    schema = missing.published(schema)
    if errors:
        raise Invalid(_("The schema changes are not valid; nothing was published."), errors=errors)
    base = pending.report.get("base_version")
    try:
        version = writer.write_version(
            session=session,
            storage=store,
            dataset_id=pending.dataset_id,
            staged=staged,
            staged_schema=pending.table_schema,
            schema=schema,
            mode=pending.mode,
            row_count=pending.row_count,
            created_by=created_by,
            source_format=pending.source_format,
            expected_head=uuid.UUID(base) if base else None,
            validate=bool(changes and (changes.get("fields") or changes.get("missingValues"))),
            numbers=subject_no.numbers_for(session, pending.dataset_id),
        )
    except ingest.IngestError as exc:
        raise _invalid(exc) from None
    pending.status = UploadStatus.published
    shutil.rmtree(staged.parent, ignore_errors=True)
    _describe_in_catalog(session, pending.dataset_id, schema)
    return version


# What a column role tells the catalog about the column's data category.
ROLE_CATEGORIES = {
    "subject_key": "pseudonym",
    "direct_identifier": "identifier",
    "quasi_identifier": "personal",
    "latitude": "location",
    "longitude": "location",
}


def describe_in_catalog(*, session: Session, dataset_id: uuid.UUID, schema: dict[str, Any]) -> None:
    """Make the catalog's column list that of ``schema`` (a new live dataset's, say)."""
    _describe_in_catalog(session, dataset_id, schema)


def _describe_in_catalog(session: Session, dataset_id: uuid.UUID, schema: dict[str, Any]) -> None:
    """Make the catalog's column list the one the published version really has.

    Types, units and descriptions come from the version's Table Schema; a column's data
    category comes from its role, else stays what the catalog said for that column.
    """
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        return
    # An upload request looks the dataset up before its file arrives (with no transaction
    # open): a publish that came in between may have changed the columns. Read them again
    # under the write lock this publish holds (this transaction's own changes flushed first).
    session.flush()
    session.refresh(dataset)
    known = {f.name: f.data_category for f in dataset.fields}
    fields = [
        {
            "name": f["name"],
            "type": f.get("type", "string") if f.get("type") in TABLE_SCHEMA_TYPES else "any",
            "title": f.get("title", ""),
            "description": f.get("description", ""),
            "unit": f.get("unit", ""),
            "data_category": ROLE_CATEGORIES.get(f.get("role", ""), known.get(f["name"], "none")),
        }
        for f in schema.get("fields", [])
    ]
    catalog.change(
        session=session, actor=None, dataset=dataset, values={"fields": fields}, action="schema"
    )


def discard(*, session: Session, settings: Settings, pending: PendingUpload) -> None:
    """Drop a pending upload and its staged file."""
    pending.status = UploadStatus.discarded
    shutil.rmtree(storage(settings).local_path(pending.staged_key).parent, ignore_errors=True)


def ingest_file(
    *,
    session: Session,
    settings: Settings,
    dataset: Dataset,
    source: Path,
    filename: str,
    mode: WriteMode,
    uploaded_by: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Stage and publish in one go (API uploads without review, demo loader, benchmarks)."""
    pending = stage_upload(
        session=session,
        settings=settings,
        dataset=dataset,
        source=source,
        filename=filename,
        mode=mode,
        uploaded_by=uploaded_by,
    )
    try:
        return publish(
            session=session,
            settings=settings,
            pending=pending,
            changes=changes,
            created_by=uploaded_by,
            locked=True,
        )
    except BaseException:
        shutil.rmtree(source.parent, ignore_errors=True)
        raise
