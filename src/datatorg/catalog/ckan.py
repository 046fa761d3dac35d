"""The CKAN Action API face: ``/api/3/action/{name}`` and ``/api/action/{name}``.

Read actions only, answered from the same services as the rest of the catalog, in CKAN's
``{help, success, result}`` envelope with its error ``__type`` strings and status codes
(``ckan/views/api.py``): Validation Error 409, Not Found Error 404, Authorization Error 403,
Search Query Error 400, Search Error 409; an unknown action or bad JSON is a 400 whose body
is a JSON string, as in CKAN.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from datatorg import __version__, errors
from datatorg.catalog import ckan_dicts, service
from datatorg.catalog.ckan_query import SearchQueryError, ValidationError, search_query
from datatorg.catalog.models import Dataset, DatasetKeyword, DatasetStatus, DatasetTheme
from datatorg.catalog.vocab import LICENCES, THEMES
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.identity.models import Organisation
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import current_locale

router = APIRouter(include_in_schema=False)
PREFIXES = ("/api/3/action", "/api/action")
MAX_LIST = 1000
CKAN_FACETS = {
    "organization": "publisher",
    "tags": "keyword",
    "res_format": "format",
    "groups": "theme",
    "license_id": "license",
}


class NotFoundError(Exception):
    pass


Ctx = tuple[Session, Actor, str]
Action = Callable[[Ctx, dict[str, Any]], Any]


def _help(request: Request, name: str) -> str:
    return str(request.base_url).rstrip("/") + f"/api/3/action/help_show?name={name}"


def envelope(
    request: Request, name: str, status: int, *, result: Any = None, error: Any = None
) -> Response:
    body: dict[str, Any] = {"help": _help(request, name), "success": error is None}
    if error is None:
        body["result"] = result
    else:
        body["error"] = error
    return JSONResponse(body, status_code=status)


def bad_request(message: str) -> Response:
    """CKAN's ``_finish_bad_request``: status 400, the body a JSON string."""
    return JSONResponse(f"Bad request - {message}", status_code=400)


def _action_name(request: Request) -> str:
    return request.url.path.rstrip("/").rsplit("/", 1)[-1]


def error_face(request: Request, exc: errors.DatatorgError) -> Response:
    """Domain errors under the CKAN prefixes, in CKAN's envelope."""
    name = _action_name(request)
    if exc.status in (401, 403):
        err = {"__type": "Authorization Error", "message": f"Access denied: {exc.detail}"}
        return envelope(request, name, 403, error=err)
    if exc.status == 404:
        err = {"__type": "Not Found Error", "message": f"Not found: {exc.detail}"}
        return envelope(request, name, 404, error=err)
    if exc.status in (409, 422):
        err = {"__type": "Validation Error", "message": exc.detail}
        return envelope(request, name, 409, error=err)
    if exc.status == 400:
        return bad_request(exc.detail)
    err = {"__type": "Internal Error", "message": exc.detail if exc.status < 500 else "Error"}
    return envelope(request, name, exc.status, error=err)


