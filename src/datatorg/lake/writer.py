"""The write path: validate a staged file against its schema, write Parquet aside, commit.

A version becomes current only when ``dataset_heads`` points at it; that row is changed by
compare-and-swap inside the caller's transaction, so a crash at any moment leaves either the
old version or the new one. Files written for a version that never committed are orphans,
removed by ``datatorg lake gc``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Conflict
from datatorg.lake import duck, subject_no
from datatorg.lake import ingest_errors as err
from datatorg.lake import missing as marks
from datatorg.lake import schema as ts
from datatorg.lake.ingest_common import MAX_ERRORS, PARQUET_OPTIONS, lit, quote_ident
from datatorg.lake.models import (
    DatasetHead,
    DatasetVersion,
    LiveSegment,
    SegmentState,
    VersionFile,
    WriteMode,
)
from datatorg.lake.storage import Storage


def _cast(field: dict[str, Any]) -> str:
    return ts.storage_type(field)


def check_rows(
    staged: Path, source: dict[str, Any], target: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``staged`` (with schema ``source``) that do not fit ``target``.

    Cell text is stored as published: text that starts like a spreadsheet formula is made
    harmless where the danger is, in CSV and XLSX downloads (``access.export.neutralise``).
    """
    src = ts.fields_by_name(source)
    errors: list[dict[str, Any]] = []
    tgt_names = ts.field_names(target)
    missing = [n for n in tgt_names if n not in src]
    extra = [n for n in src if n not in tgt_names]
    errors += [err.missing_column(n) for n in missing]
    errors += [err.extra_column(n) for n in extra]
    if errors:
        return errors
    con = duck.connect()
    try:
        base = f"read_parquet({lit(str(staged))}, file_row_number=true)"
        for field in target["fields"]:
            name = field["name"]
            col = quote_ident(name)
            if _cast(field) != _cast(src[name]):
                value = marks.stored_value(name, src[name], field, target)
                bad = con.execute(
                    f"SELECT file_row_number, CAST({col} AS VARCHAR) FROM {base} "
                    f"WHERE ({value}) IS NOT NULL AND TRY_CAST({value} AS {_cast(field)}) IS NULL "
                    f"ORDER BY file_row_number LIMIT {MAX_ERRORS}"
                ).fetchall()
                errors += [err.wrong_type(int(r) + 1, name, str(v), field["type"]) for r, v in bad]
            if len(errors) >= MAX_ERRORS:
                break
    finally:
        con.close()
    return errors[:MAX_ERRORS]


def _finalise(staged: Path, source: dict[str, Any], target: dict[str, Any], out: Path) -> Path:
    """``staged`` as it must be stored under ``target`` (cast and ordered), or itself."""
    src = ts.fields_by_name(source)
    same = ts.field_names(source) == ts.field_names(target) and all(
        _cast(f) == _cast(src[f["name"]]) for f in target["fields"]
    )
    if same:
        return staged
    select_list = ", ".join(
        f"CAST({marks.stored_value(f['name'], src[f['name']], f, target)} AS {_cast(f)}) "
        f"AS {quote_ident(f['name'])}"
        for f in target["fields"]
    )
    con = duck.connect()
    try:
        con.execute(
            f"COPY (SELECT {select_list} FROM read_parquet({lit(str(staged))})) "
            f"TO {lit(str(out))} ({PARQUET_OPTIONS})"
        )
    except duckdb.Error:  # check_rows found nothing, yet a value did not convert
        raise err.does_not_fit([]) from None
    finally:
        con.close()
    return out


def _numbered(
    storage: Storage,
    final: Path,
    schema: dict[str, Any],
    numbers: subject_no.Numbers,
    kept: list[VersionFile],
) -> Path:
    """``final`` with the subject-number column, unless the schema has no subject key or
    the version keeps files without the column (an append to an older version: its files
    must agree; privacy's ``link_dataset`` numbers them all)."""
    column = subject_no.subject_column(schema)
    if column is None:
        return final
    if kept and not subject_no.numbered([storage.local_path(f.key) for f in kept]):
        return final
    return subject_no.write(final, column, numbers, final.with_name("numbered.parquet")) or final


def check_unique(paths: list[Path], column: str) -> dict[str, Any] | None:
    """A problem when ``column`` repeats or lacks a value over the rows of ``paths``."""
    col = quote_ident(column)
    files = "[" + ", ".join(lit(str(p)) for p in paths) + "]"
    con = duckdb.connect()
    try:
        repeated, empty = con.execute(
            f"SELECT count({col}) - count(DISTINCT {col}), count(*) - count({col}) "
            f"FROM read_parquet({files})"
        ).fetchall()[0]
    finally:
        con.close()
    if repeated or empty:
        return err.key_not_unique(column, int(repeated), int(empty))
    return None


