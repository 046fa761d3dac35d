"""Rewrites the privacy domain asks of the lake: subject keys in place of identities, and
erasure of a subject's rows from every version.

* ``map_column`` rewrites a *staged* file (not yet published), replacing each value of one
  column by what a mapping function gives for it (``datatorg.privacy`` turns clear
  identities into pseudonymous subject keys before anything reaches ``datasets/``).
* ``erase_rows`` removes the rows whose column value is one of ``values`` from every file
  of every version of a dataset (files are rewritten in place, atomically, one by one),
  corrects the row counts, commits a new head version over the rewritten files (so no
  cache or row index keyed by the old head serves the erased rows) and deletes the row
  indexes of every version of the dataset (the new head's is built again on its first read).

Both run DuckDB over the lake's own files on the write side; the read path stays the gate's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datatorg.lake import heads, rowindex, subject_no
from datatorg.lake.ingest_common import PARQUET_OPTIONS, lit, quote_ident
from datatorg.lake.models import DatasetHead, DatasetVersion, VersionFile, WriteMode
from datatorg.lake.storage import Storage
from datatorg.lake.writer import _swap_head, head_of


def distinct_values(path: Path, column: str) -> list[str]:
    """The distinct non-null values of ``column`` in a Parquet file, as text."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT CAST({quote_ident(column)} AS VARCHAR) FROM "
            f"read_parquet({lit(str(path))}) WHERE {quote_ident(column)} IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def map_column(
    path: Path,
    column: str,
    mapping: Callable[[list[str]], dict[str, str]],
    numbers: subject_no.Numbers | None = None,
) -> tuple[Path, int]:
    """Replace ``column`` of the Parquet file ``path`` by ``mapping(distinct values)``.

    The column becomes text; null stays null. A hidden subject-number column is dropped
    (its keys changed), or, with ``numbers``, computed again from the new keys. The file is
    replaced atomically; returns its path and how many distinct values were mapped.
    """
    values = distinct_values(path, column)
    pairs = mapping(values)
    missing = [v for v in values if v not in pairs]
    if missing:
        raise ValueError(f"{len(missing)} values of {column!r} have no mapping")
    tmp = path.with_name(path.name + ".mapped")
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE m (v VARCHAR PRIMARY KEY, k VARCHAR)")
        if pairs:
            con.executemany("INSERT INTO m VALUES (?, ?)", list(pairs.items()))
        cols = [
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})"
            ).fetchall()
        ]
        select_list = ", ".join(
            "m.k AS " + quote_ident(c) if c == column else "t." + quote_ident(c)
            for c in cols
            if c != subject_no.COLUMN
        )
        con.execute(
            f"COPY (SELECT {select_list} FROM read_parquet({lit(str(path))}, "
            f"file_row_number=true) t LEFT JOIN m ON CAST(t.{quote_ident(column)} AS VARCHAR) "
            f"= m.v ORDER BY t.file_row_number) TO {lit(str(tmp))} ({PARQUET_OPTIONS})"
        )
    finally:
        con.close()
    if numbers is not None:
        done = subject_no.write(tmp, column, numbers, path.with_name(path.name + ".numbered"))
        if done is not None:
            tmp.unlink()
            tmp = done
    os.replace(tmp, path)
    return path, len(pairs)


@dataclass
class EraseReport:
    """What one erasure did to one dataset."""

    rows_removed: int = 0
    files_rewritten: int = 0
    versions_corrected: int = 0
    indexes_removed: int = 0
    new_version: int | None = None
    files: list[str] = field(default_factory=list)


def count_rows(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    column: str,
    values: Iterable[str],
) -> int:
    """Rows whose ``column`` is one of ``values`` in the current version (erasure checks
    what a legal hold keeps; not a read for anyone)."""
    head = head_of(session, dataset_id)
    wanted = sorted(set(values))
    if head is None or not wanted:
        return 0
    keys = session.scalars(select(VersionFile.key).where(VersionFile.version_id == head.id))
    paths = [storage.local_path(k) for k in keys]
    paths = [p for p in paths if p.exists()]
    if not paths:
        return 0
    con = duckdb.connect()
    try:
        src = "read_parquet([" + ", ".join(lit(str(p)) for p in paths) + "])"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        if column not in cols:
            return 0
        marks = ", ".join("?" for _ in wanted)
        found = con.execute(
            f"SELECT count(*) FROM {src} WHERE CAST({quote_ident(column)} AS VARCHAR) IN ({marks})",
            wanted,
        ).fetchone()
    finally:
        con.close()
    return int(found[0]) if found else 0


