"""The gate's query builder: Datasette-style URL parameters to parameterised DuckDB SQL.

Column names are checked against the version's schema and quoted from it; values are
always bound parameters. Nothing from the request is ever pasted into SQL text.
Every problem raises ``Invalid`` naming the offending parameter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from datatorg.errors import BadRequest, Invalid
from datatorg.lake import service as ts

OPS = (
    "exact",
    "not",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "contains",
    "startswith",
    "isnull",
    "between",
)
BUCKETS = ("hour", "day", "week", "month")
AGGS = ("count", "sum", "avg", "min", "max", "median")
_AGG = re.compile(r"^([a-z0-9_]+)(?:\((.+)\))?$")
_PCT = re.compile(r"^(?:p|percentile_)([1-9][0-9]?)$")
DEFAULT_SIZE = 100
CONTROL = {
    "_col",
    "_sort",
    "_sort_desc",
    "_size",
    "_next",
    "_count",
    "_group_by",
    "_agg",
    "_bucket",
    "_bbox",
    "_shape",
    "_nl",
    "_offset",
    "_search",
}
# Datasette switches that turn off what this API never does (counts on every page, facets,
# suggestions): accepted, and the answer is right without them.
IGNORED = {"_nocount", "_nofacet", "_nosuggest"}
# Every parameter that starts with "_" and means something here (``_purpose`` and
# ``_agreement`` are read by the gate before the query is parsed); any other is refused with
# this list.
KNOWN = sorted(CONTROL | IGNORED | {"_purpose", "_agreement"})
# Output shapes, as Datasette names them: ``arrays`` (the default: rows as lists, with the
# page's columns and paging), ``objects`` (the same, rows as objects), ``array`` (a bare
# list of row objects; with ``_nl=on`` newline-delimited JSON) and ``object`` (an object of
# row objects keyed by the dataset's unique key column, Table Schema ``primaryKey``).
SHAPES = ("arrays", "objects", "array", "object")
MAX_OFFSET = 1_000_000


def bad(param: str, message: str) -> Invalid:
    return Invalid(
        f"Invalid parameter {param}: {message}", errors=[{"parameter": param, "message": message}]
    )


def unknown(param: str) -> BadRequest:
    """The answer to an ``_``-parameter this API does not know: 400, with the known ones."""
    message = "unknown parameter; the known ones are " + ", ".join(KNOWN)
    if param == "_facet":
        message = "facets are not offered on rows; count groups with _group_by=column"
    return BadRequest(
        f"Unknown parameter {param[:60]}",
        errors=[{"parameter": param[:60], "message": message}],
        known=KNOWN,
    )


def qi(name: str) -> str:
    """Quote an identifier that came from the schema."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Filter:
    column: str
    op: str
    values: list[Any]


@dataclass
class Agg:
    func: str
    column: str | None
    alias: str
    pct: float | None = None


@dataclass
class Query:
    columns: list[str]
    filters: list[Filter] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    sort: str | None = None
    desc: bool = False
    size: int = DEFAULT_SIZE
    after: list[Any] | None = None
    count: bool = False
    group_by: list[str] = field(default_factory=list)
    bucket: tuple[str, str] | None = None
    aggs: list[Agg] = field(default_factory=list)
    offset: int = 0
    search: str | None = None
    search_columns: list[str] = field(default_factory=list)
    shape: str = "arrays"
    nl: bool = False
    key: str | None = None  # the unique key column, for ``_shape=object``
    ctx: str = ""  # what a cursor of this query is bound to (the gate sets it)
    # groups with fewer distinct subjects (rows, without a subject key) are left out of an
    # aggregate's answer and counted (the gate sets it: personal data, not the owner)
    min_group: int | None = None

    @property
    def is_aggregate(self) -> bool:
        return bool(self.aggs or self.group_by or self.bucket)

    def columns_used(self) -> frozenset[str]:
        used = set() if self.is_aggregate else set(self.columns)
        used |= set(self.search_columns)
        used |= {f.column for f in self.filters} | set(self.group_by)
        used |= {a.column for a in self.aggs if a.column}
        if self.bucket:
            used.add(self.bucket[1])
        if self.sort and not self.is_aggregate:
            used.add(self.sort)
        return frozenset(used)


def coerce(param: str, field_: dict[str, Any], raw: str) -> Any:
    """``raw`` as a value of the column's type, or ``Invalid`` naming ``param``."""
    kind = field_["type"]
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            if value != value:
                raise ValueError("NaN")
            return value
        if kind == "boolean":
            low = raw.lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return low in ("true", "1")
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "datetime":
            parsed = datetime.fromisoformat(raw)
            return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed
        if kind == "time":
            return time.fromisoformat(raw)
    except ValueError:
        raise bad(param, f"{raw[:40]!r} is not a valid {kind}") from None
    if len(raw) > 1000:
        raise bad(param, "value too long")
    return raw


