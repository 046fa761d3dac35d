"""Storing an acknowledged micro-batch: lake segment, entities' latest values, counters.

``store_batch`` runs inside the caller's transaction and holds the dataset's write lock
(its head row) from its first statement; the caller commits with ``commit_durably`` and
only then acknowledges (HTTP 2xx, MQTT PUBACK).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.db.engine import engine_of
from datatorg.lake import service as lake
from datatorg.sensors import labels, vocab
from datatorg.sensors.ingest import Observation, StreamSpec
from datatorg.sensors.models import SensorCounter, SensorEntity, SensorStream

RECENT = 32  # observation times kept per entity to recognise duplicates
OUTCOMES = ("accepted", "duplicate", "out_of_order", "malformed", "unknown_device")


@dataclass
class Outcome:
    """What became of a batch's observations."""

    accepted: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    malformed: int = 0
    unknown_device: int = 0
    unknown_ids: list[str] = field(default_factory=list)
    refused: bool = False  # nothing stored: unknown devices in a batch taken whole

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in OUTCOMES}


def spec_of(stream: SensorStream) -> StreamSpec:
    from datatorg.sensors.ingest import Attribute

    return StreamSpec(
        type_name=stream.type_name,
        attributes={
            a["name"]: Attribute(a["name"], a["iri"], a["type"], a.get("unit", ""))
            for a in stream.attributes
        },
    )


def bump(session: Session, scope: str, channel: str, counts: dict[str, int]) -> None:
    """Add ``counts`` to the stream's counters (in the caller's transaction)."""
    now = utcnow()
    for outcome, n in counts.items():
        if n <= 0:
            continue
        key = (
            (SensorCounter.scope == scope)
            & (SensorCounter.channel == channel)
            & (SensorCounter.outcome == outcome)
        )
        done = session.execute(
            update(SensorCounter)
            .where(key)
            .values(count=SensorCounter.count + n, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            continue
        try:
            with session.begin_nested():
                session.execute(
                    insert(SensorCounter).values(
                        scope=scope, channel=channel, outcome=outcome, count=n, updated_at=now
                    )
                )
        except IntegrityError:  # another worker inserted it first
            session.execute(
                update(SensorCounter)
                .where(key)
                .values(count=SensorCounter.count + n, updated_at=now)
                .execution_options(synchronize_session=False)
            )


def _newer(raw: Any, than: datetime) -> bool:
    """Whether the stored DateTime ``raw`` is later than ``than``."""
    if not isinstance(raw, str):
        return False
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) > than


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _table(stream: SensorStream, rows: list[tuple[Observation, SensorEntity]]) -> pa.Table:
    schema = lake.live_arrow_schema(stream_schema(stream))
    names = [a["name"] for a in stream.attributes]
    cols: dict[str, list[Any]] = {n: [] for n in schema.names}
    for obs, ent in rows:
        cols["entityId"].append(obs.entity_id)
        cols["observedAt"].append(obs.observed_at.astimezone(UTC).replace(tzinfo=None))
        cols["latitude"].append(obs.latitude if obs.latitude is not None else ent.latitude)
        cols["longitude"].append(obs.longitude if obs.longitude is not None else ent.longitude)
        for n in names:
            cols[n].append(obs.values.get(n))
    return pa.table(cols, schema=schema)


def _column(
    name: str,
    type_: str,
    title: tuple[str, str] | None,
    description: tuple[str, str] | None,
    **more: Any,
) -> dict[str, Any]:
    """A Table Schema field: ``title``/``description`` in bokmål (what every page shows, as
    for every dataset of the platform), ``title_en``/``description_en`` in English."""
    f: dict[str, Any] = {"name": name, "type": type_}
    if title:
        f["title"], f["title_en"] = title
    if description:
        f["description"], f["description_en"] = description
    return f | {k: v for k, v in more.items() if v}


# The columns every stream's dataset has: name, type, role.
COMMON = (
    ("entityId", "string", ""),
    ("observedAt", "datetime", "time"),
    ("latitude", "number", "latitude"),
    ("longitude", "number", "longitude"),
)


def _given(a: dict[str, Any], key: str) -> tuple[str, str] | None:
    """The words the stream's maker gave an attribute (``title_nb``/``title_en`` …)."""
    nb, en = a.get(f"{key}_nb") or "", a.get(f"{key}_en") or ""
    return (nb or en, en or nb) if nb or en else None


def stream_schema(stream: SensorStream) -> dict[str, Any]:
    """The Table Schema of a stream's dataset: entity, time, position, then each attribute,
    each with a title and a description in bokmål and English where known (the words the
    stream's maker gave, else the Smart Data Models' words in ``sensors.labels``), the unit
    as a symbol, the attribute's IRI (``x-iri``) and, for text attributes, the label kind
    their codes have words in (``x-labels``: pages show ``lidOpen`` as "lokket åpent")."""
    fields = [
        _column(name, type_, labels.column_words(name), labels.describe(name), role=role)
        for name, type_, role in COMMON
    ]
    for a in stream.attributes:
        unit = a.get("unit") or ""
        fields.append(
            _column(
                a["name"],
                a["type"],
                _given(a, "title") or labels.column_words(a["name"]),
                _given(a, "description") or labels.describe(a["name"]),
                unit=labels.unit_symbol(unit) or unit,
                **{"x-iri": a["iri"], "x-labels": labels.VALUE if a["type"] == "string" else ""},
            )
        )
    return {"fields": fields}


def _apply_latest(ent: SensorEntity, obs: Observation, stream: SensorStream) -> None:
    """Make ``obs`` the entity's latest value of each attribute it is newer for."""
    attrs = dict(ent.attrs)
    stamp = _iso(obs.observed_at)
    changed = _iso(utcnow())
    by_name = {a["name"]: a for a in stream.attributes}
    for name, value in obs.values.items():
        if value is None:
            continue
        spec = by_name[name]
        old = attrs.get(spec["iri"])
        if isinstance(old, dict) and _newer(old.get("observedAt"), obs.observed_at):
            continue
        new: dict[str, Any] = dict(old) if isinstance(old, dict) else {"createdAt": changed}
        new.update(type="Property", value=value, observedAt=stamp, modifiedAt=changed)
        if spec.get("unit"):
            new["unitCode"] = spec["unit"]
        attrs[spec["iri"]] = new
    if obs.latitude is not None and obs.longitude is not None:
        old = attrs.get(vocab.LOCATION)
        if not (isinstance(old, dict) and _newer(old.get("observedAt"), obs.observed_at)):
            attrs[vocab.LOCATION] = {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [obs.longitude, obs.latitude]},
                "observedAt": stamp,
            }
            ent.latitude, ent.longitude = obs.latitude, obs.longitude
    ent.attrs = attrs


