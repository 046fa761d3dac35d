"""SQL for the row index (a version's SQLite serving copy), for the queries it serves well.

``plan_rows`` returns the SQL parts for a parsed ``Query`` only when an index of the copy
answers it with a seek and gives exactly DuckDB's answer: a page of rows (no aggregate, no
search, no substring filters) with an equality filter on a key column and the default order
or time order (ascending or descending), or time order with filters on the time column only,
or no filter at all in the default order. Everything else is None, and DuckDB answers.

Values are bound in the copy's encoding (timestamps as microseconds, dates as days,
booleans as 0/1); identifiers are quoted with ``qi``. A sorted page is read in parts, each a
single index seek: rows with the same sort value after the cursor, rows with a later one
(greater, or smaller when descending), then the rows whose sort value is NULL (DuckDB's
NULLS LAST; ties always in row order, ascending, as DuckDB's tie-break).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from datatorg.access.policy import RowFilter, RowPolicy
from datatorg.access.query import Filter, Query, qi
from datatorg.lake.rowindex_meta import POS, TABLE
from datatorg.lake.rowindex_meta import Meta as RowIndexMeta

SERVED = ("exact", "not", "gt", "gte", "lt", "lte", "in", "between", "isnull")
_CMP = {"exact": "=", "not": "IS NOT", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_EPOCH = datetime(1970, 1, 1)
_EPOCH_DAY = date(1970, 1, 1)
_US = timedelta(microseconds=1)
_INT64 = (-(2**63), 2**63 - 1)

Parts = list[tuple[str, list[Any]]]


class _NoPlan(Exception):
    pass


def encode(kind: str, value: Any) -> Any:
    """``value`` in the copy's encoding for a column of ``kind``; ``_NoPlan`` if inexact."""
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        if _INT64[0] <= value <= _INT64[1]:
            return value
    if kind == "real" and isinstance(value, float):
        return value
    if kind == "bool" and isinstance(value, bool):
        return int(value)
    if kind == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return (value - _EPOCH_DAY).days
    if kind == "ts" and isinstance(value, datetime) and value.tzinfo is None:
        return (value - _EPOCH) // _US
    raise _NoPlan


def decode(kind: str, value: Any) -> Any:
    """A stored value as DuckDB would return it."""
    if value is None:
        return None
    fn = _decoder(kind)
    return value if fn is None else fn(value)


def _decoder(kind: str) -> Callable[[Any], Any] | None:
    """How a stored value of ``kind`` becomes DuckDB's; None: it is stored as DuckDB gives it.
    A decimal (``dec<s>``) is stored as its value times 10**s: the same digits, exponent -s."""
    if kind.startswith("dec"):
        exponent = -int(kind[3:])
        return lambda v: Decimal((0 if v >= 0 else 1, tuple(map(int, str(abs(v)))), exponent))
    return _DECODERS.get(kind)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "ts": lambda v: _EPOCH + timedelta(microseconds=v),
    "date": lambda v: _EPOCH_DAY + timedelta(days=v),
    "bool": bool,
    "real": float,
}


def _where(q: Query, meta: RowIndexMeta, policy: RowPolicy) -> tuple[list[str], list[Any]]:
    conds: list[str] = []
    binds: list[Any] = []
    filters: list[Filter | RowFilter] = [*q.filters, *policy.row_filters]
    for f in filters:
        if f.op not in SERVED or f.column not in meta.kinds:
            raise _NoPlan
        kind, col = meta.kinds[f.column], qi(f.column)
        if f.op in _CMP:
            conds.append(f"{col} {_CMP[f.op]} ?")
            binds.append(encode(kind, f.values[0]))
        elif f.op == "in":
            conds.append(f"{col} IN ({', '.join('?' for _ in f.values)})")
            binds += [encode(kind, v) for v in f.values]
        elif f.op == "between":
            conds.append(f"{col} BETWEEN ? AND ?")
            binds += [encode(kind, v) for v in f.values]
        else:  # isnull
            conds.append(f"{col} IS NULL" if f.values[0] else f"{col} IS NOT NULL")
    return conds, binds


def _index(meta: RowIndexMeta, cols: list[str], desc: bool = False) -> str | None:
    return next(
        (
            name
            for name, on in meta.indexes.items()
            if on == cols and (name in meta.descending) == desc
        ),
        None,
    )


def _choose(q: Query, meta: RowIndexMeta) -> tuple[str | None, bool]:
    """The index to seek (None: the table in row order) and whether the page is sorted."""
    keyed = [f.column for f in q.filters if f.op == "exact" and f.column in meta.keys]
    if q.sort is None:
        if keyed:
            return _index(meta, [keyed[0]]), False
        if not q.filters:
            return None, False
        raise _NoPlan
    t = meta.time
    if t is None or q.sort != t:
        raise _NoPlan
    for k in keyed:
        name = _index(meta, [k, t], q.desc)
        if name is not None:
            return name, True
    if all(f.column == t for f in q.filters):
        name = _index(meta, [t], q.desc)
        if name is not None:
            return name, True
    raise _NoPlan