def _list(param: str, raw: str) -> list[str]:
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise bad(param, "not a JSON list") from None
        if not isinstance(items, list):
            raise bad(param, "not a JSON list")
        out = [str(i) for i in items]
    else:
        out = [p for p in raw.split(",")]
    if not out or len(out) > 500:
        raise bad(param, "give between 1 and 500 values")
    return out


def _column(param: str, name: str, fields: dict[str, dict[str, Any]]) -> str:
    if name not in fields:
        raise bad(param, f"no column named {name[:60]!r}")
    return name


def _agg(raw: str, fields: dict[str, dict[str, Any]]) -> Agg:
    m = _AGG.match(raw)
    if not m:
        raise bad("_agg", f"{raw[:60]!r} is not like count or avg(column)")
    func, col = m.group(1), m.group(2)
    pct = None
    if func == "count" and col is None:
        return Agg("count", None, "count")
    if col is None:
        raise bad("_agg", f"{func} needs a column, like {func}(column)")
    _column("_agg", col, fields)
    pm = _PCT.match(func)
    if pm:
        pct = int(pm.group(1)) / 100
    elif func not in AGGS:
        raise bad("_agg", f"unknown aggregate {func!r}")
    numeric = fields[col]["type"] in ("integer", "number")
    if func in ("sum", "avg", "median") or pct is not None:
        if not numeric:
            raise bad("_agg", f"{func} needs a numeric column; {col!r} is not")
    return Agg(func, col, f"{func}_{col}", pct)


def parse(
    items: list[tuple[str, str]],
    schema: dict[str, Any],
    *,
    visible: list[str],
    max_size: int,
    decode_cursor: Any,
    default_columns: list[str] | None = None,
) -> Query:
    """Parse request parameters into a ``Query`` over the ``visible`` columns of ``schema``.

    ``default_columns`` (default: all of ``visible``) are the columns returned without
    ``_col`` and the ones ``_search``, ``_bucket`` and ``_bbox`` pick by themselves; the
    other visible columns may be named, and the gate then decides whether the read may
    touch them (an agreement's columns)."""
    fields = {n: f for n, f in ts.fields_by_name(schema).items() if n in visible}
    defaults = list(visible) if default_columns is None else list(default_columns)
    own = {n: f for n, f in fields.items() if n in defaults}
    q = Query(columns=defaults)
    cols: list[str] = []
    for key, raw in items:
        if key == "_col":
            for name in raw.split(","):
                cols.append(_column("_col", name, fields))
        elif key in ("_sort", "_sort_desc"):
            if q.sort is not None:
                raise bad(key, "only one sort column")
            q.sort, q.desc = raw, key == "_sort_desc"
        elif key == "_size":
            if raw == "max":
                q.size = max_size
            elif not raw.isdigit() or not 0 <= int(raw) <= max_size:
                raise bad("_size", f"must be a number from 0 to {max_size}, or max")
            else:
                q.size = int(raw)
        elif key == "_count":
            q.count = raw.lower() in ("1", "true", "on")
        elif key == "_group_by":
            for name in raw.split(","):
                q.group_by.append(_column("_group_by", name, fields))
        elif key == "_agg":
            q.aggs.append(_agg(raw, fields))
        elif key == "_bucket":
            unit, _, col = raw.partition(":")
            if unit not in BUCKETS:
                raise bad("_bucket", f"must be one of {', '.join(BUCKETS)}")
            times = [c for c in ts.columns_with_role(schema, "time") if c in own]
            if col:
                if col not in ts.columns_with_role(schema, "time") or col not in fields:
                    raise bad("_bucket", f"{col[:60]!r} is not a time column")
            elif not times:
                raise bad("_bucket", "this dataset has no time column")
            q.bucket = (unit, col or times[0])
        elif key == "_bbox":
            q.bbox = _bbox(raw)
            lat = [c for c in ts.columns_with_role(schema, "latitude") if c in own]
            lon = [c for c in ts.columns_with_role(schema, "longitude") if c in own]
            if not lat or not lon:
                raise bad("_bbox", "this dataset has no latitude/longitude columns")
            q.filters.append(Filter(lon[0], "between", [q.bbox[0], q.bbox[2]]))
            q.filters.append(Filter(lat[0], "between", [q.bbox[1], q.bbox[3]]))
        elif key == "_offset":
            if not raw.isdigit() or int(raw) > MAX_OFFSET:
                raise bad("_offset", f"must be a number from 0 to {MAX_OFFSET}; use _next")
            q.offset = int(raw)
        elif key == "_search":
            if not raw or len(raw) > 200:
                raise bad("_search", "give 1 to 200 characters")
            q.search = raw
            q.search_columns = [n for n, f in own.items() if f["type"] == "string"]
        elif key == "_next":
            q.after = decode_cursor(raw)
        elif key == "_shape":
            if raw not in SHAPES:
                raise bad("_shape", f"must be one of {', '.join(SHAPES)}")
            q.shape = raw
        elif key == "_nl":
            if raw.lower() not in ("on", "off", "1", "0", "true", "false"):
                raise bad("_nl", "must be on or off")
            q.nl = raw.lower() in ("on", "1", "true")
        elif key in IGNORED:
            continue  # Datasette switches for things this API never does
        elif key.startswith("_") and not _is_column_filter(key, fields):
            raise unknown(key)
        else:
            q.filters.append(_filter(key, raw, fields))
    if cols:
        q.columns = list(dict.fromkeys(cols))
    if q.sort is not None:
        allowed = set(fields) if not q.is_aggregate else _agg_outputs(q)
        if q.sort not in allowed:
            raise bad("_sort_desc" if q.desc else "_sort", f"cannot sort by {q.sort[:60]!r}")
    if q.after is not None and q.offset:
        raise bad("_offset", "use either _offset or _next")
    if q.is_aggregate and q.after is not None:
        raise bad("_next", "aggregates are not paged; narrow the query instead")
    if q.is_aggregate and not q.aggs:
        q.aggs.append(Agg("count", None, "count"))
    _check_shape(q, schema, fields)
    return q


