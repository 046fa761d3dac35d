"""DuckDB SQL for a parsed query under a row policy: WHERE clauses, row pages with keyset
paging, counts, aggregates.

Identifiers come from the dataset's schema and are quoted with ``qi``; every value is a
bound parameter. ``datatorg.access.query`` parses the URL into the ``Query`` used here;
``datatorg.access.policy`` says what the read may see. Every column the query names is read
through the policy's transform (``column``), and the policy's row predicate (subject filter,
agreement row filters) is part of every WHERE clause, so no page, count, statistic or
aggregate can see a row or a stored value the policy keeps from the reader.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from datatorg.access.policy import RowPolicy, Transform
from datatorg.access.query import Agg, Query, qi
from datatorg.lake.reader import SUBJECT_NO

_CMP = {"exact": "=", "not": "IS DISTINCT FROM", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
NO_POLICY = RowPolicy(fields=())
# A subject-number set is bound as a bitmap (one character per number up to the largest)
# when that is at most this many characters per member (plus 4096), else as a list.
BITMAP_DENSITY = 64
BITMAP_MAX = 1 << 26
# The hidden last columns of a suppressed aggregate: a group's subjects, the groups left out.
GROUP_N, SUPPRESSED = "__dtg_n", "__dtg_suppressed"


def _transform(name: str, t: Transform, ftype: str) -> str:
    c = qi(name)
    if t.kind == "pseudonymise":  # key: lowercase hex, checked by Transform
        return f"('p' || left(sha256('{t.key}' || CAST({c} AS VARCHAR)), 24))"
    level, _, arg = t.level.partition(":")
    if level in ("hour", "day", "month", "year"):
        out = f"date_trunc('{level}', {c})"
        return f"CAST({out} AS DATE)" if ftype == "date" else out
    if level == "prefix":
        return f"left(CAST({c} AS VARCHAR), {int(arg)})"
    step = float(arg)  # step: checked by Transform as digits
    out = f"(floor({c} / {step!r}) * {step!r})"
    return f"CAST({out} AS BIGINT)" if ftype == "integer" else out


def column(policy: RowPolicy, name: str) -> str:
    """The SQL for column ``name`` as the reader sees it (transformed, if the policy says)."""
    t = policy.transforms.get(name)
    if t is None:
        return qi(name)
    ftype = next((str(f.get("type")) for f in policy.fields if f["name"] == name), "string")
    return _transform(name, t, ftype)


def _cond(col: str, op: str, values: list[Any] | tuple[Any, ...]) -> tuple[str, list[Any]]:
    if op in _CMP:
        return f"{col} {_CMP[op]} ?", [values[0]]
    if op == "in":
        return f"{col} IN ({', '.join('?' for _ in values)})", list(values)
    if op == "between":
        return f"{col} BETWEEN ? AND ?", list(values)
    if op == "contains":
        return f"contains(lower(CAST({col} AS VARCHAR)), lower(?))", [values[0]]
    if op == "startswith":
        return f"starts_with(CAST({col} AS VARCHAR), ?)", [values[0]]
    if op == "isnull":
        return (f"{col} IS NULL" if values[0] else f"{col} IS NOT NULL"), []
    raise ValueError(f"unknown operation {op!r}")


class _NumberSet(NamedTuple):
    bits: str | None  # a bitmap: character n is "1" when number n is in the set
    listed: list[int] | None  # else the numbers, sorted


@lru_cache(maxsize=8)  # the same set object comes back from privacy's cache read after read
def _number_set(numbers: frozenset[int], file_max: int) -> _NumberSet:
    wanted = sorted(n for n in numbers if n > 0)  # numbers start at 1
    if not wanted:
        return _NumberSet(None, None)
    # the bitmap covers every number the files hold, so no bit test falls outside it
    size = max(wanted[-1], file_max) + 1
    if size < BITMAP_MAX and size <= BITMAP_DENSITY * len(wanted) + 4096:
        bits = bytearray(b"0") * size
        for n in wanted:
            bits[n] = 49  # "1"
        return _NumberSet(bits.decode("ascii"), None)
    return _NumberSet(None, wanted)


def _numbered(numbers: frozenset[int], file_max: int, *, keep: bool) -> tuple[str, list[Any]]:
    """SQL true for the rows to keep: with ``keep``, rows whose hidden subject number is in
    ``numbers``; else rows whose number is not (rows without one included). A bit test in a
    bitmap bound once per query (a constant subquery: DuckDB casts it once) when the set is
    dense, else an integer semi-join."""
    found = _number_set(numbers, file_max)
    col = qi(SUBJECT_NO)
    if found.bits is not None:
        bit = f"get_bit((SELECT b FROM (SELECT ?::BIT AS b)), CAST({col} AS INTEGER))"
        return (f"{bit} = 1" if keep else f"({col} IS NULL OR {bit} = 0)"), [found.bits]
    if found.listed is not None:
        found_in = f"coalesce({col} IN (SELECT unnest(?::BIGINT[])), false)"
        return (found_in if keep else f"NOT {found_in}"), [found.listed]
    return ("false" if keep else "true"), []


def predicate(policy: RowPolicy) -> tuple[list[str], list[Any]]:
    """The policy's row predicate: the subject filter and the agreement's row filters, on
    stored values. On a version whose files carry the hidden subject number, a subject filter
    that names its subjects by number too is tested on that integer; else on the key, as
    text (the same rows: privacy gives both forms of the same subjects)."""
    conds: list[str] = []
    binds: list[Any] = []
    subjects = policy.subjects
    numbers = subjects.numbers if subjects is not None and policy.subject_numbers else None
    if subjects is not None and numbers is not None and policy.subject_column is not None:
        top = policy.subject_no_max or 0
        if numbers.keep is not None:
            cond, extra = _numbered(numbers.keep, top, keep=True)
            conds.append(cond)
            binds += extra
        if numbers.drop:
            cond, extra = _numbered(numbers.drop, top, keep=False)
            conds.append(cond)
            binds += extra
    elif subjects is not None:
        if policy.subject_column is None:
            conds.append("false")  # a subject filter on data without subject keys: no rows
        else:
            key = f"CAST({qi(policy.subject_column)} AS VARCHAR)"
            # a hash semi-join over the key set: list_contains scans the whole list for
            # every row (60,000 keys × 2M rows took minutes; bench/privacy.py)
            if subjects.keep is not None:
                conds.append(f"{key} IN (SELECT unnest(?::VARCHAR[]))")
                binds.append(sorted(subjects.keep))
            if subjects.drop:
                conds.append(f"({key} IS NULL OR {key} NOT IN (SELECT unnest(?::VARCHAR[])))")
                binds.append(sorted(subjects.drop))
    for rf in policy.row_filters:
        cond, extra = _cond(qi(rf.column), rf.op, rf.values)
        conds.append(cond)
        binds += extra
    return conds, binds


def where(q: Query, policy: RowPolicy = NO_POLICY) -> tuple[list[str], list[Any]]:
    """SQL conditions and their bound values: the query's filters, then the policy's."""
    conds: list[str] = []
    binds: list[Any] = []
    for f in q.filters:
        cond, extra = _cond(column(policy, f.column), f.op, f.values)
        conds.append(cond)
        binds += extra
    if q.search is not None:
        if not q.search_columns:
            conds.append("false")
        else:
            ors = [f"contains(lower({column(policy, c)}), lower(?))" for c in q.search_columns]
            conds.append("(" + " OR ".join(ors) + ")")
            binds += [q.search] * len(q.search_columns)
    more, more_binds = predicate(policy)
    return conds + more, binds + more_binds


def _agg_sql(a: Agg, policy: RowPolicy) -> str:
    if a.column is None:
        return "count(*)"
    col = column(policy, a.column)
    if a.pct is not None:
        return f"quantile_cont({col}, {a.pct})"
    if a.func == "count":
        return f"count({col})"
    return f"{a.func}({col})"


def build_rows(
    q: Query, source: str, file_prefix: str, policy: RowPolicy = NO_POLICY, *, probe: bool = True
) -> tuple[str, list[Any]]:
    """SELECT for a page of rows, ordered for keyset paging. With ``probe`` it asks for one
    row more than the page (whether there is a next page); without, exactly the page. After
    the columns: ``__k`` (the subject key, when the policy keeps a ledger), ``__s`` (the
    sort value, when sorted), ``__f`` and ``__r`` (the row's identity)."""
    conds, binds = where(q, policy)
    if q.after is not None:
        cond, extra = _keyset(q, file_prefix, policy)
        conds.append(cond)
        binds += extra
    select_list = (
        ", ".join(
            f"{column(policy, c)} AS {qi(c)}" if c in policy.transforms else qi(c)
            for c in q.columns
        )
        or "NULL AS _none"
    )
    order = ["filename", "file_row_number"]
    sort = column(policy, q.sort) if q.sort else None
    if sort:
        order.insert(0, f"{sort} {'DESC' if q.desc else 'ASC'} NULLS LAST")
    key = (
        f"CAST({qi(policy.subject_column)} AS VARCHAR) AS __k, "
        if policy.ledger and policy.subject_column
        else ""
    )
    sql = (
        f"SELECT {select_list}, "
        + key
        + (f"{sort} AS __s, " if sort else "")
        + f"filename AS __f, file_row_number AS __r FROM {source}"
        + (f" WHERE {' AND '.join(conds)}" if conds else "")
        + f" ORDER BY {', '.join(order)} LIMIT {int(q.size) + int(probe)} OFFSET {int(q.offset)}"
    )
    return sql, binds


def _keyset(q: Query, prefix: str, policy: RowPolicy) -> tuple[str, list[Any]]:
    assert q.after is not None
    value, fname, rownum = q.after
    tie = "(filename > ? OR (filename = ? AND file_row_number > ?))"
    tie_binds = [prefix + fname, prefix + fname, rownum]
    if not q.sort:
        return tie, tie_binds
    col = column(policy, q.sort)
    if value is None:
        return f"({col} IS NULL AND {tie})", tie_binds
    cmp = "<" if q.desc else ">"
    return (
        f"({col} {cmp} ? OR {col} IS NULL OR ({col} = ? AND {tie}))",
        [value, value, *tie_binds],
    )


def build_count(q: Query, source: str, policy: RowPolicy = NO_POLICY) -> tuple[str, list[Any]]:
    conds, binds = where(q, policy)
    return (
        f"SELECT count(*) FROM {source}" + (f" WHERE {' AND '.join(conds)}" if conds else ""),
        binds,
    )


def build_aggregate(
    q: Query, source: str, policy: RowPolicy = NO_POLICY, *, probe: bool = True
) -> tuple[str, list[Any]]:
    """SELECT ... GROUP BY for ``_group_by``/``_bucket``/``_agg``.

    Groups and order are by position, so they always mean the (transformed) output column,
    never a stored column of the same name."""
    conds, binds = where(q, policy)
    outs = [(column(policy, c), c) for c in q.group_by]
    if q.bucket:
        unit, col = q.bucket
        outs.append((f"date_trunc('{unit}', {column(policy, col)})", "bucket"))
    nkeys = len(outs)
    outs += [(_agg_sql(a, policy), a.alias) for a in q.aggs]
    if q.min_group is not None:
        subject = policy.subject_column
        outs.append(
            (f"count(DISTINCT CAST({qi(subject)} AS VARCHAR))" if subject else "count(*)", GROUP_N)
        )
    sql = "SELECT " + ", ".join(f"{e} AS {qi(a)}" for e, a in outs) + f" FROM {source}"
    if conds:
        sql += f" WHERE {' AND '.join(conds)}"
    keys = [str(i + 1) for i in range(nkeys)]
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    order = ""
    if q.sort:
        pos = [a for _, a in outs].index(q.sort) + 1
        order = f" ORDER BY {pos} {'DESC' if q.desc else 'ASC'} NULLS LAST"
    elif keys:
        order = f" ORDER BY {', '.join(keys)}"
    limit = f" LIMIT {int(q.size) + int(probe)} OFFSET {int(q.offset)}"
    if q.min_group is None:
        return sql + order + limit, binds
    # small-cell suppression: only groups of at least ``min_group`` subjects, and (on every
    # row, and on the one row of NULLs when no group is left) how many were left out
    n, k = qi(GROUP_N), int(q.min_group)
    return (
        f"WITH g AS ({sql}), s AS (SELECT count(*) AS {qi(SUPPRESSED)} FROM g WHERE {n} < {k}),"
        f" kept AS (SELECT * FROM g WHERE {n} >= {k}{order}{limit})"
        f" SELECT kept.*, s.{qi(SUPPRESSED)} FROM s LEFT JOIN kept ON true{order}",
        binds,
    )
