"""Frictionless Table Schema for lake versions: types, column roles, adjustments, changes.

Each field carries its Table Schema ``type`` and the engine type it is stored as
(``x-storage-type``). Column roles tell later parts of the platform what a column means:
``time``, ``latitude``, ``longitude``, ``subject_key``, ``direct_identifier``,
``quasi_identifier``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _

ROLES = ("time", "latitude", "longitude", "subject_key", "direct_identifier", "quasi_identifier")

# Table Schema type -> DuckDB storage type
STORAGE = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
}

_INT = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$"
)
_NUM = re.compile(r"^(FLOAT|DOUBLE|REAL|DECIMAL.*)$")


def table_type(storage_type: str) -> str:
    """The Table Schema type of a DuckDB column type."""
    t = storage_type.upper()
    if _INT.match(t):
        return "integer"
    if _NUM.match(t):
        return "number"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t == "TIME":
        return "time"
    if t == "VARCHAR":
        return "string"
    return "unsupported"


def _guess_role(name: str, ttype: str) -> str | None:
    low = name.lower()
    if ttype == "datetime" or (ttype == "date" and low in ("date", "dato", "dag")):
        return "time"
    if low in ("lat", "latitude", "breddegrad") and ttype == "number":
        return "latitude"
    if low in ("lon", "lng", "long", "longitude", "lengdegrad") and ttype == "number":
        return "longitude"
    return None


def infer(columns: list[tuple[str, str]]) -> dict[str, Any]:
    """A Table Schema for ``(name, duckdb type)`` pairs, with suggested roles."""
    fields = []
    for name, storage in columns:
        ttype = table_type(storage)
        field: dict[str, Any] = {"name": name, "type": ttype, "x-storage-type": storage}
        role = _guess_role(name, ttype)
        if role:
            field["role"] = role
        fields.append(field)
    return {"fields": fields}


def field_names(schema: dict[str, Any]) -> list[str]:
    return [f["name"] for f in schema.get("fields", [])]


def fields_by_name(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("fields", [])}


def localized_field(field: Mapping[str, Any], locale: str | None = None) -> dict[str, Any]:
    """``field`` as a page in ``locale`` (default: the request's) shows it: a column's
    ``title``/``description`` are bokmål; English pages use ``title_en``/``description_en``
    where the schema has them (sensor streams' columns do)."""
    if (locale or current_locale()) != "en":
        return dict(field)
    english = {k: field[f"{k}_en"] for k in ("title", "description") if field.get(f"{k}_en")}
    return {**field, **english}


def localized(schema: dict[str, Any], locale: str | None = None) -> dict[str, Any]:
    """``schema`` with each field as ``localized_field`` shows it."""
    fields = [localized_field(f, locale) for f in schema.get("fields", [])]
    return {**schema, "fields": fields}


def columns_with_role(schema: dict[str, Any], role: str) -> list[str]:
    """Names of the columns that carry ``role``."""
    return [f["name"] for f in schema.get("fields", []) if f.get("role") == role]


def time_column(schema: dict[str, Any]) -> str | None:
    """The dataset's time column: the first with the ``time`` role that holds dates or
    times, else the first datetime column. Reads without ``_sort`` come in its order."""
    fields = schema.get("fields", [])
    for f in fields:
        if f.get("role") == "time" and f.get("type") in ("datetime", "date"):
            return str(f["name"])
    for f in fields:
        if f.get("type") == "datetime":
            return str(f["name"])
    return None


def storage_type(field: dict[str, Any]) -> str:
    return str(field.get("x-storage-type") or STORAGE.get(field["type"], "VARCHAR"))


ADJUSTABLE = ("type", "format", "unit", "description", "title", "role")


def adjust(
    schema: dict[str, Any], changes: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply the publisher's ``changes`` (``{"fields": [{"name": ..., "type": ...}],
    "primaryKey": "column"}``).

    Returns the new schema and a list of errors (each with ``field`` and ``message``).
    """
    errors: list[dict[str, Any]] = []
    by_name = {f["name"]: dict(f) for f in schema.get("fields", [])}
    for i, change in enumerate(changes.get("fields", [])):
        if not isinstance(change, dict) or change.get("name") not in by_name:
            errors.append({"field": f"fields[{i}].name", "message": _("There is no such column.")})
            continue
        field = by_name[change["name"]]
        for key, value in change.items():
            if key == "name":
                continue
            if key not in ADJUSTABLE:
                errors.append(
                    {"field": f"fields[{i}].{key}", "message": _("This cannot be changed.")}
                )
            elif key == "type":
                if value not in STORAGE:
                    errors.append(
                        {"field": f"fields[{i}].type", "message": _("This type is not known.")}
                    )
                elif value != field["type"]:
                    field["type"] = value
                    field["x-storage-type"] = STORAGE[value]
            elif key == "role":
                if value in (None, ""):
                    field.pop("role", None)
                elif value not in ROLES:
                    errors.append(
                        {"field": f"fields[{i}].role", "message": _("This role is not known.")}
                    )
                else:
                    field["role"] = value
            elif value in (None, ""):
                field.pop(key, None)
            elif not isinstance(value, str) or len(value) > 2000:
                errors.append(
                    {"field": f"fields[{i}].{key}", "message": _("Give at most 2000 characters.")}
                )
            else:
                field[key] = value
    out = {**schema, "fields": [by_name[f["name"]] for f in schema.get("fields", [])]}
    if "primaryKey" in changes:  # the unique key column (checked against the rows on publish)
        key = changes["primaryKey"]
        if key in (None, "", []):
            out.pop("primaryKey", None)
        elif not isinstance(key, str) or key not in by_name:
            errors.append({"field": "primaryKey", "message": _("There is no such column.")})
        else:
            out["primaryKey"] = key
    for role in ("time", "latitude", "longitude"):
        for name in columns_with_role(out, role):
            ttype = by_name[name]["type"]
            ok = ttype in ("date", "datetime") if role == "time" else ttype == "number"
            if not ok:
                message = _("The role %(role)s needs a column of another type.") % {"role": role}
                errors.append({"field": name, "message": message})
    return out, errors


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two schemas: added, removed and retyped columns."""
    if old is None:
        return []
    before, after = fields_by_name(old), fields_by_name(new)
    out: list[dict[str, Any]] = []
    for name in after:
        if name not in before:
            out.append({"change": "added", "column": name, "type": after[name]["type"]})
        elif before[name]["type"] != after[name]["type"]:
            out.append(
                {
                    "change": "retyped",
                    "column": name,
                    "from": before[name]["type"],
                    "to": after[name]["type"],
                }
            )
    out += [{"change": "removed", "column": n} for n in before if n not in after]
    return out
