"""Catalog pages: search with facets, the dataset page, and the publisher's forms.

Every page calls the same service functions as the JSON API (its twin): ``/datasets`` ↔
``/api/v1/datasets``, ``/datasets/{slug}`` ↔ ``/api/v1/datasets/{slug}``.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from datatorg.catalog import datapackage, policies, present, service
from datatorg.catalog import deps as catalog_deps
from datatorg.catalog.finder import FACETS, SORTS, SearchQuery
from datatorg.catalog.forms import (
    FORM_FIELDS,
    form_context,
    parse_form,
    pydantic_errors,
)
from datatorg.catalog.schemas import DatasetCreate, DatasetUpdate
from datatorg.errors import Conflict, Forbidden, Invalid, Unauthenticated
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.identity.models import Role
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep
from datatorg.web.errorhandlers import wants_json
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render
from datatorg.web.urls import public_base

router = APIRouter(include_in_schema=False)
PER_PAGE = 20
# The gate's download formats, as the dataset page offers them
DOWNLOADS = [("csv", "CSV"), ("xlsx", "Excel"), ("json", "JSON"), ("parquet", "Parquet")]


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10_000))
    except ValueError:
        return 1


@router.get("/datasets", dependencies=[perm.ANYONE])
def search_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Search the catalog: a plain GET form, facets as checkboxes, works without JavaScript."""
    params = request.query_params
    q = params.get("q", "")[:300]
    sort = params.get("sort", "relevance")
    if sort not in SORTS:
        sort = "relevance"
    page = _page_number(params.get("page"))
    filters = {f: [v[:100] for v in params.getlist(f) if v][:20] for f in FACETS}
    filters = {f: v for f, v in filters.items() if v}
    query = SearchQuery(
        q=q, filters=filters, sort=sort, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    try:
        result = service.search_datasets(session=session, actor=actor, query=query)
    except Invalid:
        query.q = ""
        result = service.search_datasets(session=session, actor=actor, query=query)
    data = present.page(session, result, page=page, per_page=PER_PAGE, sort=sort)
    if wants_json(request):
        return JSONResponse(data.model_dump(mode="json"))
    pages = max(1, math.ceil(data.total / PER_PAGE))

    def link(**change: Any) -> str:
        pairs = [(k, v) for k in params for v in params.getlist(k) if k not in change]
        pairs += [(k, str(v)) for k, v in change.items() if v not in (None, "")]
        return "/datasets?" + urlencode(pairs)

    api = "/api/v1/datasets?" + urlencode([(k, v) for k in params for v in params.getlist(k)])
    return render(
        request,
        "catalog/search.html",
        {
            "data": data,
            "q": q,
            "sort": sort,
            "selected": filters,
            "pages": pages,
            "page": page,
            "link": link,
            "api_link": api,
            "facet_titles": facet_titles(),
            "can_create": bool(actor.org_ids()) and actor.is_authenticated,
        },
    )


def facet_titles() -> dict[str, str]:
    return {
        "theme": _("Theme"),
        "publisher": _("Publisher"),
        "format": _("Format"),
        "access_rights": _("Access"),
        "license": _("Licence"),
        "keyword": _("Keyword"),
        "classification": _("Classification"),
    }


def _require_user(actor: Any) -> None:
    if not actor.is_authenticated:
        raise Unauthenticated("Sign in to publish datasets")


@router.get("/datasets/new", dependencies=[perm.PERSON])
def new_form(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The form for a new dataset (publishers)."""
    _require_user(actor)
    return render(request, "catalog/form.html", form_context(session, actor, None, {}, []))


@router.post("/datasets/new", dependencies=[perm.PERSON])
async def create_from_form(
    request: Request, session: SessionDep, actor: ActorDep, _: CsrfDep
) -> Response:
    _require_user(actor)
    values = parse_form(await request.form(), create=True)

    def create() -> Response:
        try:
            data = DatasetCreate.model_validate(values)
            dataset = service.create_dataset(session=session, actor=actor, data=data)
        except ValidationError as exc:
            ctx = form_context(session, actor, None, values, pydantic_errors(exc))
            return render(request, "catalog/form.html", ctx, status_code=422)
        except (Invalid, Conflict) as exc:
            ctx = form_context(session, actor, None, values, [exc.detail])
            return render(request, "catalog/form.html", ctx, status_code=exc.status)
        return RedirectResponse(f"/datasets/{dataset.slug}", status_code=303)

    return await run_in_threadpool(create)  # the database work, off the event loop


@router.get("/datasets/{slug}", dependencies=[perm.ANYONE])
def dataset_page(request: Request, slug: str, session: SessionDep, actor: ActorDep) -> Response:
    """The dataset: metadata, schema, publisher, licence, preview and related pilots."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=slug)
    data = present.read(session, actor, dataset)
    if wants_json(request):
        return JSONResponse(data.model_dump(mode="json"))
    # the lake's ``head``, the market's ``access``, ``has_agreement``, ``stale_offers`` and
    # the gate's ``reads_own`` (a duty role of the owner: other members read by agreement)
    parts = service.dataset_page_parts(session, actor, dataset)
    owner = bool(parts.get("reads_own"))
    head = parts.get("head")
    return render(
        request,
        "catalog/dataset.html",
        {
            "stale_offers": [],
            **parts,
            "ds": data,
            "dataset": dataset,
            "can_edit": policies.can_edit_dataset(actor, dataset),
            "is_owner": owner,
            # who can read the contents right now: anyone (open), the owner, an agreement
            "readable": head is not None
            and (dataset.is_open or owner or bool(parts.get("has_agreement"))),
            "downloads": [
                (fmt, label, f"/api/v1/datasets/{dataset.slug}/download.{fmt}")
                for fmt, label in DOWNLOADS
            ],
            "gate_prefix": f"/api/v1/datasets/{dataset.slug}/",
        },
    )


@router.get(
    "/datasets/{slug}/edit",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def edit_form(request: Request, slug: str, session: SessionDep, actor: ActorDep) -> Response:
    _require_user(actor)
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=slug)
    if not policies.can_edit_dataset(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may change this dataset")
    current = present.read(session, actor, dataset).model_dump()
    values = {k: current.get(k) for k in FORM_FIELDS}
    values["license"] = dataset.license
    values["themes"] = [t.theme for t in dataset.themes]
    return render(request, "catalog/form.html", form_context(session, actor, dataset, values, []))


@router.post(
    "/datasets/{slug}/edit",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
async def edit_from_form(
    request: Request, slug: str, session: SessionDep, actor: ActorDep, _: CsrfDep
) -> Response:
    _require_user(actor)
    values = parse_form(await request.form(), create=False)

    def edit() -> Response:
        dataset = service.get_visible_dataset(session=session, actor=actor, ref=slug)
        try:
            data = DatasetUpdate.model_validate(values)
            service.update_dataset(session=session, actor=actor, dataset=dataset, data=data)
        except ValidationError as exc:
            ctx = form_context(session, actor, dataset, values, pydantic_errors(exc))
            return render(request, "catalog/form.html", ctx, status_code=422)
        except Invalid as exc:
            ctx = form_context(session, actor, dataset, values, [exc.detail])
            return render(request, "catalog/form.html", ctx, status_code=422)
        return RedirectResponse(f"/datasets/{dataset.slug}", status_code=303)

    return await run_in_threadpool(edit)  # the database work, off the event loop


@router.post(
    "/datasets/{slug}/publish",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def publish_from_form(slug: str, session: SessionDep, actor: ActorDep, _: CsrfDep) -> Response:
    _require_user(actor)
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=slug)
    service.publish_dataset(session=session, actor=actor, dataset=dataset)
    return RedirectResponse(f"/datasets/{dataset.slug}", status_code=303)


@router.post(
    "/datasets/{slug}/retire",
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def retire_from_form(slug: str, session: SessionDep, actor: ActorDep, _: CsrfDep) -> Response:
    _require_user(actor)
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=slug)
    service.retire_dataset(session=session, actor=actor, dataset=dataset)
    return RedirectResponse(f"/datasets/{dataset.slug}", status_code=303)


@router.get("/dataset/{ref}/datapackage.json", dependencies=[perm.ANYONE])
def datapackage_file(request: Request, ref: str, session: SessionDep, actor: ActorDep) -> Response:
    """The Frictionless ``datapackage.json`` (twin of the API's ``…/datapackage.json``)."""

    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    base = public_base(request)
    return JSONResponse(datapackage.descriptor(session, dataset, base))
