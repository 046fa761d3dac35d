"""Column statistics through the gate: nulls, distinct values, min/max and a histogram."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import cursor, query, service
from datatorg.catalog.models import Dataset
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.settings import Settings

BINS = 10
MAX_HISTOGRAMS = 8


@dataclass
class ColumnStats:
    name: str
    type: str
    role: str | None
    count: int
    nulls: int
    distinct: int
    min: Any
    max: Any
    histogram: list[int] = field(default_factory=list)


def column_stats(
    *, session: Session, settings: Settings, actor: Actor, dataset: Dataset
) -> tuple[int, list[ColumnStats]]:
    """Row count and per-column statistics of the current version (one audited read)."""
    p = service.prepare(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=[("_agg", "count")],
        channel="stats",
    )
    fields = service.lake_fields(p.schema)
    allowed = p.decision.allowed_columns
    cols = [c for c in p.q.columns if allowed is None or c in allowed]
    parts = ["count(*)"]
    for c in cols:
        qc = query.qi(c)
        parts += [f"count({qc})", f"approx_count_distinct({qc})", f"min({qc})", f"max({qc})"]
    budget = settings.query_time_budget_ms
    row = reader.query(f"SELECT {', '.join(parts)} FROM {p.source}", [], cap=1, budget_ms=budget)
    values = row.rows[0]
    total = int(values[0])
    out: list[ColumnStats] = []
    for i, c in enumerate(cols):
        cnt, distinct, lo, hi = values[1 + 4 * i : 5 + 4 * i]
        out.append(
            ColumnStats(
                name=c,
                type=fields[c]["type"],
                role=fields[c].get("role"),
                count=int(cnt),
                nulls=total - int(cnt),
                distinct=int(distinct),
                min=cursor.plain(lo),
                max=cursor.plain(hi),
            )
        )
    numeric = [s for s in out if s.type in ("integer", "number") and s.min is not None]
    for s in numeric[:MAX_HISTOGRAMS]:
        lo, hi = float(s.min), float(s.max)
        width = (hi - lo) / BINS or 1.0
        qc = query.qi(s.name)
        res = reader.query(
            f"SELECT b, count(*) FROM (SELECT least(CAST(floor(({qc} - ?) / ?) AS BIGINT), "
            f"{BINS - 1}) AS b FROM {p.source} WHERE {qc} IS NOT NULL) GROUP BY b ORDER BY b",
            [lo, width],
            cap=BINS + 1,
            budget_ms=budget,
        )
        counts = [0] * BINS
        for b, n in res.rows:
            counts[int(b)] = int(n)
        s.histogram = counts
    service.audit_read(
        session, actor, dataset, p.decision, "stats", total, p.version, aggregate=True
    )
    return total, out
