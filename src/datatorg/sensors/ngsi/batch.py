"""``/ngsi-ld/v1/entityOperations/create|upsert|update|delete``: up to 1000 entities at once.

Each entity succeeds or fails on its own (a savepoint each); the history of every stream
written is stored once at the end, in the same transaction, committed durably before the
answer. All succeeded: 201 (create, upsert that created all) or 204; otherwise 207 with a
BatchOperationResult ``{"success": [ids], "errors": [{"entityId", "error": ProblemDetails}]}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from datatorg.errors import DatatorgError, PayloadTooLarge
from datatorg.identity.deps import ActorDep
from datatorg.sensors import deps as access_deps
from datatorg.sensors.models import SensorEntity
from datatorg.sensors.ngsi import entities, http, model
from datatorg.sensors.ngsi.context import Context
from datatorg.sensors.ngsi.errors import AlreadyExists, BadRequestData, ResourceNotFound, problem
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(
    prefix="/ngsi-ld/v1/entityOperations", tags=["NGSI-LD"], dependencies=[access_deps.WRITER]
)
MAX_BATCH = 1000
OPERATIONS = ("create", "upsert", "update", "delete")


def _one(
    w: entities.Writer, op: str, item: Any, ctx: Context, opts: set[str], hint: str | None
) -> str:
    """Do one entity's part; returns ``created`` or ``changed``."""
    if op == "delete":
        entities.delete(w, model.check_id(item, "entity id"))
        return "changed"
    if not isinstance(item, dict):
        raise BadRequestData("Each entity is a JSON object")
    ident = model.check_id(item.get("id"))
    exists = w.session.get(SensorEntity, ident) is not None
    attrs = {k: v for k, v in item.items() if k not in ("id", "type", "@context")}
    if op == "create":
        entities.create(w, ctx, item, hint)
        return "created"
    if op == "upsert" and not exists:
        try:
            entities.create(w, ctx, item, hint)
            return "created"
        except AlreadyExists:  # made meanwhile by a simultaneous upsert: replace it
            pass
    if op == "upsert" and "update" not in opts:  # replace: the entity becomes what was sent
        ent, _ = entities.writable(w, ident)
        if "type" in item and model.entity_type(item["type"], ctx) != ent.type:
            raise BadRequestData("An upsert cannot change an entity's type")
        ent.attrs = {}
        w.session.flush()
        if attrs:
            entities.change_attrs(w, ident, ctx, attrs, mode="append")
        return "changed"
    mode = "append-keep" if (op == "update" and "noOverwrite" in opts) else "append"
    if op == "update" and not exists:
        raise ResourceNotFound("No such entity")
    if attrs:
        entities.change_attrs(w, ident, ctx, attrs, mode=mode)
    return "changed"


@router.post(
    "/{operation}",
    status_code=204,
    responses={201: {"description": "Created: the ids"}, **http.MULTI_STATUS},
    openapi_extra=http.documented("options", body="array"),
)
async def batch(
    operation: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    """Create, upsert (``options=replace`` default, or ``update``), update
    (``options=noOverwrite``) or delete up to 1000 entities."""
    if operation not in OPERATIONS:
        raise ResourceNotFound("Batch operations: " + ", ".join(OPERATIONS))
    http.check_csrf(request)
    body, ctx = await http.read_body(request)
    opts = http.options(request)
    if not isinstance(body, list) or not body:
        raise BadRequestData("Send a JSON array of entities (ids for delete)")
    if len(body) > MAX_BATCH:
        raise PayloadTooLarge(f"At most {MAX_BATCH} entities per batch operation")
    hint = request.headers.get("datatorg-dataset")

    def work() -> Response:
        w = entities.Writer.open(session, settings, actor)
        success: list[str] = []
        errors: list[dict[str, Any]] = []
        created = 0
        for item in body:
            ident = (
                item
                if isinstance(item, str)
                else (item.get("id") if isinstance(item, dict) else None)
            )
            try:
                with session.begin_nested():
                    outcome = _one(w, operation, item, ctx, opts, hint)
            except DatatorgError as exc:
                errors.append({"entityId": str(ident)[:256], "error": problem(exc)})
                continue
            success.append(str(ident))
            created += outcome == "created"
        w.flush()
        if errors:
            return Response(
                orjson.dumps({"success": success, "errors": errors}),
                status_code=207,
                media_type="application/json",
            )
        if operation == "create" or (operation == "upsert" and created == len(body)):
            return Response(orjson.dumps(success), status_code=201, media_type="application/json")
        return Response(status_code=204)

    return await run_in_threadpool(work)
