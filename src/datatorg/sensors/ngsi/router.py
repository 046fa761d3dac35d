"""NGSI-LD API under ``/ngsi-ld/v1/`` (ETSI GS CIM 009): entities and their attributes.

Writers are publishers of the entity's stream (a bearer token, or a browser session with
the CSRF header); every read is decided, capped and audited by the gate (``reads``).
Errors are NGSI-LD ProblemDetails (``errors.face``).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.sensors import deps as access_deps
from datatorg.sensors.ngsi import context as ld
from datatorg.sensors.ngsi import entities, http, model
from datatorg.sensors.ngsi.errors import BadRequestData, ResourceNotFound
from datatorg.sensors.ngsi.patterns import compile_pattern
from datatorg.sensors.ngsi.query import attributes_of, parse, parse_geo
from datatorg.sensors.ngsi.reads import Reader
from datatorg.settings import Settings
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/ngsi-ld/v1", tags=["NGSI-LD"])
HINT = "datatorg-dataset"


@router.get("/jsonldContexts/{name}", dependencies=[access_deps.READ_ANY])
def get_context(name: str) -> Response:
    """A bundled JSON-LD @context (the NGSI-LD core context and the platform's own)."""
    found = ld.bundled().get(name)
    if found is None:
        raise ResourceNotFound("No such @context")
    return FileResponse(found, media_type="application/ld+json")


def _out(
    found: entities.Found, ctx: ld.Context, opts: set[str], pick: set[str] | None = None
) -> dict[str, Any]:
    return model.entity_out(
        found.entity.id,
        found.entity.type,
        found.attrs,
        ctx,
        key_values="keyValues" in opts,
        sys_attrs="sysAttrs" in opts,
        pick=pick,
        created_at=found.entity.created_at,
        modified_at=found.entity.modified_at,
    )


def _attr_list(request: Request, ctx: ld.Context) -> set[str] | None:
    raw = request.query_params.get("attrs") or request.query_params.get("pick")
    if not raw:
        return None
    names = [model.check_name(a.strip()) for a in raw.split(",") if a.strip()]
    return {ctx.expand(n) for n in names if n not in ("id", "type")}


@router.post(
    "/entities",
    status_code=201,
    dependencies=[access_deps.WRITER],
    openapi_extra=http.documented(body="object"),
)
async def create_entity(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Create an entity (201 with ``Location``; 409 ``AlreadyExists``)."""
    http.check_csrf(request)
    body, ctx = await http.read_body(request)

    def work() -> str:
        w = entities.Writer.open(session, settings, actor)
        ent = entities.create(w, ctx, body, request.headers.get(HINT))
        w.flush()
        return ent.id

    ident = await run_in_threadpool(work)
    return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/entities/{ident}"})


@router.get(
    "/entities",
    dependencies=[access_deps.READ_ANY],
    openapi_extra=http.documented(*http.ENTITY_QUERY),
)
def query_entities(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Query entities: ``type``, ``id``, ``idPattern``, ``attrs``, ``q``, geo-query
    (``georel``, ``geometry``, ``coordinates``, ``geoproperty``), ``limit`` (≤ 1000),
    ``offset``, ``count``, ``options=keyValues|sysAttrs``."""
    params = request.query_params
    ctx = http.request_context(request)
    opts = http.options(request)
    http.wants_ld(request)
    types = [
        ctx.expand(model.check_name(t.strip(), "type"))
        for t in params.get("type", "").split(",")
        if t.strip()
    ] or None
    ids = [model.check_id(i.strip()) for i in params.get("id", "").split(",") if i.strip()]
    pattern = None
    if params.get("idPattern"):
        pattern = compile_pattern(params["idPattern"])
    attrs = _attr_list(request, ctx)
    q = parse(params["q"], ctx) if params.get("q") else None
    geo = parse_geo(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
        ctx,
    )
    if not (types or ids or pattern or attrs or q or geo):
        raise BadRequestData("Give type, id, idPattern, attrs, q or a geo-query")
    criteria = entities.Criteria(
        types=types,
        ids=ids or None,
        id_pattern=pattern,
        attrs=attrs,
        q=q,
        geo=geo,
        limit=entities.check_limit(params.get("limit")),
        offset=entities.check_offset(params.get("offset")),
    )
    decided = None if attrs is None else attrs | (attributes_of(q) if q is not None else set())
    with Reader(session, settings, actor, purpose=params.get("_purpose"), attrs=decided) as reader:
        found, total = entities.query(session, reader, criteria)
        reader.finish()
    headers = {"NGSILD-Results-Count": str(total)} if params.get("count") == "true" else {}
    return http.answer(request, [_out(f, ctx, opts, attrs) for f in found], ctx, headers=headers)


@router.get(
    "/entities/{entity_id}",
    dependencies=[access_deps.READ_ANY],
    openapi_extra=http.documented("attrs", "pick", "type", "options", "format"),
)
def retrieve_entity(
    entity_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """One entity (``attrs``, ``options=keyValues|sysAttrs``)."""
    ctx = http.request_context(request)
    opts = http.options(request)
    http.wants_ld(request)
    pick = _attr_list(request, ctx)
    with Reader(
        session, settings, actor, purpose=request.query_params.get("_purpose"), attrs=pick
    ) as reader:
        found = entities.retrieve(session, reader, entity_id)
        wanted_type = request.query_params.get("type")
        if wanted_type and ctx.expand(wanted_type) != found.entity.type:
            raise ResourceNotFound("No such entity of this type")
        reader.finish()
    return http.answer(request, _out(found, ctx, opts, pick), ctx)


@router.delete("/entities/{entity_id}", status_code=204, dependencies=[access_deps.WRITER])
async def delete_entity(
    entity_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Delete an entity (its history stays in the stream's dataset)."""
    http.check_csrf(request)

    def work() -> None:
        w = entities.Writer.open(session, settings, actor)
        entities.delete(w, entity_id)
        w.flush()

    await run_in_threadpool(work)
    return Response(status_code=204)


def _multi(not_updated: list[dict[str, Any]], updated: list[str]) -> Response:
    if not not_updated:
        return Response(status_code=204)
    return Response(
        orjson.dumps({"updated": updated, "notUpdated": not_updated}),
        status_code=207,
        media_type="application/json",
    )


async def _change_attrs(
    entity_id: str,
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    mode: str,
) -> Response:
    """Append or update an entity's attributes (``entities.change_attrs``): 204, or 207
    naming the attributes that were updated and those that were not."""
    http.check_csrf(request)
    body, ctx = await http.read_body(request)

    def work() -> Response:
        w = entities.Writer.open(session, settings, actor)
        missed = entities.change_attrs(w, entity_id, ctx, body, mode=mode)
        w.flush()
        refused = {m["attributeName"] for m in missed}
        done = [k for k in body if k not in refused and k not in model.ENTITY_MEMBERS]
        return _multi(missed, done)

    return await run_in_threadpool(work)


@router.post(
    "/entities/{entity_id}/attrs",
    dependencies=[access_deps.WRITER],
    status_code=204,
    responses=http.MULTI_STATUS,
    openapi_extra=http.documented("options", body="object"),
)
async def append_attrs(
    entity_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Append attributes (overwrite existing ones unless ``options=noOverwrite``)."""
    mode = "append-keep" if "noOverwrite" in http.options(request) else "append"
    return await _change_attrs(entity_id, request, session, settings, actor, mode)


@router.patch(
    "/entities/{entity_id}/attrs",
    dependencies=[access_deps.WRITER],
    status_code=204,
    responses=http.MULTI_STATUS,
    openapi_extra=http.documented(body="object"),
)
async def update_attrs(
    entity_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Update existing attributes (207 lists those the entity does not have)."""
    return await _change_attrs(entity_id, request, session, settings, actor, "update")


@router.patch(
    "/entities/{entity_id}/attrs/{attr}",
    dependencies=[access_deps.WRITER],
    status_code=204,
    openapi_extra=http.documented(body="object"),
)
async def partial_update(
    entity_id: str,
    attr: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Partially update one attribute (merge the members sent)."""
    http.check_csrf(request)
    body, ctx = await http.read_body(request)

    def work() -> None:
        w = entities.Writer.open(session, settings, actor)
        entities.partial_update(w, entity_id, ctx, attr, body)
        w.flush()

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}", status_code=204, dependencies=[access_deps.WRITER]
)
async def delete_attr(
    entity_id: str,
    attr: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Delete one attribute."""
    http.check_csrf(request)
    ctx = http.request_context(request)

    def work() -> None:
        w = entities.Writer.open(session, settings, actor)
        entities.delete_attr(w, entity_id, ctx, attr)
        w.flush()

    await run_in_threadpool(work)
    return Response(status_code=204)
