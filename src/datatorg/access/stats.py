"""Column statistics under a read's policy: nulls, distinct values, min/max and a histogram.

``compute`` is the engine part (DuckDB, through the policy: transformed columns as the reader
sees them, the row predicate in every statement); ``column_stats`` is a whole read through
the pipeline (the ``/stats`` JSON twin). The data page computes them inside its own read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import cursor, pipeline
from datatorg.access import sql as sqlgen
from datatorg.catalog.models import DatasetRef
from datatorg.errors import Invalid
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


def compute(r: pipeline.Read) -> tuple[int, list[ColumnStats]]:
    """Row count and per-column statistics of the read's version, as its policy shows it."""
    pol = r.policy
    fields = {str(f["name"]): f for f in pol.fields}
    cols = pol.columns
    conds, binds = sqlgen.predicate(pol)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    parts = ["count(*)"]
    for c in cols:
        e = sqlgen.column(pol, c)
        parts += [f"count({e})", f"approx_count_distinct({e})", f"min({e})", f"max({e})"]
    budget = r.settings.query_time_budget_ms
    try:
        row = reader.query(
            f"SELECT {', '.join(parts)} FROM {r.source}{where}", binds, cap=1, budget_ms=budget
        )
        values = row.rows[0]
        total = int(values[0])
        out: list[ColumnStats] = []
        for i, c in enumerate(cols):
            cnt, distinct, lo, hi = values[1 + 4 * i : 5 + 4 * i]
            out.append(
                ColumnStats(
                    name=c,
                    type=str(fields[c]["type"]),
                    role=fields[c].get("role"),
                    count=int(cnt),
                    nulls=total - int(cnt),
                    distinct=int(distinct),
                    min=cursor.plain(lo),
                    max=cursor.plain(hi),
                )
            )
        if r.min_group is not None:  # personal data, not the owner: min and max are one
            for s in out:  # row's value, and a histogram's bins small groups
                s.min = s.max = None
        numeric = [s for s in out if s.type in ("integer", "number") and s.min is not None]
        for s in numeric[:MAX_HISTOGRAMS]:
            lo, hi = float(s.min), float(s.max)
            width = (hi - lo) / BINS or 1.0
            e = sqlgen.column(pol, s.name)
            res = reader.query(
                f"SELECT b, count(*) FROM (SELECT least(CAST(floor(({e} - ?) / ?) AS BIGINT), "
                f"{BINS - 1}) AS b FROM {r.source} WHERE {e} IS NOT NULL"
                + "".join(f" AND {c}" for c in conds)
                + ") GROUP BY b ORDER BY b",
                [lo, width, *binds],
                cap=BINS + 1,
                budget_ms=budget,
            )
            counts = [0] * BINS
            for b, n in res.rows:
                counts[int(b)] = int(n)
            s.histogram = counts
    except reader.QueryTimeout as exc:
        raise Invalid(str(exc) + "; the statistics took too long") from None
    return total, out


def column_stats(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    stated: pipeline.Stated | None = None,
) -> tuple[int, list[ColumnStats]]:
    """Row count and per-column statistics of the current version: one audited read.
    ``stated``: the purpose and the chosen agreement, as on the rows API."""
    stated = stated or pipeline.Stated()
    r = pipeline.begin(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel="stats",
        purpose=stated.purpose,
        agreement_id=stated.agreement_id,
    )
    pipeline.reserve(session, r, None, rows=0)
    try:
        total, out = compute(r)
    except BaseException:
        pipeline.release(session, r)
        raise
    pipeline.record(session, r, len(out), 0, aggregate=True)
    return total, out
