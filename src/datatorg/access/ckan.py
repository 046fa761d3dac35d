"""CKAN's ``datastore_search`` through the gate, so ``ckanapi`` users can read rows.

``resource_id`` is the dataset's slug or UUID (each dataset's current version is its one
datastore table). Filters, ``q``, ``fields``, ``sort``, ``limit`` and ``offset`` map onto the
gate's query parameters; ``limit=0`` returns only the fields. The envelope is CKAN's
``{help, success, result}``; errors carry CKAN's ``__type``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from datatorg import errors
from datatorg.access import service
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.errorhandlers import register_error_face

PATH = "/api/3/action/datastore_search"
PATH_UNVERSIONED = "/api/action/datastore_search"  # the path ckanapi calls
router = APIRouter(tags=["ckan"])

CKAN_TYPES = {
    "integer": "int",
    "number": "numeric",
    "string": "text",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
}
_TYPES = {
    404: "Not Found Error",
    401: "Authorization Error",
    403: "Authorization Error",
    429: "Authorization Error",
}


def _help(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/3/action/help_show?name=datastore_search"


def ckan_error(request: Request, exc: errors.DatatorgError) -> Response:
    """CKAN's error envelope for errors under ``/api/3/action/datastore_search``."""
    kind = _TYPES.get(exc.status, "Validation Error")
    body: dict[str, Any] = {"__type": kind, "message": exc.detail}
    for err in exc.extra.get("errors", []):
        body.setdefault(err.get("parameter") or err.get("field") or "error", []).append(
            err.get("message", "")
        )
    status = 409 if kind == "Validation Error" and exc.status < 500 else exc.status
    return JSONResponse(
        {"help": _help(request), "success": False, "error": body},
        status_code=status,
        headers=exc.headers(),
    )


register_error_face(PATH, ckan_error)
register_error_face(PATH_UNVERSIONED, ckan_error)


def _invalid(name: str, message: str) -> errors.Invalid:
    return errors.Invalid(message, errors=[{"parameter": name, "message": message}])


def _int(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _invalid(name, "must be a whole number") from None
    if value < 0:
        raise _invalid(name, "must not be negative")
    return value


def to_items(params: dict[str, Any]) -> list[tuple[str, str]]:
    """CKAN parameters as the gate's query items."""
    items: list[tuple[str, str]] = []
    filters = params.get("filters") or {}
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except (json.JSONDecodeError, RecursionError):
            raise _invalid("filters", "must be a JSON object") from None
    if not isinstance(filters, dict):
        raise _invalid("filters", "must be a JSON object")
    for column, value in filters.items():
        if column.startswith("_"):
            raise _invalid("filters", f"unknown column {column[:60]!r}")
        if isinstance(value, list):
            items.append((f"{column}__in", json.dumps([str(v) for v in value])))
        else:
            items.append((f"{column}__exact", str(value)))
    q = params.get("q")
    if isinstance(q, dict):
        for column, value in q.items():
            items.append((f"{column}__contains", str(value)))
    elif q:
        items.append(("_search", str(q)))
    fields = params.get("fields")
    if fields:
        names = fields if isinstance(fields, list) else str(fields).split(",")
        items.append(("_col", ",".join(n.strip() for n in names if n.strip() != "_id")))
    sort = params.get("sort")
    if sort:
        keys = [k.strip() for k in str(sort).split(",") if k.strip()]
        if len(keys) > 1:
            raise _invalid("sort", "only one sort column is supported")
        name, _, direction = keys[0].partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise _invalid("sort", "direction must be asc or desc")
        items.append(("_sort_desc" if direction == "desc" else "_sort", name.strip('"')))
    return items


@router.get(PATH, operation_id="ckan_datastore_search_get", dependencies=[perm.GATE])
async def datastore_search_get(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """CKAN DataStore search over a dataset's current version (parameters in the URL)."""
    return await datastore_search(request, session, settings, actor)


@router.post(PATH, operation_id="ckan_datastore_search_post", dependencies=[perm.GATE])
async def datastore_search_post(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """CKAN DataStore search over a dataset's current version (parameters as JSON)."""
    return await datastore_search(request, session, settings, actor)


@router.api_route(
    PATH_UNVERSIONED, methods=["GET", "POST"], include_in_schema=False, dependencies=[perm.GATE]
)
async def datastore_search(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """CKAN DataStore search over a dataset's current version."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = dict(await request.form())
        except RecursionError:  # nested deeper than any request
            raise _invalid("body", "must be a JSON object") from None
        if not isinstance(body, dict):
            raise _invalid("body", "must be a JSON object")
        params |= body
    resource = params.get("resource_id") or params.get("id")
    if not resource or not isinstance(resource, str):
        raise _invalid("resource_id", "Missing value")

    def work() -> JSONResponse:
        limit = _int(params, "limit", 100)
        offset = _int(params, "offset", 0)
        dataset = service.get_dataset(session=session, ref=resource)
        items = to_items(params)
        items += [("_size", str(min(limit, settings.query_row_cap))), ("_offset", str(offset))]
        total_wanted = str(params.get("include_total", True)).lower() not in ("false", "0")
        if total_wanted:
            items.append(("_count", "1"))
        page = service.read(
            session=session,
            settings=settings,
            actor=actor,
            dataset=dataset,
            items=items,
            channel="ckan",
        )
        schema = {f["name"]: f for f in (page.schema or {}).get("fields", [])}
        fields = [{"id": "_id", "type": "int"}] + [
            {"id": c, "type": CKAN_TYPES.get(schema.get(c, {}).get("type", "string"), "text")}
            for c in page.columns
        ]
        records = [
            {"_id": offset + i + 1} | dict(zip(page.columns, row, strict=True))
            for i, row in enumerate(page.rows)
        ]
        result: dict[str, Any] = {
            "resource_id": resource,
            "fields": fields,
            "records": records if limit else [],
            "limit": limit,
            "offset": offset,
            "_links": {
                "start": f"{PATH}?resource_id={resource}",
                "next": f"{PATH}?resource_id={resource}&offset={offset + limit}",
            },
        }
        if page.count is not None:
            result["total"] = page.count
        return JSONResponse({"help": _help(request), "success": True, "result": result})

    return await run_in_threadpool(work)  # the database work, off the event loop
