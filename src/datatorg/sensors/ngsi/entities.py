"""NGSI-LD entities: create, retrieve, query, delete, and attribute changes.

Writes belong to the entity's stream (by type; a publisher of the stream's dataset may
write). A measured attribute of the stream written with a value is also an observation:
it goes into the stream's live dataset (its history, read by the temporal API) in the same
transaction. Reads go through the gate (``reads.Reader``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

from datatorg.db.engine import engine_of
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.lake.models import DatasetHead
from datatorg.sensors import policies, service, store, vocab
from datatorg.sensors.ingest import Observation
from datatorg.sensors.models import SensorEntity, SensorStream
from datatorg.sensors.ngsi import http, model
from datatorg.sensors.ngsi.context import Context
from datatorg.sensors.ngsi.errors import (
    AlreadyExists,
    BadRequestData,
    ResourceNotFound,
    TooManyResults,
)
from datatorg.sensors.ngsi.query import GeoQuery, geo_matches, matches
from datatorg.sensors.ngsi.reads import Reader
from datatorg.settings import Settings

MAX_OFFSET = 1_000_000
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
GEO = set(vocab.GEO_PROPERTIES)


def _value_fits(kind: str, value: Any) -> bool:
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and len(value) <= 1000


def stream_for(
    session: Session, actor: Actor, type_iri: str, hint: str | None
) -> service.StreamRef:
    """The stream an entity of ``type_iri`` written by ``actor`` belongs to."""
    refs = [r for r in service.streams(session=session) if r.stream.entity_type == type_iri]
    if hint:
        refs = [r for r in refs if hint in (r.dataset.slug, str(r.dataset.id))]
    if not refs:
        raise BadRequestData(
            "No sensor stream takes entities of this type; a publisher makes one first "
            "(POST /api/v1/sensors/streams)"
        )
    mine = [r for r in refs if policies.can_manage_stream(actor, r.dataset)]
    if not mine:
        if not actor.is_authenticated:
            raise Unauthenticated("Send an API token of a publisher of the stream")
        raise Forbidden("Only publishers of the stream's organisation may write its entities")
    if len(mine) > 1:
        raise BadRequestData(
            "Several of your streams take this type; name one with the Datatorg-Dataset header"
        )
    return mine[0]


def check_stream_values(stream: SensorStream, attrs: dict[str, Any]) -> None:
    """Measured attributes must carry values of the stream's column types."""
    for spec in stream.attributes:
        attr = attrs.get(spec["iri"])
        if isinstance(attr, dict) and "value" in attr:
            if attr.get("type") != "Property" or not _value_fits(spec["type"], attr["value"]):
                raise BadRequestData(
                    f"{spec['name']} is a measured {spec['type']} of this stream; "
                    f"its value must be a {spec['type']} Property"
                )


def observations_of(
    entity_id: str, attrs: dict[str, Any], stream: SensorStream, now: datetime
) -> list[Observation]:
    """The history rows written by these attributes: one observation per observedAt."""
    by_time: dict[datetime, dict[str, Any]] = {}
    for spec in stream.attributes:
        attr = attrs.get(spec["iri"])
        if not isinstance(attr, dict) or "value" not in attr:
            continue
        when = (
            model.parse_datetime(attr["observedAt"], "observedAt") if "observedAt" in attr else now
        )
        by_time.setdefault(when, {})[spec["name"]] = attr["value"]
    return [Observation(entity_id, when, values) for when, values in sorted(by_time.items())]


def locate(ent: SensorEntity) -> None:
    """Keep the entity's latitude/longitude columns in step with its ``location``."""
    loc = ent.attrs.get(vocab.LOCATION)
    found = (
        model.centre(loc["value"])
        if isinstance(loc, dict) and isinstance(loc.get("value"), dict)
        else None
    )
    ent.latitude, ent.longitude = found if found else (None, None)