def plan_rows(q: Query, meta: RowIndexMeta, policy: RowPolicy) -> Parts | None:
    """SQL parts for a page of ``q`` under ``policy`` from the row index, or None when DuckDB
    should answer.

    The index serves a read only when it applies the policy exactly: no subject filter (the
    copy holds no subject keys), no transformed column among those the read touches, and
    agreement row filters only on columns the copy holds, with operations it compares as
    DuckDB does. Each part selects the columns, then ``__s`` (the sort value, when sorted)
    and ``__p`` (the row's position); ``decode_rows`` turns them into DuckDB's row shape."""
    if q.is_aggregate or q.search is not None or not q.columns:
        return None
    if policy.subjects is not None or policy.ledger:
        return None
    touched = [*q.columns, *(f.column for f in q.filters), *([q.sort] if q.sort else [])]
    if not policy.plain(touched) or any(c not in meta.kinds for c in q.columns):
        return None
    try:
        index, is_sorted = _choose(q, meta)
        conds, binds = _where(q, meta, policy)
        return _parts(q, meta, index, is_sorted, conds, binds)
    except _NoPlan:
        return None


def _parts(
    q: Query,
    meta: RowIndexMeta,
    index: str | None,
    is_sorted: bool,
    conds: list[str],
    binds: list[Any],
) -> Parts:
    pos = qi(POS)
    select = ", ".join(qi(c) for c in q.columns)
    source = TABLE + (f" INDEXED BY {qi(index)}" if index else "")
    limit = f" LIMIT {int(q.size) + 1}"

    def part(extra: list[str], extra_binds: list[Any], order: str, tail: str = limit) -> Any:
        where = conds + extra
        sql = (
            f"SELECT {select}, "
            + (f"{qi(meta.time or '')} AS __s, " if is_sorted else "")
            + f"{pos} AS __p FROM {source}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {order}{tail}"
        )
        return sql, binds + extra_binds

    after = None
    if q.after is not None:
        value, fname, rownum = q.after
        if not isinstance(fname, str) or not isinstance(rownum, int):
            raise _NoPlan
        after = (value, meta.position(fname, rownum))
    if not is_sorted:
        extra = [f"{pos} > ?"] if after else []
        tail = limit + (f" OFFSET {int(q.offset)}" if q.offset else "")
        return [part(extra, [after[1]] if after else [], pos, tail)]
    t = qi(meta.time or "")
    kind = meta.kinds[meta.time or ""]
    nonnull, null = f"({t} IS NULL) = 0", f"({t} IS NULL) = 1 AND {t} IS NULL"
    order = f"{t}{' DESC' if q.desc else ''}, {pos}"
    if q.offset:  # one query: the parts cannot share an offset
        tail = limit + f" OFFSET {int(q.offset)}"
        return [part([], [], f"({t} IS NULL), {order}", tail)]
    # a filter on the time column that no NULL passes (a comparison, "is not null") leaves
    # no NULL part; "is null" and "not" (IS NOT) keep the NULLs
    nulls = not any(
        f.column == meta.time
        and (f.op not in ("not", "isnull") or (f.op == "isnull" and not f.values[0]))
        for f in q.filters
    )
    tail_parts = [part([null], [], order)] if nulls else []
    if after is None:
        return [part([nonnull], [], order), *tail_parts]
    value, p = after
    if value is None:
        return [part([null, f"{pos} > ?"], [p], order)]
    v = encode(kind, value)
    return [
        part([nonnull, f"{t} = ?", f"{pos} > ?"], [v, p], order),
        part([nonnull, f"{t} {'<' if q.desc else '>'} ?"], [v], order),
        *tail_parts,
    ]


def decode_rows(q: Query, meta: RowIndexMeta, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows from the index in the shape ``sql.build_rows`` gives: the columns, ``__s`` when
    sorted, then the file name and the row number in the file."""
    kinds = [meta.kinds[c] for c in q.columns]
    if q.sort:
        kinds.append(meta.kinds[q.sort])
    width = len(kinds)
    # only the columns whose stored form differs from DuckDB's are touched (a page is read
    # on every request: text and integers pass as they are)
    convert = [(i, fn) for i, k in enumerate(kinds) if (fn := _decoder(k)) is not None]
    out = []
    for row in rows:
        values = list(row[:width])
        for i, fn in convert:
            v = values[i]
            if v is not None:
                values[i] = fn(v)
        out.append((*values, *meta.identity(row[-1])))
    return out