def _drop_stored(
    session: Session,
    storage: lake.Storage,
    stream: SensorStream,
    rows: list[tuple[Observation, SensorEntity]],
    out: Outcome,
) -> list[tuple[Observation, SensorEntity]]:
    """Drop the observations older than their entity's latest that the dataset already
    holds (a redelivery beyond the remembered ``recent`` times); count out of order ones."""
    late = [
        (o.entity_id, o.observed_at.astimezone(UTC).replace(tzinfo=None))
        for o, e in rows
        if e.observed_at is not None and o.observed_at <= e.observed_at
    ]
    if not late:
        return rows
    stored = lake.live_existing_keys(
        session=session,
        storage=storage,
        dataset_id=stream.dataset_id,
        columns=("entityId", "observedAt"),
        keys=late,
    )
    kept = []
    for obs, ent in rows:
        key = (obs.entity_id, obs.observed_at.astimezone(UTC).replace(tzinfo=None))
        if key in stored:
            out.duplicate += 1
            continue
        if ent.observed_at is not None and obs.observed_at < ent.observed_at:
            out.out_of_order += 1
        kept.append((obs, ent))
    return kept


def store_batch(
    *,
    session: Session,
    storage: lake.Storage,
    stream: SensorStream,
    scope: str,
    observations: list[Observation],
    channel: str,
    malformed: int = 0,
    whole: bool = False,
    notify: bool = True,
) -> Outcome:
    """Classify and store ``observations`` of ``stream``; the caller commits, then acks.

    Duplicates (same entity and observedAt, within the batch or among the entity's recent
    observations) are dropped; older-than-latest observations are stored (out_of_order)
    without changing the latest values; unknown entity ids are dropped and counted, or,
    with ``whole``, make the batch refused (nothing stored or counted; the caller rolls back).
    """
    out = Outcome(malformed=malformed)
    lake.live_lock(session, stream.dataset_id)  # first statement: waits its turn for the lock
    ids = sorted({o.entity_id for o in observations})
    entities: dict[str, SensorEntity] = {}
    for i in range(0, len(ids), 500):
        for ent in session.scalars(
            select(SensorEntity).where(
                SensorEntity.id.in_(ids[i : i + 500]), SensorEntity.stream_id == stream.id
            )
        ):
            entities[ent.id] = ent
    rows: list[tuple[Observation, SensorEntity]] = []
    seen: dict[str, set[str]] = {}
    unknown: Counter[str] = Counter()
    for obs in sorted(observations, key=lambda o: (o.entity_id, o.observed_at)):
        found = entities.get(obs.entity_id)
        if found is None:
            unknown[obs.entity_id] += 1
            continue
        ent = found
        stamp = _iso(obs.observed_at)
        recent = seen.setdefault(ent.id, set(ent.recent))
        if stamp in recent:
            out.duplicate += 1
            continue
        recent.add(stamp)
        rows.append((obs, ent))
    rows = _drop_stored(session, storage, stream, rows, out)
    out.unknown_device = sum(unknown.values())
    out.unknown_ids = sorted(unknown)[:20]
    if whole and unknown:
        out.refused = True
        return out
    out.accepted = len(rows)
    if rows:
        lake.live_append(
            session=session,
            storage=storage,
            dataset_id=stream.dataset_id,
            table=_table(stream, rows),
        )
        now = utcnow()
        for obs, ent in rows:
            _apply_latest(ent, obs, stream)
            if ent.observed_at is None or obs.observed_at > ent.observed_at:
                ent.observed_at = obs.observed_at
            ent.modified_at = now
        for ent_id, stamps in seen.items():
            ent = entities[ent_id]
            ent.recent = sorted(stamps)[-RECENT:]
        if notify:  # subscriptions: queued in this transaction, sent after it commits
            from datatorg.sensors.ngsi import notify as notifications

            iris = {a["name"]: a["iri"] for a in stream.attributes}
            changed: dict[str, set[str]] = {}
            for obs, ent in rows:
                names = {iris[n] for n, v in obs.values.items() if v is not None}
                if obs.latitude is not None:
                    names.add(vocab.LOCATION)
                changed.setdefault(ent.id, set()).update(names)
            notifications.enqueue(session, [(entities[i], c) for i, c in changed.items()])
    bump(session, scope, channel, out.counts())
    return out


def commit_durably(session: Session) -> None:
    """Commit so that the data survives a crash of the machine, not only of the process.

    PostgreSQL's commit already waits for its WAL flush (``synchronous_commit``); SQLite
    runs with ``synchronous=NORMAL`` (its WAL is not flushed at each commit), so its WAL
    file is fsynced after the commit."""
    session.commit()
    engine = engine_of(session)
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if not database or database == ":memory:":
        return
    for path in (database + "-wal", database):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
