"""Sensor services: streams, the device registry, ingesting batches, counters.

Every face (HTTP batch endpoint, MQTT subscriber, NGSI-LD writes) stores observations
through ``ingest``; it commits durably before returning, so its callers acknowledge only
what is stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.db import writes
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.sensors import policies, store, vocab
from datatorg.sensors.ingest import Parsed
from datatorg.sensors.models import SensorCounter, SensorEntity, SensorStream
from datatorg.sensors.store import Outcome, commit_durably, spec_of, stream_schema
from datatorg.settings import Settings

__all__ = [
    "Outcome",
    "commit_durably",
    "count_refused",
    "create_stream",
    "get_stream",
    "ingest",
    "register_entity",
    "spec_of",
    "stream_schema",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
TYPES = ("number", "integer", "string", "boolean")


# An attribute's words for people (its column's title and description): key → most chars.
WORDS = {"title_nb": 120, "title_en": 120, "description_nb": 1000, "description_en": 1000}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _words(a: dict[str, Any], key: str, where: str) -> str:
    value = a[key]
    if not isinstance(value, str) or len(value) > WORDS[key] or _CONTROL.search(value):
        raise Invalid(
            f"{key} is text of at most {WORDS[key]} characters on one line",
            errors=[{"field": f"{where}.{key}"}],
        )
    return value.strip()


def _check_attributes(attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, seen = [], set()
    reserved = {"entityId", "observedAt", "latitude", "longitude", "id", "type"}
    for i, a in enumerate(attributes):
        name, kind = a.get("name"), a.get("type")
        where = f"attributes[{i}]"
        if not isinstance(name, str) or not _NAME.match(name) or name in reserved:
            raise Invalid(
                "Attribute names are letters, digits and _ (not entityId, "
                "observedAt, latitude, longitude)",
                errors=[{"field": where + ".name"}],
            )
        if name in seen:
            raise Invalid("An attribute is named twice", errors=[{"field": where + ".name"}])
        if kind not in TYPES:
            raise Invalid(
                "Attribute types: " + ", ".join(TYPES), errors=[{"field": where + ".type"}]
            )
        iri = a.get("iri") or vocab.DEFAULT_VOCAB + name
        unit = a.get("unit") or ""
        if (
            not isinstance(iri, str)
            or len(iri) > 300
            or not isinstance(unit, str)
            or len(unit) > 20
        ):
            raise Invalid("Attribute IRI or unit too long", errors=[{"field": where}])
        seen.add(name)
        words = {key: _words(a, key, where) for key in WORDS if a.get(key)}
        out.append({"name": name, "iri": iri, "type": kind, "unit": unit} | words)
    if not out:
        raise Invalid("A stream measures at least one attribute", errors=[{"field": "attributes"}])
    return out


def create_stream(
    *,
    session: Session,
    actor: Actor | None,
    dataset: Dataset,
    type_name: str,
    entity_type: str | None = None,
    attributes: list[dict[str, Any]],
) -> SensorStream:
    """Make ``dataset`` a live sensor stream of entities of ``type_name``.

    ``actor`` None is the platform itself (demo loader); otherwise a publisher of the
    dataset's organisation."""
    if actor is not None and not policies.can_manage_stream(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may make a sensor stream")
    if not _NAME.match(type_name):
        raise Invalid(
            "The entity type name is letters, digits and _", errors=[{"field": "type_name"}]
        )
    found = session.scalar(select(SensorStream).where(SensorStream.dataset_id == dataset.id))
    if found is not None:
        raise Conflict("This dataset is already a sensor stream")
    stream = SensorStream(
        id=uuid.uuid4(),
        dataset_id=dataset.id,
        type_name=type_name,
        entity_type=entity_type or vocab.DEFAULT_VOCAB + type_name,
        attributes=_check_attributes(attributes),
    )
    lake.make_live(
        session=session,
        dataset_id=dataset.id,
        schema=stream_schema(stream),
        created_by=actor.user_id if actor else None,
    )
    session.add(stream)
    session.flush()
    lake.describe_in_catalog(session=session, dataset_id=dataset.id, schema=stream_schema(stream))
    return stream


@dataclass(frozen=True)
class StreamRef:
    stream: SensorStream
    dataset: Dataset


def find_stream(*, session: Session, ref: str) -> tuple[Dataset, SensorStream | None]:
    """Dataset ``ref`` (slug or UUID; NotFound if there is none) and its stream, if any."""
    dataset = lake.get_dataset(session=session, ref=ref, related=False)
    stream = session.scalar(select(SensorStream).where(SensorStream.dataset_id == dataset.id))
    return dataset, stream


def get_stream(*, session: Session, ref: str) -> StreamRef:
    """The stream of dataset ``ref`` (slug or UUID); NotFound if it is not a stream."""
    dataset, stream = find_stream(session=session, ref=ref)
    if stream is None:
        raise NotFound("This dataset is not a sensor stream")
    return StreamRef(stream, dataset)


def stream_ref(*, session: Session, stream: SensorStream) -> StreamRef:
    """``stream`` with its dataset."""
    dataset = session.get(Dataset, stream.dataset_id)
    if dataset is None:
        raise NotFound("No such dataset")
    return StreamRef(stream, dataset)


def streams(*, session: Session) -> list[StreamRef]:
    """Every stream with its dataset, by dataset slug."""
    rows = session.execute(
        select(SensorStream, Dataset)
        .join(Dataset, Dataset.id == SensorStream.dataset_id)
        .order_by(Dataset.slug)
    ).all()
    return [StreamRef(s, d) for s, d in rows]


def streams_of_type(*, session: Session, type_name: str) -> list[StreamRef]:
    return [s for s in streams(session=session) if s.stream.type_name == type_name]


def register_entity(
    *,
    session: Session,
    stream: SensorStream,
    entity_id: str,
    attrs: dict[str, Any] | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> SensorEntity:
    """Add a device (entity) to a stream's registry; ``Conflict`` if the id exists."""
    if session.get(SensorEntity, entity_id) is not None:
        raise Conflict("An entity with this id exists")
    doc = dict(attrs or {})
    if latitude is not None and longitude is not None:
        doc.setdefault(
            vocab.LOCATION,
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [longitude, latitude]},
            },
        )
    entity = SensorEntity(
        id=entity_id,
        stream_id=stream.id,
        type=stream.entity_type,
        attrs=doc,
        latitude=latitude,
        longitude=longitude,
        recent=[],
    )
    session.add(entity)
    session.flush()
    return entity