@dataclass
class Writer:
    """One request's writes: entity rows now, history per stream at ``flush``."""

    session: Session
    settings: Settings
    actor: Actor
    pending: dict[Any, tuple[SensorStream, str, list[Observation]]]
    changed: dict[str, tuple[SensorEntity, set[str]]] = field(default_factory=dict)

    @classmethod
    def open(cls, session: Session, settings: Settings, actor: Actor) -> Writer:
        """Begin the request's write transaction. On SQLite its first statement takes the
        database's write lock (a transaction that read first could not upgrade after
        another writer); PostgreSQL locks each stream's head row when it is written."""
        session.commit()
        if engine_of(session).dialect.name == "sqlite":
            session.execute(
                update(DatasetHead).where(false()).values(version_id=DatasetHead.version_id)
            )
        return cls(session, settings, actor, {})

    def lock(self, stream: SensorStream) -> None:
        lake.live_lock(self.session, stream.dataset_id)

    def touched(self, ent: SensorEntity, iris: set[str]) -> None:
        """Remember a change for the subscriptions (notified at ``flush``)."""
        self.changed.setdefault(ent.id, (ent, set()))[1].update(iris)

    def record(self, ref: service.StreamRef, entity_id: str, attrs: dict[str, Any]) -> None:
        obs = observations_of(
            entity_id, attrs, ref.stream, model.parse_datetime(model.now_stamp(), "now")
        )
        if obs:
            self.pending.setdefault(ref.stream.id, (ref.stream, ref.dataset.slug, []))[2].extend(
                obs
            )

    def flush(self) -> None:
        """Store the history of every stream written, then commit durably."""
        for stream, scope, obs in self.pending.values():
            store.store_batch(
                session=self.session,
                storage=lake.storage(self.settings),
                stream=stream,
                scope=scope,
                observations=obs,
                channel="ngsi",
            )
        self.pending.clear()
        store.commit_durably(self.session)


def create(w: Writer, ctx: Context, body: Any, hint: str | None) -> SensorEntity:
    """Create one entity (``AlreadyExists`` if its id is taken)."""
    if not isinstance(body, dict):
        raise BadRequestData("An entity is a JSON object")
    ident = model.check_id(body.get("id"))
    if "type" not in body:
        raise BadRequestData("An entity needs a type")
    type_iri = model.entity_type(body["type"], ctx)
    ref = stream_for(w.session, w.actor, type_iri, hint)
    attrs = model.attributes_in(body, ctx, at=model.now_stamp(), geo_names=GEO)
    check_stream_values(ref.stream, attrs)
    w.lock(ref.stream)
    if w.session.get(SensorEntity, ident) is not None:
        raise AlreadyExists(f"An entity with id {ident[:200]} exists")
    ent = service.register_entity(
        session=w.session, stream=ref.stream, entity_id=ident, attrs=attrs
    )
    locate(ent)
    w.record(ref, ident, attrs)
    w.touched(ent, set(attrs))
    return ent


def writable(w: Writer, ident: str) -> tuple[SensorEntity, service.StreamRef]:
    """An existing entity the caller may change, locked; 404 / 403 otherwise."""
    model.check_id(ident, "entity id")
    ent = w.session.get(SensorEntity, ident)
    if ent is None:
        raise ResourceNotFound("No such entity")
    stream = w.session.get(SensorStream, ent.stream_id)
    assert stream is not None
    ref = service.stream_ref(session=w.session, stream=stream)
    if not policies.can_manage_stream(w.actor, ref.dataset):
        raise Forbidden("Only publishers of the stream's organisation may change this entity")
    w.lock(stream)
    w.session.refresh(ent)
    return ent, ref


def delete(w: Writer, ident: str) -> None:
    ent, _ = writable(w, ident)
    w.session.delete(ent)
    w.session.flush()


def change_attrs(
    w: Writer, ident: str, ctx: Context, body: Any, *, mode: str
) -> list[dict[str, Any]]:
    """Append (``append``: add or overwrite; ``append-keep``: add only) or update
    (``update``: existing only) attributes; returns the names not updated, with reasons."""
    if not isinstance(body, dict) or not body:
        raise BadRequestData("Send a JSON object of attributes")
    ent, ref = writable(w, ident)
    now = model.now_stamp()
    incoming = model.attributes_in(body, ctx, at=now, geo_names=GEO)
    check_stream_values(ref.stream, incoming)
    attrs = dict(ent.attrs)
    changed: dict[str, Any] = {}
    not_updated = []
    for iri, attr in incoming.items():
        exists = iri in attrs
        if (mode == "update" and not exists) or (mode == "append-keep" and exists):
            reason = "attribute not found" if mode == "update" else "attribute exists"
            not_updated.append({"attributeName": ctx.compact(iri), "reason": reason})
            continue
        if exists and isinstance(attrs[iri], dict):
            attr["createdAt"] = attrs[iri].get("createdAt", now)
        attrs[iri] = attr
        changed[iri] = attr
    ent.attrs = attrs
    locate(ent)
    ent.modified_at = model.parse_datetime(now, "now")
    w.record(ref, ent.id, changed)
    w.touched(ent, set(changed))
    return not_updated


