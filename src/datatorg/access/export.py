"""Downloads through the gate: the filtered rows written to a file in one format.

CSV and XLSX neutralise spreadsheet formulas; the read is decided, capped by any row quota
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
from datatorg.access.service import audit_read, lake_fields, prepare
from datatorg.catalog.models import Dataset
from datatorg.errors import Invalid
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.settings import Settings

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575


def _neutralised(col: str) -> str:
    c = query.qi(col)
    return (
        f"CASE WHEN left({c}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN chr(39) || {c} ELSE {c} END AS {c}"
    )


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

    CSV and XLSX neutralise spreadsheet formulas: text cells starting with = + - @ get a
    leading apostrophe. There is no row cap (downloads stream any size) unless ``_size``.
    """
    channel = f"download.{fmt}"
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
    if fmt in ("csv", "xlsx"):
        cols = [_neutralised(n) if n in texts else query.qi(n) for n in names]
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