def erase_rows(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    column: str,
    values: Iterable[str],
) -> EraseReport:
    """Remove every row whose ``column`` is one of ``values`` from every version.

    Idempotent: a second call finds nothing and changes nothing. The caller commits.
    """
    wanted = sorted(set(values))
    report = EraseReport()
    if not wanted:
        return report
    versions = list(
        session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id))
    )
    if not versions:
        return report
    version_ids = [v.id for v in versions]
    files = list(
        session.scalars(select(VersionFile).where(VersionFile.version_id.in_(version_ids)))
    )
    removed_by_key: dict[str, int] = {}
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE gone (v VARCHAR PRIMARY KEY)")
        con.executemany("INSERT INTO gone VALUES (?)", [(v,) for v in wanted])
        col = quote_ident(column)
        paths = {
            str(storage.local_path(k)): k
            for k in sorted({f.key for f in files})
            if storage.local_path(k).exists()
        }
        if not paths:
            return report
        every = "[" + ", ".join(lit(p) for p in paths) + "]"
        names = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({every}, union_by_name=true)"
        ).fetchall()
        if column not in {r[0] for r in names}:
            return report
        # one parallel scan of the subject column of every file finds the affected ones
        hits_by_file = con.execute(
            f"SELECT filename, count(*) FROM read_parquet({every}, filename=true, "
            f"union_by_name=true) WHERE {col} IN (SELECT v FROM gone) GROUP BY filename"
        ).fetchall()
        for filename, hits in sorted(hits_by_file):
            key = paths[str(filename)]
            path = storage.local_path(key)
            src = f"read_parquet({lit(str(path))})"
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
            tmp = path.with_name(path.name + ".erasing")
            keep = ", ".join(quote_ident(c) for c in cols)
            # DuckDB keeps the file's row order (insertion order is preserved by default)
            con.execute(
                f"COPY (SELECT {keep} FROM {src} "
                f"WHERE {col} IS NULL OR {col} NOT IN (SELECT v FROM gone)) "
                f"TO {lit(str(tmp))} ({PARQUET_OPTIONS})"
            )
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            removed_by_key[key] = int(hits)
            report.files_rewritten += 1
            report.rows_removed += int(hits)
            report.files.append(key)
    finally:
        con.close()
    if not removed_by_key:
        return report
    for f in files:
        if f.key in removed_by_key:
            f.row_count -= removed_by_key[f.key]
            f.size_bytes = storage.size(f.key)
    for v in versions:
        own = [f for f in files if f.version_id == v.id]
        total = sum(f.row_count for f in own)
        if total != v.row_count:
            v.added_rows = max(0, v.added_rows - (v.row_count - total))
            v.row_count = total
            report.versions_corrected += 1
    session.flush()
    report.new_version = _new_head(session, dataset_id)
    heads.forget_versions(version_ids)
    report.indexes_removed = _drop_indexes(storage, version_ids)
    return report


def map_dataset_column(
    *,
    session: Session,
    storage: Storage,
    dataset_id: uuid.UUID,
    column: str,
    mapping: Callable[[list[str]], dict[str, str]],
    role: str,
    numbers: subject_no.Numbers | None = None,
) -> int:
    """``map_column`` on every file of every version of a dataset, in place, and the column
    typed as text with ``role`` in every version's schema; with ``numbers``, every file
    gets the hidden subject-number column too (``lake/subject_no.py``). A new head version;
    the row indexes dropped. Returns how many files changed (0: nothing to do)."""
    versions = list(
        session.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id))
    )
    version_ids = [v.id for v in versions]
    keys = sorted(
        set(session.scalars(select(VersionFile.key).where(VersionFile.version_id.in_(version_ids))))
    )
    changed = 0
    for key in keys:
        path = storage.local_path(key)
        if not path.exists():
            continue
        has = _has_column(path, column)
        values = distinct_values(path, column) if has else []
        pairs = mapping(values)
        unnumbered = numbers is not None and has and not subject_no.numbered([path])
        if all(pairs.get(v) == v for v in values) and not unnumbered:
            continue
        map_column(path, column, _fixed(pairs), numbers)
        changed += 1
    for v in versions:
        fields = []
        for f in v.table_schema.get("fields", []):
            if f["name"] == column:
                f = {**f, "type": "string", "x-storage-type": "VARCHAR", "role": role}
            fields.append(f)
        v.table_schema = {**v.table_schema, "fields": fields}
    session.flush()
    if changed:
        for f in session.scalars(
            select(VersionFile).where(VersionFile.version_id.in_(version_ids))
        ):
            f.size_bytes = storage.size(f.key)
        _new_head(session, dataset_id)
        heads.forget_versions(version_ids)
        _drop_indexes(storage, version_ids)
    return changed


def _fixed(pairs: dict[str, str]) -> Callable[[list[str]], dict[str, str]]:
    def mapping(_values: list[str]) -> dict[str, str]:
        return pairs

    return mapping


def _has_column(path: Path, column: str) -> bool:
    con = duckdb.connect()
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})")
        cols = [r[0] for r in described.fetchall()]
    finally:
        con.close()
    return column in cols


def _new_head(session: Session, dataset_id: uuid.UUID) -> int | None:
    """A new head version over the (rewritten) files of the current one."""
    head = head_of(session, dataset_id)
    if head is None:
        return None
    files = list(
        session.scalars(
            select(VersionFile)
            .where(VersionFile.version_id == head.id)
            .order_by(VersionFile.ordinal)
        )
    )
    version = DatasetVersion(
        id=uuid.uuid4(),
        dataset_id=dataset_id,
        number=head.number + 1,
        mode=WriteMode.replace,
        row_count=head.row_count,
        added_rows=0,
        table_schema=head.table_schema,
        schema_changes=[],
        parent_id=head.id,
        created_by=None,
        source_format="erasure",
    )
    session.add(version)
    session.flush()
    for f in files:
        session.add(
            VersionFile(
                version_id=version.id,
                key=f.key,
                ordinal=f.ordinal,
                row_count=f.row_count,
                size_bytes=f.size_bytes,
            )
        )
    session.execute(
        update(DatasetHead)
        .where(DatasetHead.dataset_id == dataset_id)
        .values(version_id=DatasetHead.version_id)
        .execution_options(synchronize_session=False)
    )
    _swap_head(session, dataset_id, head.id, version.id)
    return version.number


def _drop_indexes(storage: Storage, version_ids: list[uuid.UUID]) -> int:
    removed = 0
    for vid in version_ids:
        rowindex.wait(storage, vid, timeout=120)  # a build in progress finishes first
        if rowindex.drop(storage, vid):
            removed += 1
    return removed