def partial_update(w: Writer, ident: str, ctx: Context, attr_name: str, body: Any) -> None:
    """PATCH one attribute: merge the members sent into it (404 if it is missing)."""
    if not isinstance(body, dict) or not body:
        raise BadRequestData("Send a JSON object with the attribute's members")
    ent, ref = writable(w, ident)
    iri = ctx.expand(model.check_name(attr_name))
    attrs = dict(ent.attrs)
    old = attrs.get(iri)
    if not isinstance(old, dict):
        raise ResourceNotFound("The entity has no such attribute")
    now = model.now_stamp()
    merged = {k: v for k, v in old.items() if k not in ("createdAt", "modifiedAt")}
    merged.update({k: v for k, v in body.items() if k != "@context"})
    if "value" in body and "type" not in body:
        merged["type"] = old.get("type", "Property")
    new = model.attribute(attr_name, merged, ctx, at=now, geo_names=GEO)
    new["createdAt"] = old.get("createdAt", now)
    check_stream_values(ref.stream, {iri: new})
    attrs[iri] = new
    ent.attrs = attrs
    locate(ent)
    ent.modified_at = model.parse_datetime(now, "now")
    w.record(ref, ent.id, {iri: new})
    w.touched(ent, {iri})


def delete_attr(w: Writer, ident: str, ctx: Context, attr_name: str) -> None:
    ent, _ = writable(w, ident)
    iri = ctx.expand(model.check_name(attr_name))
    if iri not in ent.attrs:
        raise ResourceNotFound("The entity has no such attribute")
    ent.attrs = {k: v for k, v in ent.attrs.items() if k != iri}
    locate(ent)
    ent.modified_at = model.parse_datetime(model.now_stamp(), "now")


# -- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    entity: SensorEntity
    attrs: dict[str, Any]  # what the gate lets out


def _streams(session: Session) -> dict[Any, service.StreamRef]:
    return {r.stream.id: r for r in service.streams(session=session)}


def _visible(reader: Reader, ref: service.StreamRef, ent: SensorEntity) -> dict[str, Any] | None:
    allowed = reader.decide(ref.stream, ref.dataset)
    if allowed is None:
        return None
    hidden = reader.hidden_attributes(ref.stream, allowed)
    return {k: v for k, v in ent.attrs.items() if k not in hidden}


def retrieve(session: Session, reader: Reader, ident: str) -> Found:
    model.check_id(ident, "entity id")
    ent = session.get(SensorEntity, ident)
    if ent is None:
        raise ResourceNotFound("No such entity")
    ref = _streams(session)[ent.stream_id]
    attrs = _visible(reader, ref, ent)
    if attrs is None:
        refusal = reader.first_refusal()
        assert refusal is not None
        raise refusal
    reader.count(reader.allowed[ref.dataset.id], 1)
    return Found(ent, attrs)


@dataclass
class Criteria:
    types: list[str] | None = None  # expanded
    ids: list[str] | None = None
    id_pattern: Any = None  # patterns.compile_pattern
    attrs: set[str] | None = None  # expanded
    q: Any = None
    geo: GeoQuery | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def query(session: Session, reader: Reader, c: Criteria) -> tuple[list[Found], int]:
    """Entities matching ``c`` that the gate lets the caller read, and how many in all."""
    refs = _streams(session)
    wanted = [r for r in refs.values() if c.types is None or r.stream.entity_type in c.types]
    readable = [r for r in wanted if reader.decide(r.stream, r.dataset) is not None]
    if wanted and not readable:
        refusal = reader.first_refusal()
        if refusal is not None and c.types is not None:
            raise refusal
    if not readable:
        return [], 0
    stmt = select(SensorEntity).where(SensorEntity.stream_id.in_([r.stream.id for r in readable]))
    if c.ids:
        stmt = stmt.where(SensorEntity.id.in_(c.ids))
    if c.geo is not None and c.geo.rel == "near" and c.geo.max_distance is not None:
        lon, lat = c.geo.geometry["coordinates"][:2]
        span = c.geo.max_distance / 111_000 + 0.01
        stmt = stmt.where(SensorEntity.latitude.between(lat - span, lat + span))
    out: list[Found] = []
    for ent in session.scalars(stmt.order_by(SensorEntity.id)):
        if c.id_pattern is not None and not c.id_pattern.fullmatch(ent.id):
            continue
        attrs = _visible(reader, refs[ent.stream_id], ent)
        if attrs is None:
            continue
        if c.attrs is not None and not (c.attrs & attrs.keys()):
            continue
        if c.q is not None and not matches(c.q, attrs):
            continue
        if c.geo is not None and not geo_matches(c.geo, attrs):
            continue
        out.append(Found(ent, attrs))
    page = out[c.offset : c.offset + c.limit]
    for found in page:
        reader.count(reader.allowed[refs[found.entity.stream_id].dataset.id], 1)
    return page, len(out)


def check_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    if not http.whole(raw) or int(raw) > MAX_OFFSET:
        raise BadRequestData(f"offset must be a whole number up to {MAX_OFFSET}")
    return int(raw)


def check_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not http.whole(raw):
        raise BadRequestData("limit must be a whole number")
    n = int(raw)
    if n > MAX_LIMIT:
        raise TooManyResults(f"limit can be at most {MAX_LIMIT}")
    return n