def _id(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value:
            return str(value)[:200]
    raise ValidationError({keys[-1]: ["Missing value"]})


def _limit(data: dict[str, Any]) -> tuple[int, int]:
    try:
        limit = int(data.get("limit", MAX_LIST))
        offset = int(data.get("offset", 0))
    except (TypeError, ValueError):
        raise ValidationError({"limit": ["Invalid integer"]}) from None
    if limit < 0 or offset < 0:
        raise ValidationError({"limit": ["Must be a natural number"]})
    return min(limit, MAX_LIST), offset


def _flag(data: dict[str, Any], key: str) -> bool:
    return str(data.get(key, "")).lower() in ("true", "1", "yes")


def _orgs(session: Session) -> dict[Any, Organisation]:
    return {o.id: o for o in session.scalars(select(Organisation))}


def package_list(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    limit, offset = _limit(data)
    stmt = (
        select(Dataset.slug)
        .where(Dataset.status == DatasetStatus.published)
        .order_by(Dataset.slug)
        .offset(offset)
        .limit(limit)
    )
    return list(ctx[0].scalars(stmt))


def _visible(ctx: Ctx, ref: str) -> Dataset:
    session, actor, _loc = ctx
    dataset = service.get_dataset(session=session, ref=ref)
    if dataset is None or dataset.status == DatasetStatus.draft:
        raise NotFoundError("Dataset not found")
    return dataset


def package_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    dataset = _visible(ctx, _id(data, "id", "name_or_id"))
    org = ctx[0].get(Organisation, dataset.publisher_id)
    assert org is not None
    return ckan_dicts.package(dataset, org, locale=ctx[2])


def package_search(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    session, actor, locale = ctx
    query, facet_fields = search_query(data)
    result = service.search_datasets(session=session, actor=actor, query=query)
    orgs = _orgs(session)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for field in facet_fields:
        counts = result.facets.get(CKAN_FACETS[field], [])
        if field == "groups":
            counts = [(v.lower(), n) for v, n in counts]
        facets[field] = dict(counts)
        items = []
        for value, n in counts:
            label = value
            if field == "organization":
                label = next((o.name for o in orgs.values() if o.slug == value), value)
            elif field == "groups":
                label = THEMES[value.upper()].label(locale)
            items.append({"name": value, "display_name": label, "count": n})
        search_facets[field] = {"title": field, "items": items}
    return {
        "count": result.total,
        "results": [
            ckan_dicts.package(d, orgs[d.publisher_id], locale=locale) for d in result.datasets
        ],
        "facets": facets,
        "search_facets": search_facets,
        "sort": str(data.get("sort") or "score desc, metadata_modified desc"),
    }


def _org_counts(session: Session) -> dict[Any, int]:
    rows = session.execute(
        select(Dataset.publisher_id, func.count())
        .where(Dataset.status == DatasetStatus.published)
        .group_by(Dataset.publisher_id)
    )
    return {pid: int(n) for pid, n in rows}


def organization_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    limit, offset = _limit(data)
    counts = _org_counts(ctx[0])
    orgs = sorted(_orgs(ctx[0]).values(), key=lambda o: o.slug)[offset : offset + limit]
    if _flag(data, "all_fields"):
        return [ckan_dicts.organization(o, package_count=counts.get(o.id, 0)) for o in orgs]
    return [o.slug for o in orgs]


def organization_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    session = ctx[0]
    org = service.get_organisation(session=session, ref=_id(data, "id"))
    if org is None:
        raise NotFoundError("Organization not found")
    out = ckan_dicts.organization(org, package_count=_org_counts(session).get(org.id, 0))
    if _flag(data, "include_datasets"):
        rows = session.scalars(
            select(Dataset)
            .where(Dataset.publisher_id == org.id, Dataset.status == DatasetStatus.published)
            .order_by(Dataset.slug)
            .limit(MAX_LIST)
        )
        out["packages"] = [ckan_dicts.package(d, org, locale=ctx[2]) for d in rows]
    return out


def _theme_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DatasetTheme.theme, func.count())
        .join(Dataset, Dataset.id == DatasetTheme.dataset_id)
        .where(Dataset.status == DatasetStatus.published)
        .group_by(DatasetTheme.theme)
    )
    return {t: int(n) for t, n in rows}


def group_list(ctx: Ctx, data: dict[str, Any]) -> list[Any]:
    limit, offset = _limit(data)
    counts = _theme_counts(ctx[0])
    codes = sorted(THEMES)[offset : offset + limit]
    if _flag(data, "all_fields"):
        return [ckan_dicts.group(c, package_count=counts.get(c, 0), locale=ctx[2]) for c in codes]
    return [c.lower() for c in codes]


def group_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    code = _id(data, "id").upper()
    if code not in THEMES:
        raise NotFoundError("Group not found")
    return ckan_dicts.group(code, package_count=_theme_counts(ctx[0]).get(code, 0), locale=ctx[2])


def tag_list(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    stmt = (
        select(DatasetKeyword.value)
        .join(Dataset, Dataset.id == DatasetKeyword.dataset_id)
        .where(Dataset.status == DatasetStatus.published)
        .distinct()
        .order_by(DatasetKeyword.value)
    )
    query = str(data.get("query", "") or "").casefold()
    tags = list(ctx[0].scalars(stmt))
    return [t for t in tags if query in t.casefold()] if query else tags


def resource_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    ref = _id(data, "id")
    for dataset in service.published_datasets(session=ctx[0]):
        for dist in dataset.distributions:
            if str(dist.id) == ref:
                return ckan_dicts.resource(dataset, dist)
    raise NotFoundError("Resource was not found.")


def license_list(ctx: Ctx, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [ckan_dicts.licence(code) for code in LICENCES]


def status_show(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "site_title": "Datatorg",
        "site_description": "The data marketplace and living lab of My Digital City, Halden.",
        "site_url": "",
        "ckan_version": "2.10.0",
        "datatorg_version": __version__,
        "error_emails_to": None,
        "locale_default": "nb",
        "extensions": ["datatorg"],
    }


def help_show(ctx: Ctx, data: dict[str, Any]) -> str:
    name = _id(data, "name")
    action = ACTIONS.get(name)
    if action is None:
        raise NotFoundError("Action function not found")
    return (action.__doc__ or name).strip()


ACTIONS: dict[str, Action] = {
    fn.__name__: fn
    for fn in (
        package_list,
        package_search,
        package_show,
        organization_list,
        organization_show,
        group_list,
        group_show,
        tag_list,
        resource_show,
        license_list,
        status_show,
        help_show,
    )
}


async def _params(request: Request) -> dict[str, Any] | Response:
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    if request.method == "POST":
        raw = await request.body()
        if len(raw) > 1_000_000:
            return bad_request("Request body too large")
        if raw.strip():
            ctype = request.headers.get("content-type", "")
            if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                form = await request.form()
                data.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    return bad_request(f"JSON Error: {str(exc)[:100]}")
                except RecursionError:
                    return bad_request("JSON Error: nested too deeply")
                if not isinstance(body, dict):
                    return bad_request("JSON Error: Request data JSON decoded to a non-dict")
                data.update(body)
    return data


async def action(request: Request, name: str, session: SessionDep, actor: ActorDep) -> Response:
    """Run CKAN action ``name``."""
    fn = ACTIONS.get(name)
    if fn is None:
        return bad_request(f"Action name not known: {name[:80]}")
    data = await _params(request)
    if isinstance(data, Response):
        return data
    ctx: Ctx = (session, actor, current_locale())
    try:
        result = await run_in_threadpool(fn, ctx, data)  # database work, off the event loop
    except ValidationError as exc:
        return envelope(request, name, 409, error={**exc.errors, "__type": "Validation Error"})
    except NotFoundError as exc:
        return envelope(
            request, name, 404, error={"__type": "Not Found Error", "message": f"Not found: {exc}"}
        )
    except SearchQueryError as exc:
        err = {"__type": "Search Query Error", "message": f"Search Query is invalid: {exc}"}
        return envelope(request, name, 400, error=err)
    return envelope(request, name, 200, result=result)


for _prefix in PREFIXES:
    router.add_api_route(
        _prefix + "/{name}", action, methods=["GET", "POST"], dependencies=[perm.ANYONE]
    )
