"""The NGSI-LD query language (``q``, ETSI GS CIM 009 clause 4.9) and geo-queries (4.10).

``q`` is parsed once into a small tree and evaluated on stored entities (expanded names):
``;`` is AND and binds tighter than ``|`` (OR); parentheses group; a term is
``attr``, ``!attr``, or ``attr <op> value`` with ``==`` ``!=`` ``>`` ``>=`` ``<`` ``<=``
``~=`` (regular expression) ``!~=``; a value is a number, a quoted string, ``true``/``false``,
a DateTime or URI, a range ``a..b`` or a list ``a,b,c``. ``a.b`` is the sub-attribute ``b``
(or the member ``observedAt``/``unitCode``) of ``a``; ``a[x.y]`` a path into a compound value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from datatorg.sensors.ngsi.context import Context
from datatorg.sensors.ngsi.errors import BadRequestData
from datatorg.sensors.ngsi.model import check_geometry
from datatorg.sensors.ngsi.patterns import compile_pattern

OPS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
MAX_Q = 2000
MAX_NESTING = 20  # parentheses inside parentheses (the parser recurses three calls a level)
_TOKEN = re.compile(
    r'\s*(\(|\)|;|\||!(?![=~])|"(?:[^"\\]|\\.)*"|[^;|()"!]+(?:"(?:[^"\\]|\\.)*")?'
    r"[^;|()]*)"
)


@dataclass(frozen=True)
class Term:
    path: tuple[str, ...]  # expanded attribute name, then sub-attribute/member names
    compound: tuple[str, ...]  # path inside the value ([x.y])
    op: str | None  # None: the attribute exists
    value: Any = None
    negate: bool = False


@dataclass(frozen=True)
class Node:
    kind: str  # and, or
    items: tuple[Any, ...]


def _value(raw: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"')
    if raw in ("true", "false"):
        return raw == "true"
    try:
        number = float(raw)
    except ValueError:
        return raw  # a DateTime, URI or bare word
    if not math.isfinite(number):
        raise BadRequestData("q: numbers must be finite")
    return (
        int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    )


def _split_value(raw: str) -> Any:
    if raw.startswith('"'):
        parts = re.findall(r'"(?:[^"\\]|\\.)*"', raw)
        if len(parts) > 1:
            return ("list", [_value(p) for p in parts])
        return _value(raw)
    if ".." in raw:
        low, _, high = raw.partition("..")
        return ("range", _value(low), _value(high))
    if "," in raw:
        return ("list", [_value(p) for p in raw.split(",")])
    return _value(raw)


def _term(text: str, ctx: Context, negate: bool) -> Term:
    text = text.strip()
    op = None
    name = text
    rest = ""
    for candidate in OPS:
        at = text.find(candidate)
        if at > 0 and (op is None or at < text.find(op)):
            op = candidate
    if op is not None:
        at = text.find(op)
        name, rest = text[:at].strip(), text[at + len(op) :].strip()
        if not rest:
            raise BadRequestData(f"q: {op} needs a value")
        if negate:
            raise BadRequestData("q: ! goes before an attribute name alone")
    compound: tuple[str, ...] = ()
    if "[" in name:
        if not name.endswith("]"):
            raise BadRequestData("q: a [path] must close")
        name, _, inner = name[:-1].partition("[")
        compound = tuple(p for p in inner.split(".") if p)
    parts = [p for p in name.split(".")]
    if not parts or any(not re.fullmatch(r"[^\s<>\"'=;()\[\]]+", p) for p in parts):
        raise BadRequestData(f"q: invalid attribute {name[:60]!r}")
    path = (
        ctx.expand(parts[0]),
        *[
            p if p in ("observedAt", "unitCode", "createdAt", "modifiedAt") else ctx.expand(p)
            for p in parts[1:]
        ],
    )
    value: Any = None
    if op is not None:
        value = _split_value(rest)
        if op in ("~=", "!~="):
            value = compile_pattern(value, "q: the pattern")
    return Term(path=path, compound=compound, op=op, value=value, negate=negate)


def parse(q: str, ctx: Context) -> Any:
    """The tree of ``q``; ``BadRequestData`` naming the problem."""
    if len(q) > MAX_Q:
        raise BadRequestData("q is too long")
    tokens = [t for t in _TOKEN.findall(q) if t.strip()]
    pos = 0
    depth = 0

    def expr() -> Any:
        nonlocal pos
        items = [conj()]
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            items.append(conj())
        return items[0] if len(items) == 1 else Node("or", tuple(items))

    def conj() -> Any:
        nonlocal pos
        items = [atom()]
        while pos < len(tokens) and tokens[pos] == ";":
            pos += 1
            items.append(atom())
        return items[0] if len(items) == 1 else Node("and", tuple(items))

    def atom() -> Any:
        nonlocal pos, depth
        if pos >= len(tokens):
            raise BadRequestData("q ends too early")
        tok = tokens[pos]
        if tok == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise BadRequestData(f"q: at most {MAX_NESTING} parentheses inside each other")
            pos += 1
            inner = expr()
            depth -= 1
            if pos >= len(tokens) or tokens[pos] != ")":
                raise BadRequestData("q: a ( is not closed")
            pos += 1
            return inner
        negate = False
        if tok == "!":
            negate = True
            pos += 1
            if pos >= len(tokens):
                raise BadRequestData("q ends after !")
            tok = tokens[pos]
        if tok in (")", ";", "|"):
            raise BadRequestData(f"q: unexpected {tok!r}")
        pos += 1
        return _term(tok, ctx, negate)

    tree = expr()
    if pos != len(tokens):
        raise BadRequestData(f"q: unexpected {tokens[pos]!r}")
    return tree


def attributes_of(tree: Any) -> set[str]:
    """The expanded attribute names a parsed ``q`` reads."""
    if isinstance(tree, Node):
        return set().union(*(attributes_of(item) for item in tree.items))
    return {tree.path[0]} if isinstance(tree, Term) else set()


def _lookup(attrs: dict[str, Any], term: Term) -> tuple[bool, Any]:
    node: Any = attrs.get(term.path[0])
    for part in term.path[1:]:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    if node is None:
        return False, None
    if isinstance(node, dict) and "type" in node:
        value = node.get("object") if node.get("type") == "Relationship" else node.get("value")
    else:
        value = node
    for key in term.compound:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _cmp(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, tuple) and right[0] == "range":
        ok = _cmp(left, ">=", right[1]) and _cmp(left, "<=", right[2])
        return ok if op == "==" else not ok
    if isinstance(right, tuple) and right[0] == "list":
        ok = any(_cmp(left, "==", r) for r in right[1])
        return ok if op == "==" else not ok
    if isinstance(left, list):
        hits = [_cmp(item, "==" if op == "!=" else op, right) for item in left]
        return not any(hits) if op == "!=" else any(hits)
    if op in ("~=", "!~="):
        found = isinstance(left, str) and right.search(left) is not None
        return found if op == "~=" else not found
    numeric = isinstance(left, int | float) and not isinstance(left, bool)
    if numeric != (isinstance(right, int | float) and not isinstance(right, bool)):
        if op == "!=":
            return True
        return False
    try:
        if op == "==":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def matches(tree: Any, attrs: dict[str, Any]) -> bool:
    """Whether an entity's stored attributes satisfy the parsed ``q``."""
    if isinstance(tree, Node):
        results = (matches(item, attrs) for item in tree.items)
        return all(results) if tree.kind == "and" else any(results)
    term: Term = tree
    present, value = _lookup(attrs, term)
    if term.op is None:
        return present != term.negate
    return present and _cmp(value, term.op, term.value)