def head_of(session: Session, dataset_id: uuid.UUID) -> DatasetVersion | None:
    """The current version of a dataset, or None before its first upload."""
    return session.scalar(
        select(DatasetVersion)
        .join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
        .where(DatasetHead.dataset_id == dataset_id)
    )


def files_of(session: Session, version_id: uuid.UUID) -> list[VersionFile]:
    return list(
        session.scalars(
            select(VersionFile)
            .where(VersionFile.version_id == version_id)
            .order_by(VersionFile.ordinal)
        )
    )


def write_version(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    staged: Path,
    staged_schema: dict[str, Any],
    schema: dict[str, Any],
    mode: WriteMode,
    row_count: int,
    created_by: uuid.UUID | None,
    source_format: str,
    expected_head: uuid.UUID | None | bool = False,
    validate: bool = True,
    numbers: subject_no.Numbers | None = None,
) -> DatasetVersion:
    """Write ``staged`` as the dataset's next version and point the head at it.

    ``schema`` is the target schema (for an append, the head's). The head row is swapped only
    if it still points where it did when we read it; otherwise ``Conflict``. ``numbers``
    (privacy's, for a dataset that declares subjects): the file gets the hidden subject-number
    column (``lake/subject_no.py``).
    """
    head = head_of(session, dataset_id)
    if expected_head is not False and (head.id if head else None) != expected_head:
        raise Conflict("The dataset changed while this upload waited; upload again.")
    if mode == WriteMode.append:
        if head is None:
            mode = WriteMode.replace
        else:
            schema = head.table_schema
    errors = check_rows(staged, staged_schema, schema) if validate else []
    if errors:
        raise err.does_not_fit(errors)
    final = _finalise(staged, staged_schema, schema, staged.with_name("final.parquet"))
    kept = files_of(session, head.id) if head and mode == WriteMode.append else []
    if numbers is not None and not (head and head.live):
        final = _numbered(storage, final, schema, numbers, kept)
    key = schema.get("primaryKey")
    if isinstance(key, str):
        paths = [storage.local_path(f.key) for f in kept] + [final]
        if problem := check_unique(paths, key):
            raise err.does_not_fit([problem])
    number = (head.number + 1) if head else 1
    key = f"datasets/{dataset_id}/files/{number:08d}-{uuid.uuid4().hex[:12]}.parquet"
    size = storage.put_file(key, final)
    version = DatasetVersion(
        id=uuid.uuid4(),
        dataset_id=dataset_id,
        number=number,
        mode=mode,
        row_count=row_count + (head.row_count if head and mode == WriteMode.append else 0),
        added_rows=row_count,
        table_schema=schema,
        schema_changes=ts.changes(head.table_schema if head else None, schema),
        parent_id=head.id if head else None,
        created_by=created_by,
        source_format=source_format,
        live=bool(head and head.live),  # a live dataset stays live (``lake/live.py``)
    )
    session.add(version)
    session.flush()
    for i, old in enumerate(kept):
        session.add(
            VersionFile(
                version_id=version.id,
                key=old.key,
                ordinal=i,
                row_count=old.row_count,
                size_bytes=old.size_bytes,
            )
        )
    session.add(
        VersionFile(
            version_id=version.id, key=key, ordinal=len(kept), row_count=row_count, size_bytes=size
        )
    )
    _swap_head(session, dataset_id, head.id if head else None, version.id)
    if version.live and mode == WriteMode.replace:  # the live rows are replaced too
        session.execute(
            update(LiveSegment)
            .where(LiveSegment.dataset_id == dataset_id, LiveSegment.state == SegmentState.live)
            .values(state=SegmentState.retired, retired_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return version


def _swap_head(
    session: Session, dataset_id: uuid.UUID, old: uuid.UUID | None, new: uuid.UUID
) -> None:
    if old is None:
        try:
            with session.begin_nested():
                session.add(DatasetHead(dataset_id=dataset_id, version_id=new))
        except IntegrityError:
            raise Conflict("Another upload to this dataset finished first; try again.") from None
        return
    result = session.execute(
        update(DatasetHead)
        .where(DatasetHead.dataset_id == dataset_id, DatasetHead.version_id == old)
        .values(version_id=new)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Another upload to this dataset finished first; try again.")
    session.flush()
