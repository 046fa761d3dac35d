"""Sensor tables: streams (a live dataset per entity type), entities (the NGSI-LD context
store and device registry, with each entity's latest values) and ingest counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow

BIG = BigInteger().with_variant(Integer, "sqlite")


class SensorStream(UUIDPk, Timestamps, Base):
    """A live dataset that holds the observations of one entity type.

    ``attributes`` lists the measured attributes, each one column of the dataset:
    ``{"name": "no2", "iri": "https://…/no2", "type": "number", "unit": "GQ"}``.
    """

    __tablename__ = "sensor_streams"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), unique=True
    )
    entity_type: Mapped[str] = mapped_column(String(300), index=True)  # expanded IRI
    type_name: Mapped[str] = mapped_column(String(100), index=True)  # short name, MQTT topics
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class SensorEntity(Base):
    """An NGSI-LD entity: its attributes (expanded names, normalised form) with the latest
    values, kept in step with every acknowledged observation. Also the device registry: an
    observation for an id that is not here is an unknown device."""

    __tablename__ = "sensor_entities"

    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    stream_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sensor_streams.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(300), index=True)  # expanded IRI
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    latitude: Mapped[float | None] = mapped_column(Float, index=True)
    longitude: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[datetime | None]  # the newest observation taken
    recent: Mapped[list[str]] = mapped_column(JSON, default=list)  # newest observedAt, dedupe
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class SensorCounter(Base):
    """How many observations a stream took or turned away, per channel and outcome.

    ``scope`` is the stream's dataset slug, or ``-`` for messages no stream could be found
    for; ``outcome`` is accepted, duplicate, out_of_order, malformed or unknown_device."""

    __tablename__ = "sensor_counters"

    scope: Mapped[str] = mapped_column(String(130), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BIG, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NgsiSubscription(Base):
    """An NGSI-LD subscription: which entity changes to notify, to which HTTP endpoint.

    ``doc`` is the subscription as stored (expanded type and attribute names; see
    ``ngsi/subscriptions.py``); notifications are read on behalf of ``user_id`` (and the
    agreement of the token that made it), so the gate decides them like any read."""

    __tablename__ = "ngsi_subscriptions"

    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[uuid.UUID | None]
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[list[Any]] = mapped_column(JSON, default=list)  # as the client sent it
    active: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime | None]
    times_sent: Mapped[int] = mapped_column(BIG, default=0)
    times_failed: Mapped[int] = mapped_column(BIG, default=0)
    last_notification: Mapped[datetime | None]
    last_success: Mapped[datetime | None]
    last_failure: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)


class NgsiNotification(UUIDPk, Base):
    """A notification to send (a transactional outbox row): written in the transaction of
    the change it reports, so it exists only if that change committed; sent afterwards by
    the sender (``ngsi/notify.py``), retried with back-off, kept a day after sending."""

    __tablename__ = "ngsi_notifications"

    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("ngsi_subscriptions.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    failed: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
