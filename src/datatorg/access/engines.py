"""The engine step of the read pipeline: one query of a read, run under its row policy.

``fetch`` takes a decided ``pipeline.Read`` and a parsed query and returns a ``Page``: from
the version's row index when ``sql_index.plan_rows`` says it applies the query *and* the
policy exactly, else from DuckDB over the version's Parquet files (``access/sql.py``). Both
give rows in the same shape (columns, then the hidden ``__k`` subject key under a ledger
policy, ``__s`` sort value when sorted, ``__f``/``__r`` row identity), so a cursor from one
engine continues in the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from datatorg.access import cursor, query, sql_index
from datatorg.access import sql as sqlgen
from datatorg.access.cursor import plain_rows
from datatorg.errors import Invalid
from datatorg.lake import reader
from datatorg.lake import service as lake

if TYPE_CHECKING:
    from datatorg.access.pipeline import Read

# The most a read may run on the event loop (``fetch(fast=True)``) before it is left to a
# worker thread with the full time budget.
FAST_BUDGET_MS = 20


@dataclass
class Page:
    """One page of a read: rows (or aggregate groups) as the policy shows them, the cursor
    of the next page, and, under a ledger policy, the subject keys of the rows returned."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    next: str | None = None
    count: int | None = None
    version: int | None = None
    schema: dict[str, Any] | None = None
    subject_keys: frozenset[str] | None = None  # the rows' subject keys (a ledger policy)
    shape: str = "arrays"  # how the rows API writes the page (``access.shape``)
    nl: bool = False
    key: str | None = None
    # aggregates of personal data: how many groups were left out for having fewer than
    # ``min_group`` subjects (None: no group is too small for this reader)
    suppressed: int | None = None
    min_group: int | None = None


def page_bytes(r: Read, page: Page) -> int:
    """The size billed for a page (only under an agreement: it costs a serialisation)."""
    return len(json.dumps(page.rows, default=str)) if r.decision.agreement_id else 0


@overload
def fetch(r: Read, q: query.Query) -> Page: ...
@overload
def fetch(r: Read, q: query.Query, *, fast: Literal[True]) -> Page | None: ...
def fetch(r: Read, q: query.Query, *, fast: bool = False) -> Page | None:
    """Run one query of the read under its policy: a page of rows or of aggregate groups.

    With ``fast`` the query runs only if the row index answers it within ``FAST_BUDGET_MS``
    (no aggregate, no count): short enough to run on the event loop. Otherwise it returns
    None and the caller runs ``fetch`` again, off the loop, with the full time budget.
    """
    settings, pol = r.settings, r.policy
    if fast and (q.is_aggregate or q.count):
        return None
    budget = FAST_BUDGET_MS if fast else settings.query_time_budget_ms
    keys: frozenset[str] | None = None
    suppressed: int | None = None
    try:
        if q.is_aggregate:
            sql, binds = sqlgen.build_aggregate(q, r.source, pol)
            res = reader.query(sql, binds, cap=q.size, budget_ms=budget)
            columns, types, rows = res.columns, res.types, [list(x) for x in res.rows]
            if q.min_group is not None:  # hidden: group size, groups suppressed
                suppressed = int(rows[0][-1]) if rows else 0
                rows = [x[:-2] for x in rows if x[-2] is not None]
                columns, types = columns[:-2], types[:-2]
            nxt = None
        else:
            found = _rows_from_index(r, q, budget)
            if found is None and fast:
                return None
            res = found or _rows_from_duckdb(r, q, budget)
            ledger = found is None and pol.ledger and pol.subject_column is not None
            hidden = (3 if q.sort else 2) + int(ledger)
            columns, types = res.columns[:-hidden], res.types[:-hidden]
            rows = [list(x[:-hidden]) for x in res.rows]
            if ledger:
                keys = frozenset(str(x[-hidden]) for x in res.rows if x[-hidden] is not None)
            nxt = None
            if res.truncated and res.rows:
                last = res.rows[-1]
                value = last[-3] if q.sort else None
                nxt = cursor.encode(settings, q.ctx, value, Path(str(last[-2])).name, int(last[-1]))
        count = None
        if q.count and q.min_group is None:  # a count of personal rows: a group too
            csql, cbinds = sqlgen.build_count(q, r.source, pol)
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
        version=r.version,
        schema=r.schema,
        subject_keys=keys,
        shape=q.shape,
        nl=q.nl,
        key=q.key,
        suppressed=suppressed,
        min_group=q.min_group,
    )


def _rows_from_duckdb(r: Read, q: query.Query, budget: int) -> reader.Result:
    sql, binds = sqlgen.build_rows(q, r.source, r.prefix, r.policy)
    return reader.query(sql, binds, cap=q.size, budget_ms=budget)


def _rows_from_index(r: Read, q: query.Query, budget: int) -> reader.Result | None:
    """A page of rows from the version's row index, in the shape DuckDB gives it; None when
    there is no index yet or it cannot apply this query and policy exactly (DuckDB then)."""
    found = lake.row_index(settings=r.settings, head=r.head)
    if found is None:
        return None
    path, meta = found
    parts = sql_index.plan_rows(q, meta, r.policy)
    if parts is None:
        return None
    try:
        res = reader.query_index(path, parts, cap=q.size, budget_ms=budget)
    except reader.QueryFailed:
        return None  # e.g. the index file went away: DuckDB still has the files
    hidden = ["__s", "__f", "__r"] if q.sort else ["__f", "__r"]
    return reader.Result(
        columns=[*q.columns, *hidden],
        types=[meta.types[c] for c in q.columns] + [""] * len(hidden),
        rows=sql_index.decode_rows(q, meta, res.rows),
        truncated=res.truncated,
    )
