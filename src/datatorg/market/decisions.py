"""Access requests, the provider's and the consumer's decisions: approve, reject, counter,
accept, withdraw (``negotiation`` makes the requests and lists them).

Each step is an event of the Dataspace Protocol state machine (``states``); approving or
accepting runs AGREED → VERIFIED → FINALIZED in one transaction, since the platform acts as
both parties' connector, and makes the agreement.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.market import policies
from datatorg.market.agreements import make_agreement
from datatorg.market.models import AccessRequest, Agreement, NegotiationState, Offer
from datatorg.market.notify import N_, dataset_title, notify
from datatorg.market.offers import get_offer
from datatorg.market.schemas import CounterOffer
from datatorg.market.states import Event, next_state
from datatorg.market.terms import problem
from datatorg.settings import Settings
from datatorg.web import labels


def _step(request: AccessRequest, event: Event, actor: Actor, note: str = "") -> None:
    request.state = next_state(request.state, event)
    entry = {"event": event.value, "state": request.state.value, "at": utcnow().isoformat()}
    if note:
        entry["note"] = note
    request.history = [*request.history, entry]


def get_request(*, session: Session, actor: Actor, request_id: uuid.UUID) -> AccessRequest:
    request = session.get(AccessRequest, request_id)
    if request is None or not policies.can_view_request(
        actor, request.consumer_user_id, request.provider_org_id
    ):
        raise NotFound("No such access request")
    return request


def _as_provider(session: Session, actor: Actor, request_id: uuid.UUID) -> AccessRequest:
    request = get_request(session=session, actor=actor, request_id=request_id)
    if not policies.can_decide_request(actor, request.provider_org_id):
        raise Forbidden("Only the provider's stewards decide this request")
    return request


def _as_consumer(session: Session, actor: Actor, request_id: uuid.UUID) -> AccessRequest:
    request = get_request(session=session, actor=actor, request_id=request_id)
    if not policies.is_requester(actor, request.consumer_user_id):
        raise Forbidden("Only the consumer who asked answers this")
    return request


def _agree(
    session: Session,
    settings: Settings | None,
    actor: Actor,
    request: AccessRequest,
    offer: Offer,
    reason: str,
) -> Agreement:
    _step(request, Event.agree, actor)
    agreement = make_agreement(session=session, request=request, offer=offer)
    _step(request, Event.verify, actor)
    _step(request, Event.finalize, actor)
    request.agreement_id = agreement.id
    request.decided_at = utcnow()
    request.decided_by = actor.user_id
    request.decision_reason = reason
    audit.record(
        session=session,
        actor=actor,
        action="agreement.grant",
        target_type="agreement",
        target_id=str(agreement.id),
        details={
            "request_id": str(request.id),
            "dataset_id": str(request.dataset_id),
            "purpose": request.purpose,
            "hash": agreement.content_hash,
        },
    )
    notify(
        session=session,
        settings=settings,
        user_ids=[request.consumer_user_id],
        kind="request_decided",
        subject=N_("Your access request for {dataset} was approved"),
        body=N_("You now have an agreement for the purpose {purpose}, valid {start} to {end}."),
        link=f"/market/agreements/{agreement.id}",
        params={
            "dataset": dataset_title(session, request.dataset_id),
            "purpose": labels.words("purpose", request.purpose),
            "start": request.period_start,
            "end": request.period_end,
        },
    )
    return agreement


def approve(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    request_id: uuid.UUID,
    reason: str = "",
) -> Agreement:
    """A steward agrees to the request as it stands; the agreement is made."""
    request = _as_provider(session, actor, request_id)
    if request.state != NegotiationState.requested:
        next_state(request.state, Event.agree)  # raises 409 for the wrong state
    offer = get_offer(session=session, offer_id=request.offer_id)
    return _agree(session, settings, actor, request, offer, reason)


def reject(
    *, session: Session, settings: Settings | None, actor: Actor, request_id: uuid.UUID, reason: str
) -> AccessRequest:
    """A steward refuses, saying why."""
    request = _as_provider(session, actor, request_id)
    _step(request, Event.terminate, actor, note="rejected")
    request.decided_at, request.decided_by, request.decision_reason = (
        utcnow(),
        actor.user_id,
        reason,
    )
    audit.record(
        session=session,
        actor=actor,
        action="access_request.reject",
        target_type="access_request",
        target_id=str(request.id),
        outcome="denied",
        details={"dataset_id": str(request.dataset_id)},
    )
    notify(
        session=session,
        settings=settings,
        user_ids=[request.consumer_user_id],
        kind="request_decided",
        subject=N_("Your access request for {dataset} was rejected"),
        body=N_("Your request was rejected. Reason: {reason}"),
        link=f"/market/requests/{request.id}",
        params={"dataset": dataset_title(session, request.dataset_id), "reason": reason},
    )
    return request


def counter_offer(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    request_id: uuid.UUID,
    data: CounterOffer,
) -> AccessRequest:
    """A steward offers narrower terms: fewer columns and/or a shorter period."""
    request = _as_provider(session, actor, request_id)
    next_state(request.state, Event.offer)  # 409 before anything changes
    offer = get_offer(session=session, offer_id=request.offer_id)
    problems = []
    if data.columns is None and data.period_end is None:
        problems.append(
            problem("columns", "counter_not_narrower", "narrow the columns or the period")
        )
    current = set(request.columns) if request.columns is not None else None
    if data.columns is not None:
        allowed = current if current is not None else set(offer.columns or data.columns)
        if not set(data.columns) <= allowed:
            problems.append(
                problem("columns", "counter_columns_widen", "a counter-offer may only narrow")
            )
    if data.period_end is not None and not (
        request.period_start < data.period_end <= request.period_end
    ):
        problems.append(
            problem("period_end", "counter_period_outside", "must be within the asked period")
        )
    if problems:
        raise Invalid("The counter-offer is not narrower than the request", errors=problems)
    if data.columns is not None:
        request.columns = list(data.columns)
    if data.period_end is not None:
        request.period_end = data.period_end
    _step(request, Event.offer, actor, note=data.reason)
    request.decision_reason = data.reason
    audit.record(
        session=session,
        actor=actor,
        action="access_request.counter_offer",
        target_type="access_request",
        target_id=str(request.id),
        details={"columns": request.columns, "period_end": str(request.period_end)},
    )
    notify(
        session=session,
        settings=settings,
        user_ids=[request.consumer_user_id],
        kind="counter_offer",
        subject=N_("You received a counter-offer for {dataset}"),
        body=N_("The provider offers narrower terms (until {end}). Accept or withdraw."),
        link=f"/market/requests/{request.id}",
        params={"dataset": dataset_title(session, request.dataset_id), "end": request.period_end},
    )
    return request


def accept(
    *, session: Session, settings: Settings | None, actor: Actor, request_id: uuid.UUID
) -> Agreement:
    """The consumer accepts the counter-offer; the provider already agreed to it."""
    request = _as_consumer(session, actor, request_id)
    _step(request, Event.accept, actor)
    offer = get_offer(session=session, offer_id=request.offer_id)
    return _agree(session, settings, actor, request, offer, request.decision_reason)


def withdraw(*, session: Session, actor: Actor, request_id: uuid.UUID) -> AccessRequest:
    """The consumer withdraws a request that is not yet agreed."""
    request = _as_consumer(session, actor, request_id)
    _step(request, Event.terminate, actor, note="withdrawn")
    audit.record(
        session=session,
        actor=actor,
        action="access_request.withdraw",
        target_type="access_request",
        target_id=str(request.id),
    )
    return request
