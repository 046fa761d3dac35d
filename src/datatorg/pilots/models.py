"""Living-lab tables, part one: calls for ideas, ideas, support, comments, evaluations.

Pilots, their KPIs and results are in ``pilot_models`` (re-exported here).
"""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow


def _enum(cls: type[enum.Enum], length: int = 30) -> Enum:
    return Enum(cls, native_enum=False, length=length)


class SubmitterKind(enum.StrEnum):
    citizen = "citizen"
    startup = "startup"
    student = "student"
    municipality = "municipality"
    research = "research"


class Domain(enum.StrEnum):
    city_development = "city_development"
    emergency_preparedness = "emergency_preparedness"
    culture = "culture"
    sport = "sport"
    volunteering = "volunteering"
    municipal_services = "municipal_services"
    energy = "energy"
    mobility = "mobility"
    health = "health"
    education = "education"


class IdeaState(enum.StrEnum):
    """submitted → screening → evaluating → accepted / rejected; withdrawn by the submitter."""

    submitted = "submitted"
    screening = "screening"
    evaluating = "evaluating"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"


class CommentStatus(enum.StrEnum):
    visible = "visible"
    hidden = "hidden"


class Call(UUIDPk, Timestamps, Base):
    """A call for ideas: a theme, a period, criteria with weights and a support threshold."""

    __tablename__ = "pilot_calls"

    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[str] = mapped_column(Text, default="")  # what the evaluators look for
    weights: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # criterion → percent
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)  # [] = every domain
    opens_on: Mapped[date] = mapped_column(Date, index=True)
    closes_on: Mapped[date] = mapped_column(Date, index=True)
    support_threshold: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Idea(UUIDPk, Timestamps, Base):
    """An idea from anyone: the problem, a proposed solution and what it needs."""

    __tablename__ = "pilot_ideas"

    call_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pilot_calls.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    submitter_kind: Mapped[SubmitterKind] = mapped_column(_enum(SubmitterKind), index=True)
    domain: Mapped[Domain] = mapped_column(_enum(Domain), index=True)
    place: Mapped[str] = mapped_column(String(40), default="halden")  # geo.PLACES code
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    need_competence: Mapped[str] = mapped_column(Text, default="")
    need_infrastructure: Mapped[str] = mapped_column(Text, default="")
    need_data: Mapped[str] = mapped_column(Text, default="")
    need_method: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    state: Mapped[IdeaState] = mapped_column(
        _enum(IdeaState), default=IdeaState.submitted, index=True
    )
    support_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    threshold_reached_at: Mapped[datetime | None]
    # screening
    personal_data: Mapped[bool | None]
    dpia_required: Mapped[bool] = mapped_column(default=False)
    dpia_reference: Mapped[str] = mapped_column(String(300), default="")
    screening_note: Mapped[str] = mapped_column(Text, default="")
    # the published answer to the submitter
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    sdg_tags: Mapped[list[IdeaSdg]] = relationship(
        cascade="all, delete-orphan", order_by="IdeaSdg.sdg", lazy="selectin"
    )

    @property
    def sdgs(self) -> list[int]:
        """The Sustainable Development Goals (1–17) the idea is tagged with."""
        return [t.sdg for t in self.sdg_tags]


class IdeaSdg(Base):
    """An idea's tag with one of the 17 goals (a table, so the portfolio filters by index)."""

    __tablename__ = "pilot_idea_sdgs"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), primary_key=True
    )
    sdg: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class IdeaDataset(Base):
    """A catalog dataset an idea asks for."""

    __tablename__ = "pilot_idea_datasets"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Support(Base):
    """One person's public support for an idea (one per person)."""

    __tablename__ = "pilot_supports"
    __table_args__ = (UniqueConstraint("idea_id", "user_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(UUIDPk, Base):
    """A public comment on an idea; a moderator may hide it, saying why."""

    __tablename__ = "pilot_comments"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[CommentStatus] = mapped_column(
        _enum(CommentStatus, 20), default=CommentStatus.visible
    )
    flags: Mapped[int] = mapped_column(Integer, default=0, index=True)
    moderation_reason: Mapped[str] = mapped_column(String(500), default="")
    moderated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    moderated_at: Mapped[datetime | None]


class CommentFlag(Base):
    """Someone reported a comment to the moderators (once per person)."""

    __tablename__ = "pilot_comment_flags"

    comment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Base):
    """An evaluator the coordinator asked to score an idea."""

    __tablename__ = "pilot_assignments"

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), primary_key=True
    )
    evaluator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class Evaluation(UUIDPk, Base):
    """One evaluator's scores (1–5 per criterion) with comments and the weighted score."""

    __tablename__ = "pilot_evaluations"
    __table_args__ = (UniqueConstraint("idea_id", "evaluator_id"),)

    idea_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilot_ideas.id", ondelete="CASCADE"), index=True
    )
    evaluator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    weighted: Mapped[float] = mapped_column(Float)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


from datatorg.pilots.pilot_models import (  # noqa: E402  (one place to import every table)
    Direction,
    Kpi,
    KpiSource,
    Measurement,
    Outcome,
    Participant,
    Phase,
    Pilot,
    PilotDataRequest,
    PilotMember,
    PilotPartner,
    PilotPhase,
    PilotResource,
    PilotState,
    PilotUpdate,
    Report,
    ResourceKind,
    ResourceStatus,
    Result,
    Schedule,
    UpdateKind,
)

__all__ = [
    "Assignment",
    "Call",
    "Comment",
    "CommentFlag",
    "CommentStatus",
    "Direction",
    "Domain",
    "Evaluation",
    "Idea",
    "IdeaDataset",
    "IdeaSdg",
    "IdeaState",
    "Kpi",
    "KpiSource",
    "Measurement",
    "Outcome",
    "Participant",
    "Phase",
    "Pilot",
    "PilotDataRequest",
    "PilotMember",
    "PilotPartner",
    "PilotPhase",
    "PilotResource",
    "PilotState",
    "PilotUpdate",
    "Report",
    "ResourceKind",
    "ResourceStatus",
    "Result",
    "Schedule",
    "SubmitterKind",
    "Support",
    "UpdateKind",
]
