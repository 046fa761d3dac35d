"""Downloads through the gate: the filtered rows written to a file in one format.

CSV and XLSX neutralise spreadsheet formulas (the formula rule, ``neutralise``: the one
place that decides it); the read goes through the gate's pipeline (``access/pipeline.py``)
like every other: decided, held to the policy and the quota, audited.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import pipeline, query
from datatorg.access import sql as sqlgen
from datatorg.access.query import bad
from datatorg.catalog.models import DatasetRef
from datatorg.errors import Invalid
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.settings import Settings

XLSX_MAX_ROWS = 1_048_575
WHOLE = 2**62  # "no row cap": a download streams every matching row


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
    dataset: DatasetRef,
    items: list[tuple[str, str]],
    fmt: str,
    target: Path,
    subject_keys: frozenset[str] | None = None,
    channel: str | None = None,
) -> int:
    """Write a download of the filtered rows to ``target`` through the gate's pipeline and
    record it; returns the rows written.

    CSV and XLSX pass text cells through the formula rule (``neutralise``); the other formats
    give the stored value. There is no row cap (downloads stream any size) unless ``_size``;
    the file holds at most ``_size`` rows and never more than a row quota has left.
    ``subject_keys``: a data subject's own rows (see ``service.read_subject_rows``).
    """
    items, stated = pipeline.split_stated(items)
    r = pipeline.begin(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel or f"download.{fmt}",
        purpose=stated.purpose,
        agreement_id=stated.agreement_id,
        subject_keys=subject_keys,
    )
    q = r.parse(session, items, max_size=WHOLE)
    for key, _value in items:
        if key in ("_shape", "_nl"):  # they shape pages of the rows API, not files
            raise bad(key, "downloads have their own formats: csv, json, ndjson, parquet, xlsx")
    if not any(k == "_size" for k, _ in items):
        q.size = WHOLE
    pipeline.reserve(session, r, q)
    if q.is_aggregate:
        inner, binds = sqlgen.build_aggregate(q, r.source, r.policy, probe=False)
        names = list(q.group_by) + (["bucket"] if q.bucket else [])
        names += [a.alias for a in q.aggs]
    else:
        inner, binds = sqlgen.build_rows(q, r.source, r.prefix, r.policy, probe=False)
        names = list(q.columns)
    fields = {str(f["name"]): f for f in r.policy.fields}
    texts = {n for n in names if fields.get(n, {}).get("type") == "string"}
    if fmt in ("csv", "xlsx"):  # header and text cells through the formula rule
        cols = [
            f"{neutralise_sql(n) if n in texts else query.qi(n)} AS {query.qi(neutralise(n))}"
            for n in names
        ]
    else:
        cols = [query.qi(n) for n in names]
    sql = f"SELECT {', '.join(cols)} FROM ({inner}) AS page"
    if q.is_aggregate and q.min_group is not None:  # not the empty row of a suppressed answer
        sql += f" WHERE page.{query.qi(sqlgen.GROUP_N)} IS NOT NULL"
    budget = settings.query_time_budget_ms * 6
    try:
        try:
            if fmt == "xlsx":
                rows = _write_xlsx(sql, binds, target, budget)
            else:
                rows = reader.copy_to(sql, binds, target, fmt, budget_ms=budget)
        except reader.QueryTimeout as exc:
            raise Invalid(str(exc) + "; add filters") from None
    except BaseException:
        pipeline.release(session, r)
        raise
    size = target.stat().st_size if target.exists() else 0
    keys = None
    if r.policy.ledger and not q.is_aggregate:  # the subject keys of the rows in the file
        found = reader.query(
            f"SELECT DISTINCT __k FROM ({inner}) AS page WHERE __k IS NOT NULL",
            binds,
            cap=rows + 1,
            budget_ms=budget,
        )
        keys = frozenset(str(k) for (k,) in found.rows)
    pipeline.record(session, r, rows, size, q.is_aggregate, keys)
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
