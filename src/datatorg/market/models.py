"""Marketplace tables: offers, access requests (negotiations), agreements, usage, notifications.

An agreement's terms are frozen once agreed: a flush that changes any term column raises
(``_refuse_term_changes``); only its state (suspend, revoke, terminate) may change.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow


class PriceModel(enum.StrEnum):
    """How an offer is priced, in NOK (invoiced by the city; no payment processing)."""

    free = "free"
    monthly = "monthly"  # fixed amount per started month
    per_call = "per_call"
    per_1000_rows = "per_1000_rows"


class NegotiationState(enum.StrEnum):
    """Contract negotiation states of the Dataspace Protocol."""

    requested = "REQUESTED"
    offered = "OFFERED"
    accepted = "ACCEPTED"
    agreed = "AGREED"
    verified = "VERIFIED"
    finalized = "FINALIZED"
    terminated = "TERMINATED"


class AgreementState(enum.StrEnum):
    """The life of an agreement after it was agreed (expiry is by date, see ``valid_until``)."""

    active = "active"
    suspended = "suspended"
    revoked = "revoked"
    terminated = "terminated"


class Offer(UUIDPk, Timestamps, Base):
    """The terms a dataset's publisher offers it under."""

    __tablename__ = "market_offers"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(300), default="")
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)  # DPV purpose terms
    consumer_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # OrgKind values
    columns: Mapped[list[str] | None] = mapped_column(JSON)  # None: every column
    aggregate_only: Mapped[bool] = mapped_column(default=False)
    max_period_days: Mapped[int] = mapped_column(Integer, default=365)
    calls_per_day: Mapped[int | None] = mapped_column(Integer)
    rows_per_month: Mapped[int | None] = mapped_column(BigInteger)
    price_model: Mapped[PriceModel] = mapped_column(
        Enum(PriceModel, native_enum=False, length=20), default=PriceModel.free
    )
    price_nok: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    legal_basis: Mapped[str] = mapped_column(String(60), default="Contract")  # DPV term
    auto_approve: Mapped[bool] = mapped_column(default=False)
    attribution_required: Mapped[bool] = mapped_column(default=True)
    redistribution_prohibited: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class AccessRequest(UUIDPk, Timestamps, Base):
    """One contract negotiation: a consumer's request and the provider's answers."""

    __tablename__ = "market_requests"

    offer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_offers.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    provider_org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    consumer_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    consumer_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )  # None: a private person
    purpose: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    pilot_ref: Mapped[str] = mapped_column(String(200), default="")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    columns: Mapped[list[str] | None] = mapped_column(JSON)
    state: Mapped[NegotiationState] = mapped_column(
        Enum(NegotiationState, native_enum=False, length=20),
        default=NegotiationState.requested,
        index=True,
    )
    due_at: Mapped[datetime]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    agreement_id: Mapped[uuid.UUID | None]


class Agreement(UUIDPk, Timestamps, Base):
    """An ODRL Agreement: frozen terms, a content hash, and a state that may only narrow."""

    __tablename__ = "market_agreements"

    request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("market_requests.id", ondelete="SET NULL"), index=True
    )
    offer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("market_offers.id", ondelete="SET NULL")
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), index=True
    )
    assigner_org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    assignee_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    assignee_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(60))
    legal_basis: Mapped[str] = mapped_column(String(60))
    columns: Mapped[list[str] | None] = mapped_column(JSON)
    aggregate_only: Mapped[bool]
    calls_per_day: Mapped[int | None] = mapped_column(Integer)
    rows_per_month: Mapped[int | None] = mapped_column(BigInteger)
    price_model: Mapped[PriceModel] = mapped_column(Enum(PriceModel, native_enum=False, length=20))
    price_nok: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    licence: Mapped[str] = mapped_column(String(300))
    attribution_required: Mapped[bool]
    redistribution_prohibited: Mapped[bool]
    valid_from: Mapped[datetime] = mapped_column(index=True)
    valid_until: Mapped[datetime] = mapped_column(index=True)
    agreed_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[AgreementState] = mapped_column(
        Enum(AgreementState, native_enum=False, length=20),
        default=AgreementState.active,
        index=True,
    )
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_at: Mapped[datetime | None]
    expiry_notified_at: Mapped[datetime | None]


# Columns an agreement may change after it was agreed; everything else is its frozen content.
MUTABLE_AGREEMENT_COLUMNS = frozenset(
    {"state", "state_reason", "state_changed_at", "expiry_notified_at", "updated_at", "request_id"}
)


@event.listens_for(Session, "before_flush")
def _refuse_term_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if not isinstance(obj, Agreement):
            continue
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            if attr.key in MUTABLE_AGREEMENT_COLUMNS:
                continue
            if state.attrs[attr.key].history.has_changes():
                raise ValueError(f"agreement terms are immutable ({attr.key})")


class UsageDay(Base):
    """Metered use of one agreement on one UTC day."""

    __tablename__ = "market_usage"
    __table_args__ = (UniqueConstraint("agreement_id", "day"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_agreements.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    nbytes: Mapped[int] = mapped_column(BigInteger, default=0)


class QuotaWindow(Base):
    """What an agreement's quota has handed out in one window: calls of a UTC day
    (``kind="calls"``) or rows of a month (``kind="rows"``, ``start`` its first day).

    The gate reserves from it with one conditional UPDATE before a read (so concurrent
    reads can never hand out more than the quota) and gives back what a read did not use;
    ``used`` is the billed usage (``UsageDay``) plus the reservations of reads in flight.
    """

    __tablename__ = "market_quota_windows"

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("market_agreements.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    last_grant: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(UUIDPk, Base):
    """One message in a user's in-app inbox."""

    __tablename__ = "market_notifications"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
