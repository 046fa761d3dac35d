"""The gate: every read of dataset contents is decided, bounded and audited here.

``decide`` (``access/decision.py``) answers "may this actor read these columns of this
dataset?" and records refusals. ``prepare`` parses and decides a read, ``fetch`` runs it with
a time budget and a row cap (from the row index or DuckDB), and ``read`` does both and writes
one ``data.read`` audit event; the rows API calls the parts itself (``access/router.py``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

from sqlalchemy.orm import Session

from datatorg.access import cursor, journal, policies, query, sql_index
from datatorg.access import sql as sqlgen
from datatorg.access.cursor import plain_rows
from datatorg.access.decision import Decision, decide
from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset, DatasetFacts, DatasetRef
from datatorg.errors import Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.lake import service as lake
from datatorg.settings import Settings


@dataclass
class Page:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    next: str | None = None
    count: int | None = None
    version: int | None = None
    schema: dict[str, Any] | None = None
    shape: str = "arrays"  # how the rows API writes the page (``access.shape``)
    nl: bool = False
    key: str | None = None


def lake_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("fields", [])}


def read_item(
    actor: Actor,
    dataset: DatasetRef,
    decision: Decision,
    channel: str,
    rows: int,
    version: int,
    aggregate: bool,
    nbytes: int = 0,
) -> journal.Item:
    """The ``data.read`` audit event of a read (and its usage, under an agreement)."""
    return journal.Item(
        event=audit.NewEvent(
            action="data.read",
            target_type="dataset",
            target_id=str(dataset.id),
            details={"channel": channel, "rows": rows, "version": version, "aggregate": aggregate},
            actor_id=actor.user_id,
        ),
        agreement_id=decision.agreement_id,
        rows=rows,
        nbytes=nbytes,
    )


def audit_read(
    session: Session,
    actor: Actor,
    dataset: DatasetRef,
    decision: Decision,
    channel: str,
    rows: int,
    version: int,
    aggregate: bool,
    nbytes: int = 0,
) -> None:
    """Record the read (and meter it under an agreement), committed before this returns.

    Concurrent reads in this process share one transaction (``journal``: group commit).
    """
    item = read_item(actor, dataset, decision, channel, rows, version, aggregate, nbytes)
    journal.append(session, item)


@dataclass
class Prepared:
    q: query.Query
    source: str
    prefix: str
    version: int
    schema: dict[str, Any]
    decision: Decision
    ctx: str
    head: lake.HeadFiles | None = None


def prepare(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    items: list[tuple[str, str]],
    channel: str,
    max_size: int | None = None,
    head_version: uuid.UUID | None = None,
) -> Prepared:
    """Parse, decide and locate a read; nothing is run yet.

    ``_purpose`` (optional) states the purpose of the read; the agreement must be for it.
    A monthly row quota caps the read at the rows left.
    """
    purpose = next((v for k, v in items if k == "_purpose"), None)
    items = [(k, v) for k, v in items if k != "_purpose"]
    if not policies.is_visible(actor, dataset):
        raise NotFound("No such dataset")
    head = lake.head_files(
        session=session, settings=settings, dataset_id=dataset.id, version_id=head_version
    )
    if head is None:
        raise NotFound("This dataset has no contents yet")
    visible = policies.visible_columns(actor, dataset, head.schema)
    sort_keys = [v for k, v in items if k in ("_sort", "_sort_desc")]
    ctx = hashlib.sha256(
        json.dumps(
            [str(dataset.id), sort_keys, [k for k, _ in items if k == "_sort_desc"]]
        ).encode()
    ).hexdigest()[:12]
    q = query.parse(
        items,
        head.schema,
        visible=visible,
        max_size=max_size or settings.query_row_cap,
        decode_cursor=cursor.decoder(
            settings, ctx, head.schema, sort_keys[0] if sort_keys else None
        ),
    )
    decision = decide(
        session=session,
        actor=actor,
        dataset=dataset,
        columns=q.columns_used(),
        aggregate=q.is_aggregate,
        channel=channel,
        purpose=purpose,
    )
    if decision.row_budget is not None:
        q.size = max(1, min(q.size, decision.row_budget))
    prefix = str(head.paths[0].parent) + "/" if head.paths else ""
    return Prepared(
        q=q,
        source=reader.source(head.paths),
        prefix=prefix,
        version=head.number,
        schema=head.schema,
        decision=decision,
        ctx=ctx,
        head=head,
    )


def read(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    items: list[tuple[str, str]],
    channel: str = "api",
    head_version: uuid.UUID | None = None,
) -> Page:
    """One page of rows (or of aggregate groups) through the gate.

    ``head_version`` is the current version's id when the caller read it together with the
    dataset (``dataset_for_read``), saving a lookup."""
    p = prepare(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=channel,
        head_version=head_version,
    )
    page = fetch(settings, p)
    journal.append(session, page_item(actor, dataset, p, channel, page))
    return page


# The most a read may run on the event loop (``fetch(fast=True)``) before it is left to a
# worker thread with the full time budget.
FAST_BUDGET_MS = 20


@overload
def fetch(settings: Settings, p: Prepared) -> Page: ...
@overload
def fetch(settings: Settings, p: Prepared, *, fast: Literal[True]) -> Page | None: ...
def fetch(settings: Settings, p: Prepared, *, fast: bool = False) -> Page | None:
    """Run a prepared read (``prepare``); the caller then records it (``page_item``).

    With ``fast`` the read runs only if the row index answers it within ``FAST_BUDGET_MS``
    (no aggregate, no count): short enough to run on the event loop. Otherwise it returns
    None and the caller runs ``fetch`` again, off the loop, with the full time budget.
    """
    q = p.q
    if fast and (q.is_aggregate or q.count):
        return None
    budget = FAST_BUDGET_MS if fast else settings.query_time_budget_ms
    try:
        if q.is_aggregate:
            sql, binds = sqlgen.build_aggregate(q, p.source)
            res = reader.query(sql, binds, cap=q.size, budget_ms=budget)
            columns, types, rows = res.columns, res.types, [list(r) for r in res.rows]
            nxt = None
        else:
            found = _rows_from_index(settings, p, budget)
            if found is None and fast:
                return None
            res = found or _rows_from_duckdb(p, budget)
            hidden = 3 if q.sort else 2
            columns, types = res.columns[:-hidden], res.types[:-hidden]
            rows = [list(r[:-hidden]) for r in res.rows]
            nxt = None
            if res.truncated and res.rows:
                last = res.rows[-1]
                value = last[-3] if q.sort else None
                nxt = cursor.encode(settings, p.ctx, value, Path(str(last[-2])).name, int(last[-1]))
        count = None
        if q.count:
            csql, cbinds = sqlgen.build_count(q, p.source)
            count = int(reader.query(csql, cbinds, cap=1, budget_ms=budget).rows[0][0])
    except reader.QueryTimeout as exc:
        if fast:
            return None
        raise Invalid(
            str(exc) + "; add filters or aggregate",
            errors=[{"parameter": "query", "message": "time budget exceeded"}],
        ) from None
    return Page(
        columns=columns,
        types=types,
        rows=plain_rows(types, rows),
        truncated=res.truncated,
        next=nxt,
        count=count,
        version=p.version,
        schema=p.schema,
        shape=q.shape,
        nl=q.nl,
        key=q.key,
    )


def page_item(
    actor: Actor, dataset: DatasetRef, p: Prepared, channel: str, page: Page
) -> journal.Item:
    """The audit record of a fetched page (with its size, under an agreement)."""
    metered = p.decision.agreement_id is not None
    nbytes = len(json.dumps(page.rows, default=str)) if metered else 0
    return read_item(
        actor, dataset, p.decision, channel, len(page.rows), p.version, p.q.is_aggregate, nbytes
    )


def dataset_for_read(*, session: Session, ref: str) -> tuple[DatasetFacts, uuid.UUID | None]:
    """The dataset and its current version id, in one statement (the rows API)."""
    return lake.dataset_for_read(session=session, ref=ref)


def _rows_from_duckdb(p: Prepared, budget: int) -> reader.Result:
    sql, binds = sqlgen.build_rows(p.q, p.source, p.prefix)
    return reader.query(sql, binds, cap=p.q.size, budget_ms=budget)


def _rows_from_index(settings: Settings, p: Prepared, budget: int) -> reader.Result | None:
    """A page of rows from the version's row index, in the shape DuckDB gives it; None when
    there is no index yet or the index does not serve this query (DuckDB answers then)."""
    if p.head is None:
        return None
    found = lake.row_index(settings=settings, head=p.head)
    if found is None:
        return None
    path, meta = found
    parts = sql_index.plan_rows(p.q, meta)
    if parts is None:
        return None
    try:
        res = reader.query_index(path, parts, cap=p.q.size, budget_ms=budget)
    except reader.QueryFailed:
        return None  # e.g. the index file went away: DuckDB still has the files
    hidden = ["__s", "__f", "__r"] if p.q.sort else ["__f", "__r"]
    return reader.Result(
        columns=[*p.q.columns, *hidden],
        types=[meta.types[c] for c in p.q.columns] + [""] * len(hidden),
        rows=sql_index.decode_rows(p.q, meta, res.rows),
        truncated=res.truncated,
    )


def get_dataset(*, session: Session, ref: str) -> Dataset:
    """The dataset, without eagerly loading its catalog relations (themes, keywords,
    distributions, fields): the gate needs none of them, and they load on access if a
    page does."""
    return lake.get_dataset(session=session, ref=ref, related=False)


# A data subject's own rows (privacy's "My data" and access export), re-exported here so
# other domains reach them through this public module.
from datatorg.access.subject_reads import OwnRows as OwnRows  # noqa: E402
from datatorg.access.subject_reads import own_rows as own_rows  # noqa: E402
from datatorg.access.subject_reads import own_rows_file as own_rows_file  # noqa: E402
