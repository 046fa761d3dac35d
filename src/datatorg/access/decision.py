"""The gate's decision: may this caller read these columns of this dataset?

Open data for anyone, non-open data for the owning organisation, and otherwise whatever the
marketplace's agreement check says. A refusal is recorded (``outcome=denied``, committed)
before it is raised. Re-exported by ``datatorg.access.service``.
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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    owner: bool
    agreement_id: uuid.UUID | None = None
    allowed_columns: frozenset[str] | None = None
    aggregate_only: bool = False
    reason: str = ""
    row_budget: int | None = None  # rows this read may return under a monthly row quota


def _deny(
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
    columns: frozenset[str],
    aggregate: bool,
    channel: str,
    purpose: str | None = None,
) -> Decision:
    """Whether ``actor`` may read ``columns`` of ``dataset``; raises (and audits) a refusal.

    ``purpose`` is the purpose the caller states for this read (``_purpose``); when given it
    must be the agreement's purpose.
    """
    if policies.is_owner(actor, dataset):
        return Decision(allowed=True, owner=True)
    if not policies.is_visible(actor, dataset):
        raise _deny(session, actor, dataset, channel, "not published", NotFound("No such dataset"))
    if dataset.is_open:
        return Decision(allowed=True, owner=False)
    check = market.check_agreement(
        session=session,
        actor=actor,
        dataset_id=dataset.id,
        columns=columns,
        aggregate=aggregate,
        agreement_id=actor.agreement_id,
        purpose=purpose,
    )
    if not check.allowed:
        reason = check.reason or "no agreement admits this read"
        exc: Exception
        if check.retry_after is not None:
            exc = TooManyRequests(reason, retry_after=check.retry_after)
        elif not actor.is_authenticated:
            exc = Unauthenticated("This dataset is not open; sign in with an agreement to read it")
        else:
            exc = Forbidden(reason, failed_term=check.failed_term)
        raise _deny(session, actor, dataset, channel, f"{check.failed_term}: {reason}", exc)
    if check.allowed_columns is not None and not columns <= check.allowed_columns:
        outside = sorted(columns - check.allowed_columns)
        raise _deny(
            session,
            actor,
            dataset,
            channel,
            "columns outside the agreement",
            Forbidden("The agreement does not cover these columns: " + ", ".join(outside)),
        )
    if check.aggregate_only and not aggregate:
        raise _deny(
            session,
            actor,
            dataset,
            channel,
            "aggregate only",
            Forbidden("The agreement allows aggregates only; use _group_by and _agg"),
        )
    return Decision(
        allowed=True,
        owner=False,
        agreement_id=check.agreement_id,
        allowed_columns=check.allowed_columns,
        aggregate_only=check.aggregate_only,
        row_budget=check.rows_remaining,
    )