def _check_shape(q: Query, schema: dict[str, Any], fields: dict[str, dict[str, Any]]) -> None:
    """The output shape fits the query (and ``object`` finds its key column)."""
    if q.nl and q.shape != "array":
        raise bad("_nl", "newline-delimited JSON needs _shape=array")
    if q.shape in ("array", "object") and q.count:
        raise bad("_count", "a bare list or object carries no count; use _shape=objects")
    if q.shape != "object":
        return
    if q.is_aggregate:
        raise bad("_shape", "_shape=object keys rows by a unique column; aggregates have none")
    key = schema.get("primaryKey")
    if isinstance(key, list) and len(key) == 1:
        key = key[0]
    if not isinstance(key, str) or key not in fields:
        raise bad(
            "_shape",
            "this dataset declares no unique key column (primaryKey) you may see; "
            "use _shape=objects or _shape=array",
        )
    if key not in q.columns:
        raise bad("_col", f"_shape=object needs the key column {key[:60]!r} among the columns")
    q.key = key


def _agg_outputs(q: Query) -> set[str]:
    out = set(q.group_by) | {a.alias for a in q.aggs}
    if q.bucket:
        out.add("bucket")
    return out


def _bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise bad("_bbox", "must be minlon,minlat,maxlon,maxlat (numbers)") from None
    if len(values) != 4:
        raise bad("_bbox", "must be minlon,minlat,maxlon,maxlat (four numbers)")
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise bad("_bbox", "corners out of range or in the wrong order")
    return minlon, minlat, maxlon, maxlat


def _is_column_filter(key: str, fields: dict[str, dict[str, Any]]) -> bool:
    """Whether ``key`` filters a column whose name starts with ``_`` (the escape: name the
    operator, ``_sort__exact=x``, so the key is never mistaken for a control parameter)."""
    name, sep, op = key.rpartition("__")
    return bool(sep) and op in OPS and name in fields


def _filter(key: str, raw: str, fields: dict[str, dict[str, Any]]) -> Filter:
    name, sep, op = key.rpartition("__")
    if not sep or op not in OPS:
        name, op = key, "exact"
    if name not in fields and key in fields:  # a column named like a filter: t__gt
        raise bad(key, f"to filter the column {key[:60]!r}, write {key[:60]}__exact=…")
    col = _column(key, name, fields)
    f = fields[col]
    if op == "isnull":
        if raw.lower() not in ("1", "0", "true", "false"):
            raise bad(key, "must be 1 or 0")
        return Filter(col, op, [raw.lower() in ("1", "true")])
    if op in ("contains", "startswith"):
        if not raw or len(raw) > 200:
            raise bad(key, "give 1 to 200 characters")
        return Filter(col, op, [raw])
    if op == "in":
        return Filter(col, op, [coerce(key, f, v) for v in _list(key, raw)])
    if op == "between":
        parts = raw.split(",")
        if len(parts) != 2:
            raise bad(key, "must be two values: low,high")
        return Filter(col, op, [coerce(key, f, v) for v in parts])
    return Filter(col, op, [coerce(key, f, raw)])
