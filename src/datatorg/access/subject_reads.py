"""The gate's read for a data subject: their own rows, for "My data" and the access export.

A subject reads a dataset's current version with a row policy whose subject filter keeps
exactly their own keys, sees every column except the identifying ones (direct identifiers,
subject keys), and the read is audited like any other (``data.read``, channel ``subject``,
the row count, never a key). Privacy decides whose keys they are (the signed-in citizen's
own subject); this module only reads what it is told and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import journal, query
from datatorg.access.cursor import plain_rows
from datatorg.audit import service as audit
from datatorg.catalog.models import DatasetRef
from datatorg.errors import Invalid
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.lake import service as lake
from datatorg.settings import Settings

IDENTIFYING = ("direct_identifier", "subject_key")


@dataclass
class OwnRows:
    """A subject's rows of one dataset: how many, and the first ``limit`` of them."""

    version: int
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    count: int


def _plan(
    session: Session,
    settings: Settings,
    dataset: DatasetRef,
    subject_column: str,
    keys: frozenset[str],
) -> tuple[lake.HeadFiles, list[str], str, list[Any]] | None:
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset.id)
    if head is None or not keys:
        return None
    fields = head.schema.get("fields", [])
    if subject_column not in {f["name"] for f in fields}:
        return None
    columns = [f["name"] for f in fields if f.get("role") not in IDENTIFYING]
    marks = ", ".join("?" for _ in keys)
    where = f"CAST({query.qi(subject_column)} AS VARCHAR) IN ({marks})"
    return head, columns, where, sorted(keys)


def _audit(session: Session, actor: Actor, dataset: DatasetRef, rows: int, version: int) -> None:
    journal.append(
        session,
        journal.Item(
            event=audit.NewEvent(
                action="data.read",
                target_type="dataset",
                target_id=str(dataset.id),
                details={"channel": "subject", "rows": rows, "version": version},
                actor_id=actor.user_id,
            )
        ),
    )


def own_rows(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_column: str,
    subject_keys: frozenset[str],
    limit: int = 5,
) -> OwnRows | None:
    """The subject's row count and first ``limit`` rows (None: no version or no column)."""
    plan = _plan(session, settings, dataset, subject_column, subject_keys)
    if plan is None:
        return None
    head, columns, where, binds = plan
    src = reader.source(head.paths)
    select_list = ", ".join(query.qi(c) for c in columns) or "NULL AS _none"
    budget = settings.query_time_budget_ms
    try:
        count_res = reader.query(
            f"SELECT count(*) FROM {src} WHERE {where}", binds, cap=1, budget_ms=budget
        )
        res = reader.query(
            f"SELECT {select_list} FROM {src} WHERE {where} "
            f"ORDER BY filename, file_row_number LIMIT {int(limit) + 1}",
            binds,
            cap=limit,
            budget_ms=budget,
        )
    except reader.QueryTimeout as exc:
        raise Invalid(str(exc)) from None
    count = int(count_res.rows[0][0])
    rows = plain_rows(res.types, [list(r) for r in res.rows])
    _audit(session, actor, dataset, len(rows), head.number)
    return OwnRows(head.number, res.columns, res.types, rows, count)


def own_rows_file(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_column: str,
    subject_keys: frozenset[str],
    fmt: str,
    target: Path,
) -> int:
    """Write all the subject's rows to ``target`` (``csv`` or ``json``); rows written.

    CSV text cells that start like a spreadsheet formula get a leading apostrophe."""
    plan = _plan(session, settings, dataset, subject_column, subject_keys)
    if plan is None:
        return 0
    head, columns, where, binds = plan
    fields = {f["name"]: f for f in head.schema.get("fields", [])}
    cols = []
    for c in columns:
        q = query.qi(c)
        if fmt == "csv" and fields[c].get("type") == "string":
            cols.append(
                f"CASE WHEN left({q}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
                f"THEN chr(39) || {q} ELSE {q} END AS {q}"
            )
        else:
            cols.append(q)
    sql = (
        f"SELECT {', '.join(cols) or 'NULL AS _none'} FROM {reader.source(head.paths)} "
        f"WHERE {where} ORDER BY filename, file_row_number"
    )
    try:
        rows = reader.copy_to(sql, binds, target, fmt, budget_ms=settings.query_time_budget_ms * 6)
    except reader.QueryTimeout as exc:
        raise Invalid(str(exc)) from None
    _audit(session, actor, dataset, rows, head.number)
    return rows
