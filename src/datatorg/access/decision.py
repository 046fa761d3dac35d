"""The gate's decision: may this caller read this dataset's contents, and on what basis?

Decided from who asks and which dataset only, before any parameter of the read is looked
at (``decide``): open data for anyone; non-open data for the owning organisation's duty roles
(``policies.reads_own_contents``); otherwise whatever the marketplace's agreement check says.
The read's parameters are then held to the agreement's terms (``check_terms``). A refusal is
recorded (``outcome=denied``, committed) before it is raised.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datatorg.access import journal, policies
from datatorg.audit import service as audit
from datatorg.catalog.models import DatasetRef
from datatorg.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated
from datatorg.identity.actor import Actor
from datatorg.market import service as market

OWNER, OPEN, AGREEMENT, SUBJECT = "owner", "open", "agreement", "subject"


@dataclass(frozen=True)
class Decision:
    """A granted read's basis and the terms it is held to."""

    allowed: bool
    owner: bool  # read by a duty role of the owning organisation
    basis: str = OPEN  # owner | open | agreement
    role: str | None = None  # the owner's duty (steward, publisher, admin, superuser)
    identifiers: bool = False  # direct identifiers and subject keys are visible
    agreement_id: uuid.UUID | None = None
    allowed_columns: frozenset[str] | None = None
    aggregate_only: bool = False
    purpose: str | None = None  # the agreement's purpose, or the one the reader stated
    quota: bool = False  # the agreement has a call or row quota: reserve before reading
    calls_per_day: int | None = None  # the agreement's quotas
    rows_per_month: int | None = None
    reason: str = ""
    row_budget: int | None = None  # rows left this month under a row quota, when decided


def deny(
    session: Session, actor: Actor, dataset: DatasetRef, channel: str, reason: str, exc: Exception
) -> Exception:
    """Record a refusal (committed, through the journal like every read) and return ``exc``
    for the caller to raise: the refusal stays on record though the request fails."""
    event = audit.NewEvent(
        action="data.read",
        target_type="dataset",
        target_id=str(dataset.id),
        outcome="denied",
        details={"channel": channel, "reason": reason[:200]},
        actor_id=actor.user_id,
    )
    journal.append(session, journal.Item(event=event))
    return exc


def decide(
    *,
    session: Session,
    actor: Actor,
    dataset: DatasetRef,
    channel: str,
    purpose: str | None = None,
    agreement_id: uuid.UUID | None = None,
) -> Decision:
    """Whether ``actor`` may read ``dataset``'s contents; raises (and audits) a refusal.

    ``purpose`` is the purpose the caller states for this read (``_purpose``); under an
    agreement it must be the agreement's. ``agreement_id`` is the agreement the caller chose
    (``_agreement``: a person holding several on one dataset); an agreement-scoped token
    reads through its own agreement only.
    """
    if not policies.is_visible(actor, dataset):
        raise deny(session, actor, dataset, channel, "not published", NotFound("No such dataset"))
    if policies.reads_own_contents(actor, dataset):
        return Decision(
            allowed=True,
            owner=True,
            basis=OWNER,
            role=policies.owner_role(actor, dataset),
            identifiers=policies.sees_identifiers(actor, dataset),
            purpose=purpose,
        )
    if dataset.is_open:
        return Decision(allowed=True, owner=False, basis=OPEN, purpose=purpose)
    check = market.check_agreement(
        session=session,
        actor=actor,
        dataset_id=dataset.id,
        columns=None,
        aggregate=None,
        agreement_id=agreement_id or actor.agreement_id,  # a token: its own only (_pick)
        purpose=purpose,
    )
    if not check.allowed:
        reason = check.reason or "no agreement admits this read"
        exc: Exception
        if check.retry_after is not None:
            exc = TooManyRequests(reason, retry_after=check.retry_after, failed_term="quota")
        elif not actor.is_authenticated:
            exc = Unauthenticated("This dataset is not open; sign in with an agreement to read it")
        else:
            exc = Forbidden(reason, failed_term=check.failed_term)
        raise deny(session, actor, dataset, channel, f"{check.failed_term}: {reason}", exc)
    return Decision(
        allowed=True,
        owner=False,
        basis=AGREEMENT,
        agreement_id=check.agreement_id,
        allowed_columns=check.allowed_columns,
        aggregate_only=check.aggregate_only,
        purpose=check.purpose,
        quota=check.calls_per_day is not None or check.rows_per_month is not None,
        calls_per_day=check.calls_per_day,
        rows_per_month=check.rows_per_month,
        row_budget=check.rows_remaining,
    )


def decide_subject(
    *,
    session: Session,
    actor: Actor,
    dataset: DatasetRef,
    channel: str,
    purpose: str | None = None,
) -> Decision:
    """A data subject reading their own rows (the right of access, whatever the dataset's
    state): a signed-in person; which rows are theirs is the caller's (privacy's) to
    establish."""
    if not actor.is_authenticated:
        raise deny(
            session,
            actor,
            dataset,
            channel,
            "subject read: not signed in",
            Unauthenticated("Sign in to see the data about you"),
        )
    return Decision(allowed=True, owner=False, basis=SUBJECT, purpose=purpose)


def check_terms(
    *,
    session: Session,
    actor: Actor,
    dataset: DatasetRef,
    decision: Decision,
    channel: str,
    columns: frozenset[str],
    aggregate: bool,
) -> None:
    """Hold a parsed read to the agreement's terms (columns, aggregate-only); raises (and
    audits) a refusal."""
    if decision.allowed_columns is not None and not columns <= decision.allowed_columns:
        outside = sorted(columns - decision.allowed_columns)
        raise deny(
            session,
            actor,
            dataset,
            channel,
            "columns outside the agreement",
            Forbidden(
                "The agreement does not cover these columns: " + ", ".join(outside),
                failed_term="columns",
            ),
        )
    if decision.aggregate_only and not aggregate:
        raise deny(
            session,
            actor,
            dataset,
            channel,
            "aggregate only",
            Forbidden(
                "The agreement allows aggregates only; use _group_by and _agg",
                failed_term="aggregate",
            ),
        )
