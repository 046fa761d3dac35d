"""NGSI-LD subscriptions (ETSI GS CIM 009, 5.8): create, list, retrieve, update, delete.

A subscription belongs to the user who made it (and to the agreement of the token used):
notifications are read on that user's behalf, decided and audited by the gate when they are
sent (``notify.py``). Only http(s) endpoints; addresses on private networks or this machine
only when ``DATATORG_NGSI_NOTIFY_PRIVATE_HOSTS`` allows them (no server-side requests into
the city's own network by default).
"""

from __future__ import annotations

import socket
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import orjson
from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.sensors import deps as access_deps
from datatorg.sensors.models import NgsiSubscription
from datatorg.sensors.ngsi import context as ld
from datatorg.sensors.ngsi import endpoints, entities, http, model, notify
from datatorg.sensors.ngsi.errors import AlreadyExists, BadRequestData, ResourceNotFound
from datatorg.sensors.ngsi.patterns import compile_pattern
from datatorg.sensors.ngsi.query import parse, parse_geo
from datatorg.settings import Settings
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(
    prefix="/ngsi-ld/v1/subscriptions", tags=["NGSI-LD"], dependencies=[access_deps.SUBSCRIBER]
)
MAX_PER_USER = 100


def _private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # unknown now; checked again at every send (notify.target)
    return any(endpoints.blocked(str(addr)) for addr in addresses)


def check_endpoint(uri: Any, settings: Settings) -> str:
    if not isinstance(uri, str) or len(uri) > 1000:
        raise BadRequestData("notification.endpoint.uri must be an http(s) URL")
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadRequestData("notification.endpoint.uri must be an http(s) URL")
    if not settings.ngsi_notify_private_hosts and _private(parsed.hostname):
        raise BadRequestData("notification.endpoint.uri may not point into a private network")
    return uri


def parse_subscription(body: Any, ctx: ld.Context, settings: Settings) -> dict[str, Any]:
    """The stored form of a subscription body (expanded names), checked."""
    if not isinstance(body, dict):
        raise BadRequestData("A subscription is a JSON object")
    if body.get("type", "Subscription") != "Subscription":
        raise BadRequestData("type must be Subscription")
    doc: dict[str, Any] = {"type": "Subscription"}
    entities = body.get("entities")
    watched = body.get("watchedAttributes")
    if entities is None and watched is None:
        raise BadRequestData("A subscription needs entities or watchedAttributes")
    if entities is not None:
        if not isinstance(entities, list) or not entities or len(entities) > 100:
            raise BadRequestData("entities must be a list of 1 to 100 selectors")
        doc["entities"] = []
        for sel in entities:
            if not isinstance(sel, dict) or "type" not in sel:
                raise BadRequestData("Each entity selector needs a type")
            item = {"type": ctx.expand(model.check_name(sel["type"], "type"))}
            if "id" in sel:
                item["id"] = model.check_id(sel["id"])
            if "idPattern" in sel:
                compile_pattern(sel["idPattern"])
                item["idPattern"] = str(sel["idPattern"])
            doc["entities"].append(item)
    if watched is not None:
        if not isinstance(watched, list) or not watched:
            raise BadRequestData("watchedAttributes must be a non-empty list")
        doc["watchedAttributes"] = [ctx.expand(model.check_name(a)) for a in watched]
    if "q" in body:
        parse(str(body["q"]), ctx)
        doc["q"] = str(body["q"])
    if "geoQ" in body:
        g = body["geoQ"]
        if not isinstance(g, dict):
            raise BadRequestData("geoQ must be an object")
        coords = g.get("coordinates")
        parse_geo(
            g.get("georel"),
            g.get("geometry"),
            coords if isinstance(coords, str) else orjson.dumps(coords).decode(),
            g.get("geoproperty"),
            ctx,
        )
        doc["geoQ"] = {
            k: g[k] for k in ("georel", "geometry", "coordinates", "geoproperty") if k in g
        }
    note = body.get("notification")
    if not isinstance(note, dict) or not isinstance(note.get("endpoint"), dict):
        raise BadRequestData("A subscription needs notification.endpoint")
    endpoint = note["endpoint"]
    accept = endpoint.get("accept", "application/json")
    if accept not in ("application/json", "application/ld+json"):
        raise BadRequestData("notification.endpoint.accept: application/json or ld+json")
    fmt = note.get("format", "normalized")
    if fmt not in ("normalized", "keyValues", "simplified"):
        raise BadRequestData("notification.format: normalized or keyValues")
    doc["notification"] = {
        "format": "keyValues" if fmt == "simplified" else fmt,
        "endpoint": {"uri": check_endpoint(endpoint.get("uri"), settings), "accept": accept},
    }
    if "attributes" in note:
        if not isinstance(note["attributes"], list):
            raise BadRequestData("notification.attributes must be a list")
        doc["notification"]["attributes"] = [
            ctx.expand(model.check_name(a)) for a in note["attributes"]
        ]
    if "throttling" in body:
        t = body["throttling"]
        if (
            not isinstance(t, int | float)
            or isinstance(t, bool)
            or not 0 <= t <= notify.MAX_THROTTLING
        ):
            raise BadRequestData(
                f"throttling is a number of seconds from 0 to {notify.MAX_THROTTLING} (a year)"
            )
        doc["throttling"] = body["throttling"]
    for key in ("description", "subscriptionName"):
        if key in body:
            if not isinstance(body[key], str) or len(body[key]) > 500:
                raise BadRequestData(f"{key} must be a short text")
            doc[key] = body[key]
    if "expiresAt" in body:
        model.parse_datetime(body["expiresAt"], "expiresAt")
        doc["expiresAt"] = body["expiresAt"]
    if "isActive" in body:
        if not isinstance(body["isActive"], bool):
            raise BadRequestData("isActive is true or false")
    return doc


