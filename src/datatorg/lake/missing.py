"""Statistical missing-value markers in uploads (Frictionless Table Schema ``missingValues``).

Statistics Norway writes a cell it cannot give a number for with a marker: ``..`` (data not
available), ``.`` (not applicable: logically impossible), ``:`` (confidential), ``-`` (nil).
A column of numbers with such markers would otherwise be read as text. At upload,
``propose`` finds the text columns that are numbers except for these markers (and empty
cells) and counts the cells each marker covers; the review step shows the proposal, and
``accept`` applies the markers the publisher keeps: those columns become numeric, the
markers are stored as nulls (the writer maps them), and the Table Schema records
``missingValues``, so downloads write nulls and ``datapackage.json`` carries the markers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake.ingest_common import lit, quote_ident
from datatorg.web.i18n import gettext as _

MARKERS = ("..", ".", ":", "-")
DECIMAL_COMMA = "x-decimal-comma"  # on a staged field: its numbers are written 3,5
_INT = r"\s*[+-]?[0-9]+\s*"
_DEC_POINT = r"\s*[+-]?[0-9]+(\.[0-9]+)?\s*"
_DEC_COMMA = r"\s*[+-]?[0-9]+(,[0-9]+)?\s*"
_LEADING_ZERO = r"\s*[+-]?0[0-9]+\s*"  # codes such as 0301 stay text


def meaning(marker: str) -> str:
    """What Statistics Norway means by ``marker``, in the request's language."""
    return {
        "..": _("data not available"),
        ".": _("logically impossible"),
        ":": _("withheld as confidential"),
        "-": _("nil (zero)"),
    }.get(marker, marker)


def propose(con: duckdb.DuckDBPyConnection, staged: Path, delim: str) -> dict[str, Any] | None:
    """The columns of ``staged`` that are numbers except for markers, with counts; None when
    there are none. One pass finds the text columns holding a marker; only those are read
    again."""
    src = f"read_parquet({lit(str(staged))})"
    rel = con.sql(f"SELECT * FROM {src}")
    texts = [str(n) for n, t in zip(rel.columns, rel.types, strict=True) if str(t) == "VARCHAR"]
    if not texts:
        return None
    markers = ", ".join(lit(m) for m in MARKERS)
    hits = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE trim({quote_ident(c)}) IN ({markers}))" for c in texts)
        + f" FROM {src}"
    ).fetchall()[0]
    comma_ok = delim in (";", "\t")
    columns: dict[str, Any] = {}
    for name, found in zip(texts, hits, strict=True):
        if found:
            seen = _column(con, src, name, comma_ok)
            if seen is not None:
                columns[name] = seen
    if not columns:
        return None
    cells = {m: sum(c["cells"].get(m, 0) for c in columns.values()) for m in MARKERS}
    cells = {m: n for m, n in cells.items() if n}
    return {"markers": cells, "columns": columns, "proposed": list(cells)}


def _column(
    con: duckdb.DuckDBPyConnection, src: str, name: str, comma_ok: bool
) -> dict[str, Any] | None:
    col = quote_ident(name)
    value = f"trim({col})"
    marker_counts = ", ".join(f"count(*) FILTER (WHERE {value} = {lit(m)})" for m in MARKERS)
    number = _DEC_COMMA if comma_ok else _DEC_POINT
    other = (
        f"{col} IS NOT NULL AND {value} <> '' AND {value} NOT IN "
        f"({', '.join(lit(m) for m in MARKERS)})"
    )
    row = con.execute(
        f"SELECT {marker_counts}, "
        f"count(*) FILTER (WHERE {other} AND NOT regexp_full_match({col}, ?)), "
        f"count(*) FILTER (WHERE {other}), "
        f"count(*) FILTER (WHERE {other} AND NOT regexp_full_match({col}, ?)), "
        f"count(*) FILTER (WHERE {other} AND contains({col}, ',')), "
        f"count(*) FILTER (WHERE {other} AND regexp_full_match({col}, ?)) "
        f"FROM {src}",
        [number, _INT, _LEADING_ZERO],
    ).fetchall()[0]
    counts, (not_numbers, numbers, not_integers, commas, leading_zeros) = row[:4], row[4:]
    if not_numbers or not numbers or leading_zeros:
        return None
    return {
        "type": "number" if not_integers else "integer",
        "decimal_comma": bool(commas),
        "cells": {m: int(n) for m, n in zip(MARKERS, counts, strict=True) if n},
    }


def mark_staged(schema: dict[str, Any], proposal: dict[str, Any] | None) -> None:
    """Note on the staged schema which proposed columns write decimals with a comma."""
    if not proposal:
        return
    for field in schema.get("fields", []):
        if proposal["columns"].get(field["name"], {}).get("decimal_comma"):
            field[DECIMAL_COMMA] = True


def accept(
    schema: dict[str, Any], proposal: dict[str, Any] | None, accepted: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``schema`` with the publisher's ``accepted`` markers: ``missingValues`` recorded and
    every proposed column whose markers are all accepted made numeric (unless the publisher
    gave it another type)."""
    errors: list[dict[str, Any]] = []
    found = set((proposal or {}).get("markers", {}))
    if not isinstance(accepted, list) or not all(isinstance(m, str) for m in accepted):
        message = _("Give a list of markers.")
        return schema, [{"field": "missingValues", "message": message}]
    chosen = [m for m in dict.fromkeys(accepted) if m != ""]
    for marker in chosen:
        if marker not in found:
            message = _("The marker %(marker)s is not in this file.") % {
                "marker": repr(marker[:10])
            }
            errors.append({"field": "missingValues", "message": message})
    if errors:
        return schema, errors
    out = {**schema, "fields": [dict(f) for f in schema.get("fields", [])]}
    if not chosen:
        out.pop("missingValues", None)
        return out, []
    out["missingValues"] = ["", *chosen]
    for field in out["fields"]:
        seen = (proposal or {}).get("columns", {}).get(field["name"])
        if seen and set(seen["cells"]) <= set(chosen) and field["type"] == "string":
            field["type"] = seen["type"]
            field["x-storage-type"] = "BIGINT" if seen["type"] == "integer" else "DOUBLE"
    return out, []


def published(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as a version records it (without the staging notes)."""
    return {
        **schema,
        "fields": [
            {k: v for k, v in f.items() if k != DECIMAL_COMMA} for f in schema.get("fields", [])
        ],
    }


def stored_value(
    column: str, source: dict[str, Any], field: dict[str, Any], target: dict[str, Any]
) -> str:
    """The SQL of the staged cell ``column`` (staged field ``source``) as it is stored as
    ``field`` of ``target``: for a text column that becomes numeric, a marker the schema
    lists becomes null and a decimal comma a point."""
    col = quote_ident(column)
    markers = [m for m in target.get("missingValues", []) if m]
    text = source.get("x-storage-type", "VARCHAR") == "VARCHAR"
    if not markers or not text or field.get("type") not in ("integer", "number"):
        return col
    listed = ", ".join(lit(m) for m in markers)
    expr = f"CASE WHEN trim({col}) IN ({listed}) THEN NULL ELSE trim({col}) END"
    if source.get(DECIMAL_COMMA):
        expr = f"replace({expr}, ',', '.')"
    return expr
