"""SQL for a parsed query: WHERE clauses, row pages with keyset paging, counts, aggregates.

Identifiers come from the dataset's schema and are quoted with ``qi``; every value is a
bound parameter. ``datatorg.access.query`` parses the URL into the ``Query`` used here.
"""

from __future__ import annotations

from typing import Any

from datatorg.access.query import Agg, Query, qi

_CMP = {"exact": "=", "not": "IS DISTINCT FROM", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def where(q: Query) -> tuple[list[str], list[Any]]:
    """SQL conditions and their bound values."""
    conds: list[str] = []
    binds: list[Any] = []
    for f in q.filters:
        col = qi(f.column)
        if f.op in _CMP:
            conds.append(f"{col} {_CMP[f.op]} ?")
            binds.append(f.values[0])
        elif f.op == "in":
            conds.append(f"{col} IN ({', '.join('?' for _ in f.values)})")
            binds += f.values
        elif f.op == "between":
            conds.append(f"{col} BETWEEN ? AND ?")
            binds += f.values
        elif f.op == "contains":
            conds.append(f"contains(lower(CAST({col} AS VARCHAR)), lower(?))")
            binds.append(f.values[0])
        elif f.op == "startswith":
            conds.append(f"starts_with(CAST({col} AS VARCHAR), ?)")
            binds.append(f.values[0])
        elif f.op == "isnull":
            conds.append(f"{col} IS NULL" if f.values[0] else f"{col} IS NOT NULL")
    if q.search is not None:
        if not q.search_columns:
            conds.append("false")
        else:
            ors = [f"contains(lower({qi(c)}), lower(?))" for c in q.search_columns]
            conds.append("(" + " OR ".join(ors) + ")")
            binds += [q.search] * len(q.search_columns)
    return conds, binds


def _agg_sql(a: Agg) -> str:
    if a.column is None:
        return "count(*)"
    col = qi(a.column)
    if a.pct is not None:
        return f"quantile_cont({col}, {a.pct})"
    if a.func == "count":
        return f"count({col})"
    return f"{a.func}({col})"


def build_rows(q: Query, source: str, file_prefix: str) -> tuple[str, list[Any]]:
    """SELECT for a page of rows, ordered for keyset paging."""
    conds, binds = where(q)
    if q.after is not None:
        cond, extra = _keyset(q, file_prefix)
        conds.append(cond)
        binds += extra
    select_list = ", ".join(qi(c) for c in q.columns) or "NULL AS _none"
    order = ["filename", "file_row_number"]
    if q.sort:
        order.insert(0, f"{qi(q.sort)} {'DESC' if q.desc else 'ASC'} NULLS LAST")
    sql = (
        f"SELECT {select_list}, "
        + (f"{qi(q.sort)} AS __s, " if q.sort else "")
        + f"filename AS __f, file_row_number AS __r FROM {source}"
        + (f" WHERE {' AND '.join(conds)}" if conds else "")
        + f" ORDER BY {', '.join(order)} LIMIT {int(q.size) + 1} OFFSET {int(q.offset)}"
    )
    return sql, binds


def _keyset(q: Query, prefix: str) -> tuple[str, list[Any]]:
    assert q.after is not None
    value, fname, rownum = q.after
    tie = "(filename > ? OR (filename = ? AND file_row_number > ?))"
    tie_binds = [prefix + fname, prefix + fname, rownum]
    if not q.sort:
        return tie, tie_binds
    col = qi(q.sort)
    if value is None:
        return f"({col} IS NULL AND {tie})", tie_binds
    cmp = "<" if q.desc else ">"
    return (
        f"({col} {cmp} ? OR {col} IS NULL OR ({col} = ? AND {tie}))",
        [value, value, *tie_binds],
    )


def build_count(q: Query, source: str) -> tuple[str, list[Any]]:
    conds, binds = where(q)
    return (
        f"SELECT count(*) FROM {source}" + (f" WHERE {' AND '.join(conds)}" if conds else ""),
        binds,
    )


def build_aggregate(q: Query, source: str) -> tuple[str, list[Any]]:
    """SELECT ... GROUP BY for ``_group_by``/``_bucket``/``_agg``."""
    conds, binds = where(q)
    keys = [qi(c) for c in q.group_by]
    outs = list(keys)
    if q.bucket:
        unit, col = q.bucket
        outs.append(f"date_trunc('{unit}', {qi(col)}) AS bucket")
        keys.append("bucket")
    outs += [f"{_agg_sql(a)} AS {qi(a.alias)}" for a in q.aggs]
    sql = f"SELECT {', '.join(outs)} FROM {source}"
    if conds:
        sql += f" WHERE {' AND '.join(conds)}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    if q.sort:
        sql += f" ORDER BY {qi(q.sort)} {'DESC' if q.desc else 'ASC'} NULLS LAST"
    elif keys:
        sql += f" ORDER BY {', '.join(keys)}"
    return sql + f" LIMIT {int(q.size) + 1} OFFSET {int(q.offset)}", binds