# -- geo-queries ---------------------------------------------------------------------------

EARTH_M = 6_371_008.8
GEORELS = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")


@dataclass(frozen=True)
class GeoQuery:
    rel: str
    geometry: dict[str, Any]
    max_distance: float | None = None
    min_distance: float | None = None
    prop: str = ""  # expanded GeoProperty name


def parse_geo(
    georel: str | None,
    geometry: str | None,
    coordinates: str | None,
    prop: str | None,
    ctx: Context,
) -> GeoQuery | None:
    """The geo-query of the request parameters, or None if there is none."""
    import json

    if not any((georel, geometry, coordinates)):
        return None
    if not (georel and geometry and coordinates):
        raise BadRequestData("A geo-query needs georel, geometry and coordinates")
    rel, *mods = georel.split(";")
    if rel not in GEORELS:
        raise BadRequestData(f"georel must be one of {', '.join(GEORELS)}")
    try:
        coords = json.loads(coordinates)
    except (ValueError, RecursionError):  # RecursionError: arrays nested ~1000 deep
        raise BadRequestData("coordinates must be a JSON array") from None
    geom = check_geometry({"type": geometry, "coordinates": coords}, "geometry")
    max_d = min_d = None
    for mod in mods:
        key, sep, val = mod.partition("==")
        try:
            number = float(val)
        except ValueError:
            raise BadRequestData("georel: distances are numbers of metres") from None
        if key == "maxDistance" and sep and number >= 0:
            max_d = number
        elif key == "minDistance" and sep and number >= 0:
            min_d = number
        else:
            raise BadRequestData("georel modifiers: maxDistance==m or minDistance==m")
    if rel == "near" and (geometry != "Point" or (max_d is None and min_d is None)):
        raise BadRequestData("near needs a Point and maxDistance or minDistance")
    return GeoQuery(rel, geom, max_d, min_d, ctx.expand(prop or "location"))


