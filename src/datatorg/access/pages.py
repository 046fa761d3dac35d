"""The dataset's data page: preview with filters that map to the API, statistics, charts.

Everything is rendered on the server (tables and SVG charts) and works without JavaScript.
Its JSON twins are the rows API (the page links the exact URL) and ``/stats``. A view of the
page is one read through the gate's pipeline: the preview, the statistics and the charts are
queries of that one read (one decision and policy, one metered call, one audit record).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from datatorg.access import charts, engines, pipeline, query, service, stats
from datatorg.catalog.models import DatasetRef
from datatorg.errors import Forbidden, Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.lake import policies as lake_policies
from datatorg.lake import service as lake
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(tags=["data pages"])

PAGE_KEYS = {"y", "_fc", "_fo", "_fv"}  # page-only parameters, not passed to the API
PREVIEW_SIZE = "25"


def _api_items(request: Request) -> list[tuple[str, str]]:
    """The API parameters of the page's URL; the filter form's three fields become one."""
    params = request.query_params
    items = [(k, v) for k, v in params.multi_items() if k not in PAGE_KEYS and v]
    col, op, value = params.get("_fc"), params.get("_fo", "exact"), params.get("_fv")
    if col and value is not None and value != "":
        items.append((f"{col}__{op}" if op != "exact" else col, value))
    return items


def _numeric(schema: dict[str, Any], visible: list[str]) -> list[str]:
    return [
        f["name"]
        for f in schema.get("fields", [])
        if f["name"] in visible
        and f["type"] in ("integer", "number")
        and f.get("role") not in ("latitude", "longitude")
    ]


def _chart_data(session: Session, r: pipeline.Read, y: str | None) -> list[dict[str, Any]]:
    """The page's charts, each one query of the page's read (``r``)."""
    schema, visible = r.policy.schema, r.policy.columns
    numeric = _numeric(schema, visible)
    if not numeric:
        return []
    col = y if y in numeric else numeric[0]
    out: list[dict[str, Any]] = []
    times = [c for c in lake.columns_with_role(schema, "time") if c in visible]
    ds = r.dataset

    def run(items: list[tuple[str, str]]) -> engines.Page:
        return engines.fetch(r, r.parse(session, items))

    if times:
        page = run([("_bucket", f"day:{times[0]}"), ("_agg", f"avg({col})"), ("_size", "2000")])
        points = [(str(row[0])[:10], row[1]) for row in page.rows]
        if len(points) > 400:  # long series: weekly means are easier to read
            page = run(
                [("_bucket", f"week:{times[0]}"), ("_agg", f"avg({col})"), ("_size", "2000")]
            )
            points = [(str(row[0])[:10], row[1]) for row in page.rows]
        title = _("Average of %(col)s over time") % {"col": col}
        out.append(
            {
                "title": title,
                "svg": charts.line_chart(points, title, "chart-time"),
                "rows": points,
                "x": times[0],
                "y": col,
                "api": _api_url(ds, page_items(times[0], col)),
            }
        )
    strings = [
        f["name"]
        for f in schema.get("fields", [])
        if f["name"] in visible and f["type"] == "string" and not f.get("role")
    ]
    if strings:
        page = run(
            [
                ("_group_by", strings[0]),
                ("_agg", f"avg({col})"),
                ("_sort_desc", f"avg_{col}"),
                ("_size", "20"),
            ]
        )
        bars = [(str(row[0]), row[1]) for row in page.rows]
        title = _("Average of %(col)s by %(group)s") % {"col": col, "group": strings[0]}
        out.append(
            {
                "title": title,
                "svg": charts.bar_chart(bars, title, "chart-bars"),
                "rows": bars,
                "x": strings[0],
                "y": col,
                "api": _api_url(ds, [("_group_by", strings[0]), ("_agg", f"avg({col})")]),
            }
        )
    return out


def page_items(time_col: str, col: str) -> list[tuple[str, str]]:
    return [("_bucket", f"day:{time_col}"), ("_agg", f"avg({col})")]


def _api_url(ds: DatasetRef, items: list[tuple[str, str]]) -> str:
    base = f"/api/v1/datasets/{ds.slug}/rows"
    return base + ("?" + urlencode(items) if items else "")


def _sort_link(request: Request, col: str, current: list[tuple[str, str]]) -> str:
    items = [(k, v) for k, v in current if k not in ("_sort", "_sort_desc", "_next")]
    desc = ("_sort", col) in current
    items.append(("_sort_desc" if desc else "_sort", col))
    return f"{request.url.path}?{urlencode(items)}"


@router.get("/datasets/{ref}/data", dependencies=[perm.GATE])
def data_page(
    ref: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Preview, statistics and charts of the dataset's current version: one read through
    the gate (one decision, one policy, one metered view, one audit record)."""
    ds = service.get_dataset(session=session, ref=ref)
    items, purpose = pipeline.split_purpose(_api_items(request))
    if not any(k == "_size" for k, _v in items):
        items.append(("_size", PREVIEW_SIZE))
    ctx: dict[str, Any] = {"ds": ds, "head": None, "error": None, "page": None}
    ctx["can_upload"] = lake_policies.can_upload(actor, ds)
    try:
        r = pipeline.begin(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            channel="page",
            purpose=purpose,
        )
    except pipeline.NoContents:
        return render(request, "data_page.html", ctx)
    q: query.Query | None = None
    if r.decision.aggregate_only:
        ctx["error"] = Forbidden(_("The agreement allows summaries only; the rows are not shown."))
    else:
        try:
            q = r.parse(session, items)
        except Invalid as exc:
            ctx["error"] = exc
    pipeline.reserve(session, r, q, rows=q.size if q is not None else 0)
    try:
        page = engines.fetch(r, q) if q is not None else None
        r.parts = ["preview"] if page is not None else []
        total, column_stats = stats.compute(r)
        r.parts.append("stats")
        chart_list = _chart_data(session, r, request.query_params.get("y"))
        if chart_list:
            r.parts.append("charts")
    except BaseException:
        pipeline.release(session, r)
        raise
    rows = len(page.rows) if page is not None else 0
    nbytes = engines.page_bytes(r, page) if page is not None else 0
    keys = page.subject_keys if page is not None else None
    pipeline.record(session, r, rows, nbytes, aggregate=page is None, subject_keys=keys)
    visible = r.policy.columns
    ctx.update(
        # privacy's consent filter is at work in this read (a consent-based dataset read
        # under an agreement): say so, in words
        consent_filtered=r.policy.audit.get("legal_basis") == "Consent"
        and r.decision.agreement_id is not None,
        head=r.head,
        page=page,
        total=total,
        stats=column_stats,
        histograms={
            s.name: charts.histogram(
                s.histogram, f"h-{i}", _("Distribution of %(c)s") % {"c": s.name}
            )
            for i, s in enumerate(column_stats)
        },
        charts=chart_list,
        columns=visible,
        ops=query.OPS,
        items=items,
        filters=[(k, v) for k, v in items if not k.startswith("_")],
        sort_links={c: _sort_link(request, c, items) for c in visible},
        api_url=_api_url(ds, [(k, v) for k, v in items]),
        downloads={
            fmt: f"/api/v1/datasets/{ds.slug}/download.{fmt}"
            + (
                "?" + urlencode([(k, v) for k, v in items if k not in ("_size", "_next")])
                if [k for k, _ in items if k not in ("_size", "_next")]
                else ""
            )
            for fmt in ("csv", "json", "ndjson", "parquet", "xlsx")
        },
        next_url=(
            f"{request.url.path}?"
            + urlencode([(k, v) for k, v in items if k != "_next"] + [("_next", page.next)])
            if page and page.next
            else None
        ),
        numeric=_numeric(r.policy.schema, visible),
    )
    return render(request, "data_page.html", ctx)


@router.get("/api/v1/datasets/{ref}/stats", dependencies=[perm.GATE])
def stats_api(
    ref: str, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """Column statistics of the current version (the data page's JSON twin)."""
    ds = service.get_dataset(session=session, ref=ref)
    total, column_stats = stats.column_stats(
        session=session, settings=settings, actor=actor, dataset=ds
    )
    return JSONResponse(
        {
            "rows": total,
            "columns": [s.__dict__ for s in column_stats],
        }
    )
