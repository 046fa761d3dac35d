"""The dataset's data page: preview with filters that map to the API, statistics, charts.

Everything is rendered on the server (tables and SVG charts) and works without JavaScript.
Its JSON twins are the rows API (the page links the exact URL) and ``/stats``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from datatorg.access import charts, policies, query, service, stats
from datatorg.catalog.models import Dataset
from datatorg.errors import DatatorgError, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.lake import service as lake
from datatorg.settings import Settings
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


def _chart_data(
    session: Any,
    settings: Settings,
    actor: Actor,
    ds: Dataset,
    schema: dict[str, Any],
    visible: list[str],
    y: str | None,
) -> list[dict[str, Any]]:
    numeric = _numeric(schema, visible)
    if not numeric:
        return []
    col = y if y in numeric else numeric[0]
    out: list[dict[str, Any]] = []
    times = [c for c in lake.columns_with_role(schema, "time") if c in visible]
    if times:
        page = service.read(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            items=[("_bucket", f"day:{times[0]}"), ("_agg", f"avg({col})"), ("_size", "2000")],
            channel="chart",
        )
        points = [(str(r[0])[:10], r[1]) for r in page.rows]
        if len(points) > 400:  # long series: weekly means are easier to read
            page = service.read(
                session=session,
                settings=settings,
                actor=actor,
                dataset=ds,
                items=[("_bucket", f"week:{times[0]}"), ("_agg", f"avg({col})"), ("_size", "2000")],
                channel="chart",
            )
            points = [(str(r[0])[:10], r[1]) for r in page.rows]
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
        page = service.read(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            items=[
                ("_group_by", strings[0]),
                ("_agg", f"avg({col})"),
                ("_sort_desc", f"avg_{col}"),
                ("_size", "20"),
            ],
            channel="chart",
        )
        bars = [(str(r[0]), r[1]) for r in page.rows]
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


def _api_url(ds: Dataset, items: list[tuple[str, str]]) -> str:
    base = f"/api/v1/datasets/{ds.slug}/rows"
    return base + ("?" + urlencode(items) if items else "")


def _sort_link(request: Request, col: str, current: list[tuple[str, str]]) -> str:
    items = [(k, v) for k, v in current if k not in ("_sort", "_sort_desc", "_next")]
    desc = ("_sort", col) in current
    items.append(("_sort_desc" if desc else "_sort", col))
    return f"{request.url.path}?{urlencode(items)}"


@router.get("/datasets/{ref}/data")
def data_page(
    ref: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Preview, statistics and charts of the dataset's current version."""
    ds = service.get_dataset(session=session, ref=ref)
    items = _api_items(request)
    if not any(k == "_size" for k, _v in items):
        items.append(("_size", PREVIEW_SIZE))
    head = lake.head(session=session, dataset_id=ds.id)
    ctx: dict[str, Any] = {"ds": ds, "head": head, "error": None, "can_upload": False}
    ctx["can_upload"] = policies.can_upload(actor, ds)
    if head is None:
        if not policies.is_visible(actor, ds):
            raise NotFound("No such dataset")
        return render(request, "data_page.html", ctx)
    try:
        page = service.read(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            items=items,
            channel="preview",
        )
    except DatatorgError as exc:
        if exc.status not in (422,):
            raise
        ctx["error"] = exc
        page = None
    visible = policies.visible_columns(actor, ds, head.table_schema)
    total, column_stats = stats.column_stats(
        session=session, settings=settings, actor=actor, dataset=ds
    )
    ctx.update(
        page=page,
        total=total,
        stats=column_stats,
        histograms={
            s.name: charts.histogram(
                s.histogram, f"h-{i}", _("Distribution of %(c)s") % {"c": s.name}
            )
            for i, s in enumerate(column_stats)
        },
        charts=_chart_data(
            session,
            settings,
            actor,
            ds,
            head.table_schema,
            visible,
            request.query_params.get("y"),
        ),
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
        numeric=_numeric(head.table_schema, visible),
    )
    return render(request, "data_page.html", ctx)


@router.get("/api/v1/datasets/{ref}/stats")
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
