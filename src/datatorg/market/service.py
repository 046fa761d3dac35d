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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

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
from datatorg.market.metering import Exhausted, Reservation
from datatorg.market.models import Agreement, AgreementState
from datatorg.market.negotiation import accept, approve, counter_offer, create_request, reject
from datatorg.market.notify import notify
from datatorg.market.offers import (
    create_offer,
    get_offer,
    list_offers,
    offers_needing_attention,
)
from datatorg.market.summary import AccessSummary, access_summary, agreements_in_force

__all__ = [
    "AccessSummary",
    "AgreementCheck",
    "Exhausted",
    "Reservation",
    "bill_reads",
    "release_quota",
    "reserve_quota",
    "access_summary",
    "agreements_in_force",
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
    "offers_needing_attention",
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
    calls_per_day: int | None = None  # the agreement's quotas (its terms never change)
    rows_per_month: int | None = None


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
    columns: frozenset[str] | None,
    aggregate: bool | None,
    agreement_id: uuid.UUID | None,
    purpose: str | None = None,
    now: datetime | None = None,
) -> AgreementCheck:
    """Whether ``actor`` holds an agreement that admits this read of ``dataset_id`` now.

    ``columns`` and ``aggregate`` may be None when the read's parameters are not looked at
    yet (the gate decides access before it parses them, then checks the read against
    ``allowed_columns`` and ``aggregate_only``); those terms are not checked then.
    The quotas are checked as they stand; the gate then takes its share atomically with
    ``reserve_quota``."""
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
    if a.columns is not None and columns is not None:
        outside = sorted(set(columns) - set(a.columns))
        if outside:
            return _deny("columns", "Columns outside the agreement: " + ", ".join(outside), a)
    if a.aggregate_only and aggregate is False:
        return _deny("aggregate", "The agreement allows aggregate queries only.", a)
    calls_left = rows_left = None
    today = now.date()
    if a.calls_per_day is not None:
        calls = metering.used(
            session=session,
            agreement_id=a.id,
            kind="calls",
            start=today,
            end=metering.next_midnight(now).date(),
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
        rows = metering.used(session=session, agreement_id=a.id, kind="rows", start=first, end=nxt)
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
        calls_per_day=a.calls_per_day,
        rows_per_month=a.rows_per_month,
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
    """Meter use under ``agreement_id`` (calls, rows, bytes per day) that was not reserved
    with ``reserve_quota``: it is billed and counts against the quotas."""
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
    metering.count_in_windows(
        session=session, agreement_id=agreement_id, day=day, calls=calls, rows=rows
    )


def reserve_quota(
    *,
    session: Session,
    agreement_id: uuid.UUID,
    calls_per_day: int | None,
    rows_per_month: int | None,
    rows: int,
    now: datetime | None = None,
) -> Reservation | Exhausted:
    """Take one call and up to ``rows`` rows from the agreement's quotas before a read, with
    one conditional UPDATE per quota (no two concurrent reads can take the same share).

    ``calls_per_day`` and ``rows_per_month`` are the agreement's terms (``AgreementCheck``
    carries them; they never change). Call it as the first statements of a transaction —
    it reads nothing before it writes, so on SQLite it waits for the write lock instead of
    failing on a read-to-write upgrade — and commit before the read; on ``Exhausted`` roll
    back and answer 429 with its ``retry_after``. Afterwards ``bill_reads`` (the read was
    answered) or ``release_quota`` (it failed)."""
    return metering.reserve(
        session=session,
        agreement_id=agreement_id,
        calls_per_day=calls_per_day,
        rows_per_month=rows_per_month,
        rows=rows,
        now=now,
    )


def bill_reads(
    *, session: Session, reads: Sequence[tuple[Reservation, int, int]], calls_each: int = 1
) -> None:
    """Bill answered reads, each ``(reservation, rows, nbytes)``: one upsert per agreement
    and day (the reservation's day) for all of them, and give back the rows each reservation
    took but its read did not return. In the transaction that records the reads."""
    bill: dict[tuple[uuid.UUID, date], list[int]] = {}
    for r, rows, nbytes in reads:
        b = bill.setdefault((r.agreement_id, r.at.astimezone(UTC).date()), [0, 0, 0])
        b[0], b[1], b[2] = b[0] + calls_each, b[1] + rows, b[2] + nbytes
        metering.settle(session=session, reservation=r, rows=rows)
    for (agreement_id, day), (calls, rows, nbytes) in bill.items():
        metering.add_usage(
            session=session,
            agreement_id=agreement_id,
            day=day,
            calls=calls,
            rows=rows,
            nbytes=nbytes,
        )


def release_quota(*, session: Session, reservation: Reservation) -> None:
    """A read that held ``reservation`` failed: give back its call and its rows."""
    metering.release(session=session, reservation=reservation)