TOKEN_KEY = "_token"  # in the stored doc: the API token the subscription was made with


def _credential(doc: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """``doc`` remembering the API token of the request that made (or last changed) it:
    notifications stop when that token is revoked or expires (``notify._actor``), so a
    stolen token's subscriptions do not outlive it. A browser session binds none."""
    doc = {k: v for k, v in doc.items() if k != TOKEN_KEY}
    if actor.token_id is not None:
        doc[TOKEN_KEY] = str(actor.token_id)
    return doc


def _stamp(when: datetime | None) -> str | None:
    return model.stamp(when) if when else None


def render(sub: NgsiSubscription, ctx: ld.Context) -> dict[str, Any]:
    """A subscription as its owner reads it (names compacted with ``ctx``)."""
    d = sub.doc
    out: dict[str, Any] = {"id": sub.id, "type": "Subscription"}
    for key in ("description", "subscriptionName", "q", "geoQ", "throttling", "expiresAt"):
        if key in d:
            out[key] = d[key]
    if "entities" in d:
        out["entities"] = [dict(e, type=ctx.compact(e["type"])) for e in d["entities"]]
    if "watchedAttributes" in d:
        out["watchedAttributes"] = [ctx.compact(a) for a in d["watchedAttributes"]]
    note = dict(d["notification"])
    if "attributes" in note:
        note["attributes"] = [ctx.compact(a) for a in note["attributes"]]
    note["status"] = (
        "failed"
        if sub.last_failure and (not sub.last_success or sub.last_failure > sub.last_success)
        else "ok"
    )
    note["timesSent"] = sub.times_sent
    note["timesFailed"] = sub.times_failed
    for key, when in (
        ("lastNotification", sub.last_notification),
        ("lastSuccess", sub.last_success),
        ("lastFailure", sub.last_failure),
    ):
        if when:
            note[key] = _stamp(when)
    out["notification"] = note
    expired = sub.expires_at is not None and sub.expires_at <= utcnow()
    out["isActive"] = sub.active
    out["status"] = "expired" if expired else ("active" if sub.active else "paused")
    return out


def _mine(session: Session, actor: Actor, ident: str) -> NgsiSubscription:
    if not actor.is_authenticated:
        raise Unauthenticated("Sign in or send an API token")
    sub = session.get(NgsiSubscription, ident)
    if sub is None or (sub.user_id != actor.user_id and not actor.is_superuser):
        raise ResourceNotFound("No such subscription")
    return sub


def _apply(sub: NgsiSubscription, doc: dict[str, Any], body: dict[str, Any]) -> None:
    sub.doc = doc
    sub.active = bool(body.get("isActive", True if sub.active is None else sub.active))
    sub.expires_at = (
        model.parse_datetime(doc["expiresAt"], "expiresAt") if "expiresAt" in doc else None
    )
    sub.modified_at = utcnow()


@router.post("", status_code=201, openapi_extra=http.documented(body="object"))
async def create_subscription(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Create a subscription (201 with ``Location``)."""
    http.check_csrf(request)
    body, ctx = await http.read_body(request)
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("Sign in or send an API token to subscribe")

    def work() -> str:
        doc = _credential(parse_subscription(body, ctx, settings), actor)
        ident = body.get("id") or f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
        model.check_id(ident, "subscription id")
        if session.get(NgsiSubscription, ident) is not None:
            raise AlreadyExists("A subscription with this id exists")
        owned = (
            session.scalar(
                select(func.count())
                .select_from(NgsiSubscription)
                .where(NgsiSubscription.user_id == actor.user_id)
            )
            or 0
        )
        if owned >= MAX_PER_USER:
            raise Forbidden(f"At most {MAX_PER_USER} subscriptions per user")
        sub = NgsiSubscription(
            id=ident,
            user_id=actor.user_id,
            agreement_id=actor.agreement_id,
            context=list(ctx.sent),
            doc=doc,
        )
        _apply(sub, doc, body)
        session.add(sub)
        session.commit()
        return ident

    ident = await run_in_threadpool(work)
    return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/subscriptions/{ident}"})


@router.get("", openapi_extra=http.documented("limit", "offset", "count"))
def list_subscriptions(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The caller's subscriptions (``limit``, ``offset``)."""
    if not actor.is_authenticated:
        raise Unauthenticated("Sign in or send an API token")
    ctx = http.request_context(request)
    limit = entities.check_limit(request.query_params.get("limit"))
    offset = entities.check_offset(request.query_params.get("offset"))
    subs = session.scalars(
        select(NgsiSubscription)
        .where(NgsiSubscription.user_id == actor.user_id)
        .order_by(NgsiSubscription.created_at)
        .limit(limit)
        .offset(offset)
    )
    return http.answer(request, [render(s, ctx) for s in subs], ctx)


@router.get("/{ident}")
def get_subscription(
    ident: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    ctx = http.request_context(request)
    return http.answer(request, render(_mine(session, actor, ident), ctx), ctx)


@router.patch("/{ident}", status_code=204, openapi_extra=http.documented(body="object"))
async def update_subscription(
    ident: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    """Change a subscription: the members sent replace the stored ones."""
    http.check_csrf(request)
    body, ctx = await http.read_body(request)
    if not isinstance(body, dict) or not body:
        raise BadRequestData("Send the members to change")

    def work() -> None:
        sub = _mine(session, actor, ident)
        stored_ctx = ld.build(sub.context or None)
        merged = render(sub, stored_ctx)
        merged.pop("status", None)
        for key in (
            "status",
            "timesSent",
            "timesFailed",
            "lastNotification",
            "lastSuccess",
            "lastFailure",
        ):
            merged["notification"].pop(key, None)
        merged.update({k: v for k, v in body.items() if k not in ("id", "@context")})
        doc = parse_subscription(merged, stored_ctx if not ctx.sent else ctx, settings)
        _apply(sub, _credential(doc, actor), merged)
        session.commit()

    await run_in_threadpool(work)
    return Response(status_code=204)


@router.delete("/{ident}", status_code=204)
def delete_subscription(
    ident: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    http.check_csrf(request)
    session.delete(_mine(session, actor, ident))
    return Response(status_code=204)