def _points(geom: dict[str, Any]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []

    def walk(c: Any) -> None:
        if isinstance(c, list) and c and isinstance(c[0], int | float):
            out.append((float(c[0]), float(c[1])))
        elif isinstance(c, list):
            for item in c:
                walk(item)

    walk(geom.get("coordinates"))
    return out


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _in_ring(p: tuple[float, float], ring: list[list[float]]) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > p[1]) != (yj > p[1]) and p[0] < (xj - xi) * (p[1] - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _polygons(geom: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return list(geom["coordinates"])
    return []


def _point_in(p: tuple[float, float], geom: dict[str, Any]) -> bool:
    for poly in _polygons(geom):
        if _in_ring(p, poly[0]) and not any(_in_ring(p, hole) for hole in poly[1:]):
            return True
    return False


def geo_matches(gq: GeoQuery, attrs: dict[str, Any]) -> bool:
    """Whether the entity's GeoProperty satisfies the geo-query (points and polygons; lines
    count by their vertices)."""
    attr = attrs.get(gq.prop)
    if not isinstance(attr, dict) or not isinstance(attr.get("value"), dict):
        return False
    geom = attr["value"]
    pts = _points(geom)
    if not pts:
        return False
    if gq.rel == "near":
        centre = _points(gq.geometry)[0]
        d = min(distance(p, centre) for p in pts)
        if gq.max_distance is not None and d > gq.max_distance:
            return False
        return not (gq.min_distance is not None and d < gq.min_distance)
    if gq.rel == "equals":
        return bool(geom == gq.geometry)
    if gq.rel == "within":
        return all(_point_in(p, gq.geometry) for p in pts)
    query_pts = _points(gq.geometry)
    touch = (
        any(_point_in(p, gq.geometry) for p in pts)
        or any(_point_in(p, geom) for p in query_pts)
        or any(p in query_pts for p in pts)
    )
    if gq.rel == "contains":
        return (
            bool(_polygons(geom))
            and all(_point_in(p, geom) for p in query_pts)
            or (geom["type"] == "Point" and gq.geometry == geom)
        )
    if gq.rel == "intersects":
        return touch
    if gq.rel == "disjoint":
        return not touch
    return touch and not all(_point_in(p, gq.geometry) for p in pts)  # overlaps
