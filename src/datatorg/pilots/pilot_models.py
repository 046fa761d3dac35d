"""Living-lab tables, part two: pilots, their team, phases, resources, data requests,
timeline, participants, KPIs with measurements, and results with reports."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow


def _enum(cls: type[enum.Enum], length: int = 30) -> Enum:
    return Enum(cls, native_enum=False, length=length)


class PilotState(enum.StrEnum):
    running = "running"
    completed = "completed"


class Phase(enum.StrEnum):
    exploration = "exploration"
    co_creation = "co_creation"
    experimentation = "experimentation"
    evaluation = "evaluation"


class ResourceKind(enum.StrEnum):
    competence = "competence"
    infrastructure = "infrastructure"
    data = "data"
    method = "method"
    funding = "funding"


class ResourceStatus(enum.StrEnum):
    requested = "requested"
    granted = "granted"
    declined = "declined"


class Outcome(enum.StrEnum):
    scale = "scale"
    iterate = "iterate"
    stop = "stop"


class Direction(enum.StrEnum):
    increase = "increase"
    decrease = "decrease"


class KpiSource(enum.StrEnum):
    manual = "manual"
    dataset = "dataset"


class Schedule(enum.StrEnum):
    manual = "manual"
    daily = "daily"
    weekly = "weekly"


class UpdateKind(enum.StrEnum):
    note = "note"
    milestone = "milestone"
    event = "event"  # written by the platform (pilot created, data requested, KPI computed…)


def _user_fk(index: bool = False) -> Any:
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=index)


class Pilot(UUIDPk, Timestamps, Base):
    """A pilot made from an accepted idea."""

    __tablename__ = "pilots"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="RESTRICT"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(60))  # DPV purpose its data requests state
    lead_user_id: Mapped[uuid.UUID | None] = _user_fk(index=True)
    state: Mapped[PilotState] = mapped_column(
        _enum(PilotState, 20), default=PilotState.running, index=True
    )
    recruiting: Mapped[bool] = mapped_column(default=False)
    participation_text: Mapped[str] = mapped_column(Text, default="")  # what joining means
    created_by: Mapped[uuid.UUID | None] = _user_fk()


class PilotMember(Base):
    """Someone on the pilot's team (the lead is one too)."""

    __tablename__ = "pilot_members"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(100), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class PilotPartner(UUIDPk, Base):
    """A partner organisation and what it brings."""

    __tablename__ = "pilot_partners"
    __table_args__ = (UniqueConstraint("pilot_id", "organisation_id"),)

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    contribution: Mapped[str] = mapped_column(String(500), default="")


class PilotPhase(Base):
    """One of the four phases, with its dates."""

    __tablename__ = "pilot_phases"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True
    )
    phase: Mapped[Phase] = mapped_column(_enum(Phase, 20), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")


class PilotResource(UUIDPk, Base):
    """A resource the pilot asks for (competence, infrastructure, data, method, funding)."""

    __tablename__ = "pilot_resources"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ResourceKind] = mapped_column(_enum(ResourceKind, 20))
    description: Mapped[str] = mapped_column(String(1000))
    amount: Mapped[str] = mapped_column(String(100), default="")  # "200 hours", "NOK 50 000"
    status: Mapped[ResourceStatus] = mapped_column(
        _enum(ResourceStatus, 20), default=ResourceStatus.requested
    )
    decision_note: Mapped[str] = mapped_column(String(1000), default="")
    requested_by: Mapped[uuid.UUID | None] = _user_fk()
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = _user_fk()
    decided_at: Mapped[datetime | None]


class PilotDataRequest(Base):
    """A marketplace access request made from the pilot (the pilot is its stated purpose)."""

    __tablename__ = "pilot_data_requests"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True
    )
    access_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_requests.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PilotUpdate(UUIDPk, Base):
    """An entry on the pilot's timeline."""

    __tablename__ = "pilot_updates"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[UpdateKind] = mapped_column(_enum(UpdateKind, 20), default=UpdateKind.note)
    title: Mapped[str] = mapped_column(String(200))  # for events: an English msgid
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # an event's values
    author_id: Mapped[uuid.UUID | None] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Participant(Base):
    """A citizen taking part, on consent for the pilot's purpose (withdrawn at any time)."""

    __tablename__ = "pilot_participants"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    consent_ref: Mapped[str] = mapped_column(String(100), default="")  # the consent record


class Kpi(UUIDPk, Timestamps, Base):
    """A key performance indicator: entered by hand, or computed through the gate."""

    __tablename__ = "pilot_kpis"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[Direction] = mapped_column(_enum(Direction, 20))
    sdg: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[KpiSource] = mapped_column(_enum(KpiSource, 20), default=KpiSource.manual)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL")
    )
    query: Mapped[str] = mapped_column(String(2000), default="")  # the gate's URL language
    run_as: Mapped[uuid.UUID | None] = _user_fk()  # whose rights the gate reads with
    schedule: Mapped[Schedule] = mapped_column(_enum(Schedule, 20), default=Schedule.manual)
    last_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_ok: Mapped[bool | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = _user_fk()


class Measurement(Base):
    """One value of a KPI for one period (a day, or the start of a week or month)."""

    __tablename__ = "pilot_kpi_values"
    __table_args__ = (UniqueConstraint("kpi_id", "period", "computed"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kpi_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_kpis.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    computed: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    entered_by: Mapped[uuid.UUID | None] = _user_fk()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Result(Base):
    """The pilot's final evaluation: scale up, iterate or stop, and what was learnt."""

    __tablename__ = "pilot_results"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, 20))
    summary: Mapped[str] = mapped_column(Text)
    lessons: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[uuid.UUID | None] = _user_fk()
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(UUIDPk, Base):
    """A report attached to a pilot (stored in the control plane; small files only)."""

    __tablename__ = "pilot_reports"

    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(120))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[uuid.UUID | None] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
