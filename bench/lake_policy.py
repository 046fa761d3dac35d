"""Two row-query sections of the data-plane benchmark (``bench/lake.py`` runs them on the
same 1M-row dataset and servers as its row queries):

* **default order**: an equality filter and a time range *without* ``_sort`` — the dataset's
  default order is its time column, which the row index serves with the same seeks as
  ``_sort=ts`` — against Datasette asked for the same rows;
* **policy cost**: the same read without a row policy and under one that hides two columns
  and filters rows, in process through the gate's pipeline, once for a read the row index
  serves and once for one DuckDB answers (target ≤ 1.2×).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

DEFAULT_ORDER_QUERY = (
    "station=HAL-007&ts__gte=2025-03-01T00:00:00&ts__lt=2025-06-01T00:00:00&_size=50"
)
POLICY_ROUNDS, POLICY_READS = 7, 150
POLICY_QUERIES = (
    ("row index", "station=HAL-007&no2__gt=20&_sort=ts&_size=50"),
    ("DuckDB", "no2__gt=99&_size=50"),
)


def default_order(
    platform: Any,  # bench.lake.Platform
    datasette: Any,  # bench.lake.DatasetteServer
    wrk: Any,
    seconds: int,
    wait_row_index: Any,
) -> list[str]:
    """Requests/s of a key filter and a time range without ``_sort`` (Datatorg's default
    order, the time column) vs Datasette asked for the same rows with ``_sort=ts`` (its own
    default order is the rowid)."""
    query = DEFAULT_ORDER_QUERY
    ours_url = f"{platform.url}/api/v1/datasets/page/rows?{query}"
    # the SQLite copy holds times as ISO text with a space (as Datasette users have them)
    theirs_query = query.replace("T00:00:00", "%2000:00:00")
    theirs_url = (
        f"{datasette.url}/page/readings.json?{theirs_query}&_sort=ts"
        "&_nocount=1&_nofacet=1&_nosuggest=1"
    )
    ours_rows = httpx.get(ours_url, timeout=60).json()["rows"]
    _, served = wait_row_index(platform, query)
    theirs_rows = httpx.get(theirs_url, timeout=60).json()["rows"]
    assert ours_rows and [r[0] for r in ours_rows] == [r[1] for r in theirs_rows], "rows differ"
    wrk(ours_url, 3)  # warm up
    wrk(theirs_url, 3)
    rounds = [(wrk(ours_url, seconds), wrk(theirs_url, seconds)) for _ in range(3)]
    ours_rps = statistics.median(o for o, _ in rounds)
    theirs_rps = statistics.median(t for _, t in rounds)
    per_round = ", ".join(f"{o:.0f} vs {t:.0f}" for o, t in rounds)
    return [
        f"### Row queries in the default order: `{query}` (no `_sort`), 16 connections "
        f"(wrk, 3 alternating rounds of {seconds} s; medians)",
        "",
        "| server | requests/s |",
        "|---|---|",
        "| Datatorg (default order = the time column; the row index "
        f"{'serves it' if served else 'does NOT serve it'}) | {ours_rps:.0f} |",
        f"| Datasette 0.65 (same rows, `_sort=ts`) | {theirs_rps:.0f} |",
        "",
        f"**Ratio: {ours_rps / theirs_rps:.2f}× Datasette's requests/s** (target ≥ 1.5×). "
        f"Rounds (Datatorg vs Datasette): {per_round}.",
        "",
    ]


def policy_cost(platform: Any) -> list[str]:
    """Milliseconds per read without a policy and under one (hide ``id`` and ``pm10``, keep
    rows with ``pm10 < 250``), in process against the platform's control plane and lake,
    alternating rounds, medians. Timed: the pipeline's decision, policy, parsing and engine
    (``begin``, ``parse``, ``engines.fetch``); the audit record is the same for both and
    left out. The engine that served each read is counted, not assumed."""
    from datatorg.access import engines, pipeline
    from datatorg.access import policy as rowpolicy
    from datatorg.db.engine import make_engine, make_sessionmaker
    from datatorg.identity import service as identity
    from datatorg.identity.models import User
    from datatorg.lake import reader
    from datatorg.lake import service as lake
    from datatorg.settings import Settings

    settings = Settings(
        database_url=platform.env["DATATORG_DATABASE_URL"],
        lake_path=Path(platform.env["DATATORG_LAKE_PATH"]),
        query_time_budget_ms=600_000,
    )
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as s:
        facts, version = lake.dataset_for_read(session=s, ref="page")
        user = s.query(User).filter_by(email="b@bench.no").one()
        actor = identity.actor_for_user(session=s, user=user)
    part = rowpolicy.PolicyPart(
        hide=frozenset({"id", "pm10"}),
        row_filters=(rowpolicy.RowFilter("pm10", "lt", (250,)),),
    )
    index_reads = [0]
    real_query_index = reader.query_index

    def counting(*args: Any, **kwargs: Any) -> Any:
        index_reads[0] += 1
        return real_query_index(*args, **kwargs)

    reader.query_index = counting  # type: ignore[assignment]

    def run(items: list[tuple[str, str]], with_policy: bool) -> tuple[float, int]:
        before = index_reads[0]
        t0 = time.perf_counter()
        for _ in range(POLICY_READS):
            with factory() as s:
                r = pipeline.begin(
                    session=s,
                    settings=settings,
                    actor=actor,
                    dataset=facts,
                    channel="bench",
                    head_version=version,
                )
                r.policy = rowpolicy.build(
                    schema=r.head.schema,
                    identifiers=True,
                    allowed_columns=None,
                    parts=[part] if with_policy else [],
                )
                page = engines.fetch(r, r.parse(s, items))
                assert page.rows
        return (time.perf_counter() - t0) / POLICY_READS, index_reads[0] - before

    out = []
    try:
        for label, query in POLICY_QUERIES:
            items = parse_qsl(query)
            run(items, False), run(items, True)  # warm up
            rounds = [(run(items, False), run(items, True)) for _ in range(POLICY_ROUNDS)]
            base = statistics.median(b for (b, _), _ in rounds)
            pol = statistics.median(p for _, (p, _) in rounds)
            by_index = sum(n_base + n_pol for (_, n_base), (_, n_pol) in rounds)
            out.append((label, query, base, pol, by_index, 2 * POLICY_ROUNDS * POLICY_READS))
    finally:
        reader.query_index = real_query_index  # type: ignore[assignment]
    lines = [
        f"### Policy cost: a read under a row policy vs the same read without (in process, "
        f"{POLICY_ROUNDS} alternating rounds of {POLICY_READS} reads; medians)",
        "",
        "The policy hides two columns (`id`, `pm10`) and keeps rows with `pm10 < 250`, a"
        " column the reader does not see: what agreement terms, consent and restriction add"
        " to a read.",
        "",
        "| engine | query | ms per read, no policy | ms per read, policy | ratio | reads the"
        " row index served |",
        "|---|---|---|---|---|---|",
    ]
    for label, query, base, pol, by_index, total in out:
        lines.append(
            f"| {label} | `{query}` | {base * 1000:.2f} | {pol * 1000:.2f} | "
            f"{pol / base:.2f}× | {by_index} of {total} |"
        )
    worst = max(p / b for _, _, b, p, _, _ in out)
    lines += ["", f"**Worst ratio: {worst:.2f}×** (target ≤ 1.2×).", ""]
    return lines
