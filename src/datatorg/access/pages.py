"""The dataset's data page: preview with filters that map to the API, statistics, charts.

Everything is rendered on the server (tables and SVG charts) and works without JavaScript.
Its JSON twins are the rows API (the page links the exact URL) and ``/stats``. A view of the
page is one read through the gate's pipeline: the preview, the statistics and the charts are
queries of that one read (one decision and policy, one metered call, one audit record).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from datatorg.access import engines, page_charts, pipeline, policies, query, service, stats
from datatorg.catalog.models import Dataset
from datatorg.errors import DatatorgError, Forbidden, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.lake import policies as lake_policies
from datatorg.lake import service as lake
from datatorg.market import service as market
from datatorg.market.models import Agreement
from datatorg.web import charts
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(tags=["data pages"])

# page-only parameters, not passed to the API (``agreement`` chooses the agreement to read
# under; ``published`` thanks the publisher who just published a version)
PAGE_KEYS = {"y", "_fc", "_fo", "_fv", "agreement", "published"}
PREVIEW_SIZE = "25"


def _api_items(request: Request) -> list[tuple[str, str]]:
    """The API parameters of the page's URL; the filter form's three fields become one."""
    params = request.query_params
    items = [(k, v) for k, v in params.multi_items() if k not in PAGE_KEYS and v]
    col, op, value = params.get("_fc"), params.get("_fo", "exact"), params.get("_fv")
    if col and value is not None and value != "":
        items.append((f"{col}__{op}" if op != "exact" else col, value))
    return items


def _sort_link(request: Request, col: str, current: list[tuple[str, str]]) -> str:
    items = [(k, v) for k, v in current if k not in ("_sort", "_sort_desc", "_next")]
    desc = ("_sort", col) in current
    items.append(("_sort_desc" if desc else "_sort", col))
    return f"{request.url.path}?{urlencode(items)}"


def _choose_agreement(
    session: Session, actor: Actor, ds: Dataset, wanted: uuid.UUID | None
) -> tuple[Agreement | None, list[Agreement]]:
    """Which agreement the page reads under: the one asked for (``?agreement=``), else the
    reader's only agreement in force. With several and none chosen, the page asks which —
    in plain words — instead of reading. Returns (the agreement or None, the agreements held).
    Only for display: the gate decides the read itself (``pipeline.begin``)."""
    if not actor.is_authenticated or ds.is_open or policies.reads_own_contents(actor, ds):
        return None, []
    held = market.agreements_in_force(session=session, actor=actor, dataset=ds)
    chosen = next((a for a in held if a.id == wanted), None)
    if chosen is None and len(held) == 1:
        chosen = held[0]
    return chosen, held


def _wanted(request: Request, stated: pipeline.Stated) -> uuid.UUID | None:
    """The agreement the page's URL names (``agreement=``, or the API's ``_agreement=``)."""
    if stated.agreement_id is not None:
        return stated.agreement_id
    _rest, chosen = pipeline.split_stated(
        [("_agreement", request.query_params.get("agreement") or "")]
    )
    return chosen.agreement_id


@router.get("/datasets/{ref}/data", dependencies=[perm.GATE])
def data_page(
    ref: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Preview, statistics and charts of the dataset's current version: one read through
    the gate (one decision, one policy, one metered view, one audit record).

    A person holding several agreements on the dataset chooses one first (in plain words:
    purpose, columns, end date); the read then names it (``_agreement``), and so do the
    page's links, API address and downloads."""
    ds = service.get_dataset(session=session, ref=ref)
    items, stated = pipeline.split_stated(_api_items(request))
    if not any(k == "_size" for k, _v in items):
        items.append(("_size", PREVIEW_SIZE))
    ctx: dict[str, Any] = {"ds": ds, "head": None, "error": None, "page": None, "fields": {}}
    ctx["can_upload"] = lake_policies.can_upload(actor, ds)
    agreement, held = _choose_agreement(session, actor, ds, _wanted(request, stated))
    ctx.update(agreement=agreement, held=held)
    if agreement is None and len(held) > 1:
        if not policies.is_visible(actor, ds):
            raise NotFound("No such dataset")
        version = lake.head(session=session, dataset_id=ds.id)
        if version is not None:  # the version's facts and the titles of the columns named
            ctx.update(
                head=version,
                published=version.created_at,
                fields=lake.fields_by_name(lake.localized(version.table_schema)),
            )
        return render(request, "data_page.html", ctx | {"choose": True})
    chosen = agreement.id if agreement is not None and len(held) > 1 else None
    # the choice travels with every link of the page: reads, sorting, paging, downloads
    carry = [("_agreement", str(chosen))] if chosen is not None else []
    try:
        r = pipeline.begin(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            channel="page",
            purpose=stated.purpose,
            agreement_id=chosen,
        )
    except pipeline.NoContents:
        return render(request, "data_page.html", ctx)
    fields = {str(f["name"]): lake.localized_field(f) for f in r.policy.fields}
    version = lake.head(session=session, dataset_id=ds.id)
    ctx.update(
        head=r.head,
        fields=fields,
        published=version.created_at if version and version.number == r.version else None,
        aggregate_only=r.decision.aggregate_only,
        min_group=r.min_group,
    )
    q: query.Query | None = None
    if not r.decision.aggregate_only:  # single rows are not allowed: no preview
        try:
            q = r.parse(session, items)
        except Forbidden as exc:
            # refused by the agreement's terms (audited): say why in words, with the way out
            ctx.update(refused=exc.extra.get("failed_term") or "agreement", items=items)
            return render(request, "data_page.html", ctx, status_code=403)
        except DatatorgError as exc:
            if exc.status not in (400, 422):
                raise
            ctx["error"] = exc
            found = exc.extra.get("errors") or [{}]
            first = found[0] if isinstance(found[0], dict) else {}
            ctx["error_param"] = str(first.get("parameter", ""))
            param = ctx["error_param"]
            ctx["error_value"] = next((v for k, v in items if k == param), "")
            # the form holds the refused filter, to be put right; the page does not keep it
            if param and not param.startswith("_"):
                column, _sep, op = param.partition("__")
                ctx["typed"] = {"col": column, "op": op or "exact", "value": ctx["error_value"]}
                ctx["rejected"] = (param, ctx["error_value"])
    pipeline.reserve(session, r, q, rows=q.size if q is not None else 0)
    try:
        page = engines.fetch(r, q) if q is not None else None
        r.parts = ["preview"] if page is not None else []
        total, column_stats = stats.compute(r)
        r.parts.append("stats")

        def run(chart_items: list[tuple[str, str]]) -> engines.Page:
            return engines.fetch(r, r.parse(session, chart_items))

        chart_list = page_charts.chart_data(
            run, ds, r.policy.schema, r.policy.columns, request.query_params.get("y"), carry
        )
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
    linked = items + carry
    ctx.update(
        # privacy's consent filter is at work in this read (a consent-based dataset read
        # under an agreement): say so, in words
        consent_filtered=r.policy.audit.get("legal_basis") == "Consent"
        and r.decision.agreement_id is not None,
        page=page,
        total=total,
        stats=column_stats,
        histograms={
            s.name: charts.histogram(
                s.histogram,
                f"h-{i}",
                _("Distribution of %(c)s") % {"c": fields.get(s.name, {}).get("title") or s.name},
            )
            for i, s in enumerate(column_stats)
        },
        charts=chart_list,
        columns=visible,
        ops=query.OPS,
        items=linked,
        filters=[
            (k, v) for k, v in items if not k.startswith("_") and (k, v) != ctx.get("rejected")
        ],
        sort_links={c: _sort_link(request, c, linked) for c in visible},
        api_url=page_charts.api_url(ds, linked),
        downloads={
            fmt: f"/api/v1/datasets/{ds.slug}/download.{fmt}"
            + (
                "?" + urlencode([(k, v) for k, v in linked if k not in ("_size", "_next")])
                if [k for k, _ in linked if k not in ("_size", "_next")]
                else ""
            )
            for fmt in ("csv", "json", "ndjson", "parquet", "xlsx")
        },
        next_url=(
            f"{request.url.path}?"
            + urlencode([(k, v) for k, v in linked if k != "_next"] + [("_next", page.next)])
            if page and page.next
            else None
        ),
        numeric=page_charts.numeric_columns(r.policy.schema, visible),
    )
    return render(request, "data_page.html", ctx)


@router.get("/api/v1/datasets/{ref}/stats", dependencies=[perm.GATE])
def stats_api(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """Column statistics of the current version (the data page's JSON twin); ``_purpose`` and
    ``_agreement`` as on the rows API."""
    ds = service.get_dataset(session=session, ref=ref)
    _items, stated = pipeline.split_stated(request.query_params.multi_items())
    total, column_stats = stats.column_stats(
        session=session, settings=settings, actor=actor, dataset=ds, stated=stated
    )
    return JSONResponse(
        {
            "rows": total,
            "columns": [s.__dict__ for s in column_stats],
        }
    )
