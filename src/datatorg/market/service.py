"""Marketplace services. ``check_agreement`` and ``record_usage`` are the seam the gate calls.

The gate (``datatorg.access``) calls ``check_agreement`` before every read of non-open data
by someone outside the owning organisation, and ``record_usage`` after it. Every term is
checked on every call, in this order, and the first that fails is named in ``failed_term``:

``agreement`` (none, unknown, ambiguous, other dataset) · ``assignee`` · ``state`` ·
``period`` · ``purpose`` · ``columns`` · ``aggregate`` · ``quota`` (with ``retry_after``).

Other domains use the marketplace through this module only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.identity.actor import Actor
from datatorg.market import metering, policies
from datatorg.market.agreements import (
    create_agreement_token,
    effective_state,
    get_agreement,
    list_agreements,
    notify_expiring,
    revoke,
    suspend,
    terminate,
)
from datatorg.market.models import Agreement, AgreementState
from datatorg.market.negotiation import accept, approve, counter_offer, create_request, reject
from datatorg.market.notify import notify
from datatorg.market.offers import create_offer, get_offer, list_offers

__all__ = [
    "AgreementCheck",
    "accept",
    "approve",
    "check_agreement",
    "counter_offer",
    "create_agreement_token",
    "create_offer",
    "create_request",
    "effective_state",
    "get_agreement",
    "get_offer",
    "list_agreements",
    "list_offers",
    "notify",
    "notify_expiring",
    "record_usage",
    "reject",
    "revoke",
    "suspend",
    "terminate",
]


@dataclass(frozen=True)
class AgreementCheck:
    """The marketplace's answer to "may this actor read this, under which agreement?"."""

    allowed: bool
    agreement_id: uuid.UUID | None = None
    failed_term: str | None = None  # agreement, assignee, state, period, purpose, columns,
    #                                 aggregate, quota
    reason: str = ""
    retry_after: int | None = None  # seconds, when a quota is exhausted
    allowed_columns: frozenset[str] | None = None  # None: all columns
    aggregate_only: bool = False
    purpose: str | None = None
    rows_remaining: int | None = None  # rows left this month under a row quota (None: no quota)
    calls_remaining: int | None = None  # calls left today, this one included (None: no quota)


def _deny(term: str, reason: str, agreement: Agreement | None = None, **kw: int) -> AgreementCheck:
    return AgreementCheck(
        allowed=False,
        agreement_id=agreement.id if agreement else None,
        failed_term=term,
        reason=reason,
        retry_after=kw.get("retry_after"),
        purpose=agreement.purpose if agreement else None,
    )


def _pick(
    session: Session,
    actor: Actor,
    dataset_id: uuid.UUID,
    agreement_id: uuid.UUID | None,
    now: datetime,
) -> Agreement | AgreementCheck:
    if actor.agreement_id is not None:
        if agreement_id is not None and agreement_id != actor.agreement_id:
            return _deny("agreement", "This token reads through another agreement only.")
        agreement_id = actor.agreement_id
    if agreement_id is not None:
        found = session.get(Agreement, agreement_id)
        if found is None:
            return _deny("agreement", "No such agreement.")
        if found.dataset_id != dataset_id:
            return _deny("agreement", "The agreement is for another dataset.", found)
        return found
    if not actor.is_authenticated:
        return _deny("agreement", "This dataset is not open; sign in and get an agreement.")
    candidates = [
        a
        for a in session.scalars(
            select(Agreement).where(
                Agreement.dataset_id == dataset_id,
                Agreement.state == AgreementState.active,
                Agreement.valid_from <= now,
                Agreement.valid_until > now,
            )
        )
        if policies.is_assignee(actor, a.assignee_user_id, a.assignee_org_id)
    ]
    if not candidates:
        return _deny(
            "agreement",
            "This dataset is not open; an agreement with its owner is needed to read it.",
        )
    if len(candidates) > 1:
        return _deny("agreement", "Several agreements cover this dataset; choose one.")
    return candidates[0]


def check_agreement(
    *,
    session: Session,
    actor: Actor,
    dataset_id: uuid.UUID,
    columns: frozenset[str],
    aggregate: bool,
    agreement_id: uuid.UUID | None,
    purpose: str | None = None,
    now: datetime | None = None,
) -> AgreementCheck:
    """Whether ``actor`` holds an agreement that admits this read of ``dataset_id`` now."""
    now = (now or utcnow()).astimezone(UTC)
    picked = _pick(session, actor, dataset_id, agreement_id, now)
    if isinstance(picked, AgreementCheck):
        return picked
    a = picked
    if not policies.is_assignee(actor, a.assignee_user_id, a.assignee_org_id):
        return _deny("assignee", "The agreement was made with someone else.", a)
    if a.state != AgreementState.active:
        return _deny("state", f"The agreement is {a.state.value}.", a)
    if now < a.valid_from:
        return _deny("period", "The agreement has not started yet.", a)
    if now >= a.valid_until:
        return _deny("period", "The agreement has expired.", a)
    if purpose is not None and purpose != a.purpose:
        return _deny("purpose", "The agreement allows another purpose only.", a)
    if a.columns is not None:
        outside = sorted(set(columns) - set(a.columns))
        if outside:
            return _deny("columns", "Columns outside the agreement: " + ", ".join(outside), a)
    if a.aggregate_only and not aggregate:
        return _deny("aggregate", "The agreement allows aggregate queries only.", a)
    calls_left = rows_left = None
    today = now.date()
    if a.calls_per_day is not None:
        calls, _, _ = metering.totals(
            session=session, agreement_id=a.id, start=today, end=metering.next_midnight(now).date()
        )
        if calls >= a.calls_per_day:
            return _deny(
                "quota",
                "The daily call quota is used up.",
                a,
                retry_after=metering.seconds_until(metering.next_midnight(now), now),
            )
        calls_left = a.calls_per_day - calls
    if a.rows_per_month is not None:
        first, nxt = metering.month_bounds(today)
        _, rows, _ = metering.totals(session=session, agreement_id=a.id, start=first, end=nxt)
        if rows >= a.rows_per_month:
            return _deny(
                "quota",
                "The monthly row quota is used up.",
                a,
                retry_after=metering.seconds_until(metering.next_month_start(now), now),
            )
        rows_left = a.rows_per_month - rows
    return AgreementCheck(
        allowed=True,
        agreement_id=a.id,
        allowed_columns=frozenset(a.columns) if a.columns is not None else None,
        aggregate_only=a.aggregate_only,
        purpose=a.purpose,
        rows_remaining=rows_left,
        calls_remaining=calls_left,
    )


def record_usage(
    *,
    session: Session,
    agreement_id: uuid.UUID,
    rows: int,
    nbytes: int,
    calls: int = 1,
    at: datetime | None = None,
) -> None:
    """Meter one read under ``agreement_id`` (calls, rows, bytes per day)."""
    if rows < 0 or nbytes < 0 or calls < 0:
        raise ValueError("usage cannot be negative")
    day = (at or utcnow()).astimezone(UTC).date()
    metering.add_usage(
        session=session,
        agreement_id=agreement_id,
        day=day,
        calls=calls,
        rows=rows,
        nbytes=nbytes,
    )
