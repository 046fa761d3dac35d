"""Downloads through the gate: the filtered rows written to a file in one format.

CSV and XLSX neutralise spreadsheet formulas (the formula rule, ``neutralise``: the one
place that decides it); the read is decided, capped by any row quota
and audited by ``datatorg.access.service`` like every other read.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import query
from datatorg.access import sql as sqlgen
from datatorg.access.query import bad
from datatorg.access.service import audit_read, lake_fields, prepare
from datatorg.catalog.models import Dataset
from datatorg.errors import Invalid
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.settings import Settings

XLSX_MAX_ROWS = 1_048_575

# The formula rule: the one place that says which text a spreadsheet might run. Uploads store
# cell text as published; CSV and XLSX downloads pass every text cell through this rule, and
# JSON, NDJSON and Parquet give the stored value. The characters are OWASP's list for CSV
# injection: = + - @ tab and carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet will show it and never run it: a leading ``'`` when it
    starts like a formula (``FORMULA_PREFIXES``), else unchanged."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def neutralise_sql(column: str) -> str:
    """The same rule as ``neutralise``, as a DuckDB expression over the text ``column``."""
    c = query.qi(column)
    starts = ", ".join(f"chr({ord(p)})" for p in FORMULA_PREFIXES)
    return f"CASE WHEN left({c}, 1) IN ({starts}) THEN chr(39) || {c} ELSE {c} END"


def export(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: Dataset,
    items: list[tuple[str, str]],
    fmt: str,
    target: Path,
) -> int:
    """Write a download of the filtered rows to ``target`` and audit it; returns rows written.

    CSV and XLSX pass text cells through the formula rule (``neutralise``); the other formats
    give the stored value. There is no row cap (downloads stream any size) unless ``_size``.
    """
    channel = f"download.{fmt}"
    for key, _value in items:
        if key in ("_shape", "_nl"):  # they shape pages of the rows API, not files
            raise bad(key, "downloads have their own formats: csv, json, ndjson, parquet, xlsx")
    p = prepare(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=channel,
        max_size=2**62,
    )
    if not any(k == "_size" for k, _ in items) and p.decision.row_budget is None:
        p.q.size = 2**62 - 2
    if p.q.is_aggregate:
        inner, binds = sqlgen.build_aggregate(p.q, p.source)
        names = list(p.q.group_by) + (["bucket"] if p.q.bucket else [])
        names += [a.alias for a in p.q.aggs]
    else:
        inner, binds = sqlgen.build_rows(p.q, p.source, p.prefix)
        names = list(p.q.columns)
    fields = lake_fields(p.schema)
    texts = {n for n in names if fields.get(n, {}).get("type") == "string"}
    if fmt in ("csv", "xlsx"):  # header and text cells through the formula rule
        cols = [
            f"{neutralise_sql(n) if n in texts else query.qi(n)} AS {query.qi(neutralise(n))}"
            for n in names
        ]
    else:
        cols = [query.qi(n) for n in names]
    sql = f"SELECT {', '.join(cols)} FROM ({inner}) AS page"
    budget = settings.query_time_budget_ms * 6
    try:
        if fmt == "xlsx":
            rows = _write_xlsx(sql, binds, target, budget)
        else:
            rows = reader.copy_to(sql, binds, target, fmt, budget_ms=budget)
    except reader.QueryTimeout as exc:
        raise Invalid(str(exc) + "; add filters") from None
    audit_read(
        session,
        actor,
        dataset,
        p.decision,
        channel,
        rows,
        p.version,
        p.q.is_aggregate,
        target.stat().st_size if target.exists() else 0,
    )
    return rows


def _write_xlsx(sql: str, binds: list[Any], target: Path, budget_ms: int) -> int:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    rows = 0
    header = False
    for columns, batch in reader.stream(sql, binds, budget_ms=budget_ms):
        if not header:
            ws.append(columns)
            header = True
        for r in batch:
            rows += 1
            if rows > XLSX_MAX_ROWS:
                raise Invalid("Too many rows for Excel; download CSV or Parquet instead")
            ws.append([_xlsx_value(v) for v in r])
    if not header:
        ws.append(["(no rows)"])
    wb.save(target)
    return rows


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    if isinstance(v, Decimal):
        return float(v)
    return v
