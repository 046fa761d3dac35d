"""``/ngsi-ld/v1/types`` and ``/ngsi-ld/v1/attributes``: which entity types and attributes
exist (ETSI GS CIM 009, 5.7.5-5.7.10), over the streams the caller may see."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from datatorg.access import policies as access_policies
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.sensors import deps as access_deps
from datatorg.sensors import service
from datatorg.sensors.models import SensorEntity
from datatorg.sensors.ngsi import http
from datatorg.sensors.ngsi.errors import ResourceNotFound
from datatorg.web.deps import SessionDep

router = APIRouter(prefix="/ngsi-ld/v1", tags=["NGSI-LD"], dependencies=[access_deps.READ_ANY])


class Census:
    """Types, their entity counts and attributes (with attribute types), for one caller."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.attrs: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        refs = [
            r
            for r in service.streams(session=session)
            if access_policies.is_visible(actor, r.dataset)
        ]
        for ref in refs:
            t = ref.stream.entity_type
            self.count.setdefault(t, 0)
            for a in ref.stream.attributes:
                self.attrs[t][a["iri"]].add("Property")
        ids = [r.stream.id for r in refs]
        if ids:
            for etype, attrs in session.execute(
                select(SensorEntity.type, SensorEntity.attrs).where(SensorEntity.stream_id.in_(ids))
            ):
                self.count[etype] += 1
                for iri, attr in attrs.items():
                    if isinstance(attr, dict):
                        self.attrs[etype][iri].add(str(attr.get("type", "Property")))

    def attribute_types(self) -> dict[str, tuple[set[str], set[str], int]]:
        """attribute IRI -> (entity types, attribute types, how many types have it)."""
        out: dict[str, tuple[set[str], set[str], int]] = {}
        for etype, attrs in self.attrs.items():
            for iri, kinds in attrs.items():
                types, all_kinds, n = out.get(iri, (set(), set(), 0))
                out[iri] = (types | {etype}, all_kinds | kinds, n + self.count.get(etype, 0))
        return out


@router.get("/types", openapi_extra=http.documented("details"))
def list_types(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """EntityTypeList, or with ``details=true`` an EntityType per type."""
    ctx = http.request_context(request)
    census = Census(session, actor)
    types = sorted(census.count)
    if http.flag(request, "details"):
        body: Any = [
            {
                "id": t,
                "type": "EntityType",
                "typeName": ctx.compact(t),
                "attributeNames": sorted(ctx.compact(a) for a in census.attrs[t]),
            }
            for t in types
        ]
    else:
        body = {
            "id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}",
            "type": "EntityTypeList",
            "typeList": [ctx.compact(t) for t in types],
        }
    return http.answer(request, body, ctx)


@router.get("/types/{type_name}")
def type_info(type_name: str, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """EntityTypeInfo: the entity count and attribute details of one type."""
    ctx = http.request_context(request)
    census = Census(session, actor)
    iri = ctx.expand(type_name)
    if iri not in census.count:
        raise ResourceNotFound("No such entity type")
    body = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": ctx.compact(iri),
        "entityCount": census.count[iri],
        "attributeDetails": [
            {
                "id": a,
                "type": "Attribute",
                "attributeName": ctx.compact(a),
                "attributeTypes": sorted(kinds),
            }
            for a, kinds in sorted(census.attrs[iri].items())
        ],
    }
    return http.answer(request, body, ctx)


@router.get("/attributes", openapi_extra=http.documented("details"))
def list_attributes(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """AttributeList, or with ``details=true`` an Attribute per attribute."""
    ctx = http.request_context(request)
    found = Census(session, actor).attribute_types()
    if http.flag(request, "details"):
        body: Any = [
            {
                "id": a,
                "type": "Attribute",
                "attributeName": ctx.compact(a),
                "typeNames": sorted(ctx.compact(t) for t in types),
            }
            for a, (types, _kinds, _n) in sorted(found.items())
        ]
    else:
        body = {
            "id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}",
            "type": "AttributeList",
            "attributeList": sorted(ctx.compact(a) for a in found),
        }
    return http.answer(request, body, ctx)


@router.get("/attributes/{attr}")
def attribute_info(attr: str, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Attribute: how many entities' types have it, its attribute types and entity types."""
    ctx = http.request_context(request)
    found = Census(session, actor).attribute_types()
    iri = ctx.expand(attr)
    if iri not in found:
        raise ResourceNotFound("No such attribute")
    types, kinds, count = found[iri]
    body = {
        "id": iri,
        "type": "Attribute",
        "attributeName": ctx.compact(iri),
        "attributeCount": count,
        "attributeTypes": sorted(kinds),
        "typeNames": sorted(ctx.compact(t) for t in types),
    }
    return http.answer(request, body, ctx)
