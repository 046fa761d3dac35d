"""NGSI-LD entities in and out: checking and expanding what clients send, compacting what
they read (normalized, keyValues/simplified, with or without system attributes).

Stored form (``SensorEntity.attrs``): expanded attribute name → normalized attribute
(``{"type": "Property", "value": …, "observedAt": …, "unitCode": …, <expanded sub-attribute>:
{…}, "createdAt": …, "modifiedAt": …}``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from datatorg.sensors.ngsi.context import Context
from datatorg.sensors.ngsi.errors import BadRequestData

ATTR_TYPES = (
    "Property",
    "Relationship",
    "GeoProperty",
    "LanguageProperty",
    "JsonProperty",
    "VocabProperty",
    "ListProperty",
    "ListRelationship",
)
GEO_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# Keys of an attribute that are NGSI-LD keywords, not sub-attributes.
MEMBERS = {
    "type",
    "value",
    "object",
    "languageMap",
    "json",
    "vocab",
    "valueList",
    "objectList",
    "observedAt",
    "unitCode",
    "datasetId",
    "createdAt",
    "modifiedAt",
    "deletedAt",
    "objectType",
    "lang",
    "instanceId",
    "previousValue",
}
ENTITY_MEMBERS = {"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"}
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_FORBIDDEN = re.compile(r"[<>\"'=;()\s\x00-\x1f]")
MAX_NAME = 256
# How deep an attribute (its value, sub-attributes, languageMap, json) may nest. Deeper
# JSON is stored but can never be answered (orjson writes at most 255 levels; Python
# recurses ~1000), so every later read of the entity's type would fail: refused here.
MAX_DEPTH = 32


def now_stamp() -> str:
    return stamp(datetime.now(UTC))


def stamp(when: datetime) -> str:
    """NGSI-LD DateTime: UTC, ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def parse_datetime(raw: Any, what: str) -> datetime:
    if not isinstance(raw, str) or not 10 <= len(raw) <= 40:
        raise BadRequestData(f"{what} must be an ISO 8601 DateTime such as 2026-12-01T10:00:00Z")
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise BadRequestData(
            f"{what} must be an ISO 8601 DateTime such as 2026-12-01T10:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_id(raw: Any, what: str = "id") -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NAME or not _URI.match(raw):
        raise BadRequestData(f"The {what} must be a URI (such as urn:ngsi-ld:Type:1)")
    return raw


def check_name(raw: Any, what: str = "attribute name") -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NAME or _FORBIDDEN.search(raw):
        raise BadRequestData(f"Invalid {what}: {str(raw)[:60]!r}")
    return raw


def check_depth(raw: Any, name: str) -> None:
    """``BadRequestData`` when ``raw`` nests deeper than ``MAX_DEPTH`` (walked without
    recursion, so any depth the JSON parser let through is measured safely)."""
    stack: list[tuple[Any, int]] = [(raw, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise BadRequestData(f"{name}: nested more than {MAX_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def check_geometry(value: Any, name: str) -> dict[str, Any]:
    """A GeoJSON geometry with sane coordinates; ``BadRequestData`` otherwise."""
    if not isinstance(value, dict) or value.get("type") not in GEO_TYPES:
        raise BadRequestData(f"{name}: a GeoProperty's value must be a GeoJSON geometry")
    coords = value.get("coordinates")

    def pos(p: Any) -> None:
        if (
            not isinstance(p, list)
            or len(p) not in (2, 3)
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
            or not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90)
        ):
            raise BadRequestData(f"{name}: coordinates must be [longitude, latitude]")

    def walk(c: Any, depth: int) -> None:
        if depth == 0:
            pos(c)
            return
        if not isinstance(c, list) or not c:
            raise BadRequestData(f"{name}: malformed coordinates")
        for item in c:
            walk(item, depth - 1)

    depth = {
        "Point": 0,
        "MultiPoint": 1,
        "LineString": 1,
        "MultiLineString": 2,
        "Polygon": 2,
        "MultiPolygon": 3,
    }[value["type"]]
    walk(coords, depth)
    if value["type"] == "Polygon":
        for ring in coords or []:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise BadRequestData(f"{name}: a polygon ring must be closed (4+ positions)")
    return {"type": value["type"], "coordinates": coords}


def attribute(name: str, raw: Any, ctx: Context, *, at: str, geo_names: set[str]) -> dict[str, Any]:
    """One attribute as stored, from normalized or concise input."""
    check_depth(raw, name)
    if isinstance(raw, list) and raw and all(isinstance(r, dict) and "datasetId" in r for r in raw):
        raise BadRequestData(f"{name}: multi-attributes (datasetId) are not supported here")
    if not isinstance(raw, dict):
        raw = {"type": "Property", "value": raw}
    elif "type" not in raw:
        if "object" in raw:
            raw = {"type": "Relationship", **raw}
        elif "languageMap" in raw:
            raw = {"type": "LanguageProperty", **raw}
        elif "json" in raw:
            raw = {"type": "JsonProperty", **raw}
        elif "value" in raw:
            raw = {"type": "Property", **raw}
        else:
            raw = {"type": "Property", "value": raw}
    elif raw["type"] in GEO_TYPES and "coordinates" in raw:
        raw = {"type": "GeoProperty", "value": raw}
    kind = raw.get("type")
    if kind not in ATTR_TYPES:
        raise BadRequestData(f"{name}: unknown attribute type {str(kind)[:40]!r}")
    out: dict[str, Any] = {"type": kind}
    if kind == "Relationship":
        obj = raw.get("object")
        targets = obj if isinstance(obj, list) else [obj]
        for t in targets:
            check_id(t, f"object of {name}")
        out["object"] = obj
    elif kind == "LanguageProperty":
        lm = raw.get("languageMap")
        if not isinstance(lm, dict) or not lm:
            raise BadRequestData(f"{name}: a LanguageProperty needs a languageMap")
        out["languageMap"] = lm
    elif kind == "JsonProperty":
        if "json" not in raw:
            raise BadRequestData(f"{name}: a JsonProperty needs json")
        out["json"] = raw["json"]
    else:
        if "value" not in raw or raw["value"] is None:
            raise BadRequestData(f"{name}: a {kind} needs a value")
        value = raw["value"]
        if kind == "GeoProperty" or name in geo_names:
            if kind == "Property":
                raise BadRequestData(f"{name} must be a GeoProperty")
            value = check_geometry(value, name)
            out["type"] = "GeoProperty"
        if not _finite(value):
            raise BadRequestData(f"{name}: numbers must be finite")
        out["value"] = value
    if "observedAt" in raw:
        parse_datetime(raw["observedAt"], f"observedAt of {name}")
        out["observedAt"] = raw["observedAt"]
    if "unitCode" in raw:
        if not isinstance(raw["unitCode"], str) or not 0 < len(raw["unitCode"]) <= 20:
            raise BadRequestData(f"{name}: unitCode must be a short text (UN/CEFACT code)")
        out["unitCode"] = raw["unitCode"]
    if "datasetId" in raw:
        raise BadRequestData(f"{name}: multi-attributes (datasetId) are not supported here")
    for key, sub in raw.items():
        if key in MEMBERS or key == "@context":
            continue
        check_name(key, "sub-attribute name")
        out[ctx.expand(key)] = attribute(key, sub, ctx, at=at, geo_names=set())
    out["createdAt"] = at
    out["modifiedAt"] = at
    return out


def entity_type(raw: Any, ctx: Context) -> str:
    types = raw if isinstance(raw, list) else [raw]
    if len(types) != 1:
        raise BadRequestData("An entity has one type here (multi-typed entities are not supported)")
    return ctx.expand(check_name(types[0], "entity type"))


def attributes_in(
    payload: dict[str, Any], ctx: Context, *, at: str, geo_names: set[str]
) -> dict[str, dict[str, Any]]:
    """The attributes of an entity (or attribute fragment) body, expanded and checked."""
    out: dict[str, dict[str, Any]] = {}
    for key, raw in payload.items():
        if key in ENTITY_MEMBERS:
            continue
        check_name(key)
        iri = ctx.expand(key)
        out[iri] = attribute(key, raw, ctx, at=at, geo_names=geo_names)
    return out


def _value_of(attr: dict[str, Any]) -> Any:
    kind = attr.get("type")
    if kind == "Relationship":
        return attr.get("object")
    if kind == "LanguageProperty":
        return {"languageMap": attr.get("languageMap")}
    if kind == "JsonProperty":
        return {"json": attr.get("json")}
    return attr.get("value")


def attribute_out(attr: dict[str, Any], ctx: Context, *, key_values: bool, sys_attrs: bool) -> Any:
    if key_values:
        return _value_of(attr)
    out: dict[str, Any] = {}
    for key, val in attr.items():
        if key in ("createdAt", "modifiedAt"):
            if sys_attrs:
                out[key] = val
        elif key in MEMBERS:
            out[key] = val
        elif isinstance(val, dict):
            out[ctx.compact(key)] = attribute_out(val, ctx, key_values=False, sys_attrs=sys_attrs)
    return out


def entity_out(
    ident: str,
    type_iri: str,
    attrs: dict[str, Any],
    ctx: Context,
    *,
    key_values: bool = False,
    sys_attrs: bool = False,
    pick: set[str] | None = None,
    created_at: datetime | None = None,
    modified_at: datetime | None = None,
) -> dict[str, Any]:
    """An entity as a client reads it; ``pick`` keeps only those expanded attribute names."""
    out: dict[str, Any] = {"id": ident, "type": ctx.compact(type_iri)}
    for iri, attr in attrs.items():
        if pick is not None and iri not in pick:
            continue
        out[ctx.compact(iri)] = attribute_out(attr, ctx, key_values=key_values, sys_attrs=sys_attrs)
    if sys_attrs and not key_values:
        if created_at is not None:
            out["createdAt"] = stamp(created_at)
        if modified_at is not None:
            out["modifiedAt"] = stamp(modified_at)
    return out


def centre(geometry: dict[str, Any]) -> tuple[float, float] | None:
    """(latitude, longitude) of a geometry's vertex average (its point for a Point)."""
    points: list[list[float]] = []

    def walk(c: Any) -> None:
        if isinstance(c, list) and c and isinstance(c[0], int | float):
            points.append(c)
        elif isinstance(c, list):
            for item in c:
                walk(item)

    walk(geometry.get("coordinates"))
    if not points:
        return None
    return (sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points))