def count_refused(
    *, session: Session, scope: str, channel: str, malformed: int = 0, unknown: int = 0
) -> None:
    """Count observations turned away whole (their batch refused, nothing of it written);
    committed here, so the count stays though the request fails."""
    writes.begin(session)
    store.bump(session, scope, channel, {"malformed": malformed, "unknown_device": unknown})
    session.commit()


def ingest(
    *,
    session: Session,
    settings: Settings,
    ref: StreamRef,
    parsed: Parsed,
    channel: str,
    whole: bool = False,
) -> Outcome:
    """Store the good observations of ``parsed`` and count every outcome; committed durably
    before this returns. With ``whole``, a batch with an unknown device is refused
    (``outcome.refused``; only the refusal is counted)."""
    session.commit()  # end any read transaction: the write lock is the next statement
    outcome = store.store_batch(
        session=session,
        storage=lake.storage(settings),
        stream=ref.stream,
        scope=ref.dataset.slug,
        observations=parsed.observations,
        channel=channel,
        malformed=parsed.malformed,
        whole=whole,
    )
    if outcome.refused:
        count_refused(
            session=session,
            scope=ref.dataset.slug,
            channel=channel,
            unknown=outcome.unknown_device,
        )
        return outcome
    commit_durably(session)
    return outcome


def counters(*, session: Session, scope: str | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """Counters as ``{scope: {channel: {outcome: n}}}`` (one stream's, or all)."""
    stmt = select(SensorCounter)
    if scope is not None:
        stmt = stmt.where(SensorCounter.scope == scope)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for c in session.scalars(stmt):
        out.setdefault(c.scope, {}).setdefault(c.channel, {})[c.outcome] = c.count
    return out


def device_count(*, session: Session, stream: SensorStream) -> int:
    """How many devices (entities) the stream knows."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(SensorEntity)
            .where(SensorEntity.stream_id == stream.id)
        )
        or 0
    )
