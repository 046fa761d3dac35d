"""Access requests: a consumer asks, the provider approves, rejects or counters.

Each step is an event of the Dataspace Protocol state machine (``states``); approving or
accepting runs AGREED → VERIFIED → FINALIZED in one transaction, since the platform acts as
both parties' connector, and makes the agreement.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation, OrgKind, Role
from datatorg.market import policies
from datatorg.market.agreements import make_agreement
from datatorg.market.models import (
    AccessRequest,
    Agreement,
    AgreementState,
    NegotiationState,
    Offer,
)
from datatorg.market.notify import N_, notify, org_deciders
from datatorg.market.offers import get_offer
from datatorg.market.schemas import AccessRequestCreate, CounterOffer
from datatorg.market.states import Event, next_state
from datatorg.market.terms import check_request, column_names, problem
from datatorg.settings import Settings
from datatorg.web import labels

DUE_DAYS = 14  # a steward answers within two weeks

SortKey = Literal["due", "-due", "age", "-age"]


def _step(request: AccessRequest, event: Event, actor: Actor, note: str = "") -> None:
    request.state = next_state(request.state, event)
    entry = {"event": event.value, "state": request.state.value, "at": utcnow().isoformat()}
    if note:
        entry["note"] = note
    request.history = [*request.history, entry]


def _consumer_org(session: Session, actor: Actor, slug: str | None) -> Organisation | None:
    if slug:
        org = session.scalar(select(Organisation).where(Organisation.slug == slug))
        if org is None or not policies.can_request_for_org(actor, org.id):
            raise Forbidden("You may request only for an organisation where you are a consumer")
        return org
    orgs = sorted(actor.org_ids(Role.consumer)) if not actor.is_superuser else []
    if len(orgs) > 1:
        raise Invalid(
            "Say which organisation you request for",
            errors=[
                {
                    "field": "organisation",
                    "code": "organisation_required",
                    "message": "you are a consumer in several",
                }
            ],
        )
    return session.get(Organisation, orgs[0]) if orgs else None


# A request still being negotiated, or agreed with its agreement in force.
_PENDING = (
    NegotiationState.requested,
    NegotiationState.offered,
    NegotiationState.accepted,
    NegotiationState.agreed,
    NegotiationState.verified,
)
_IN_FORCE = (AgreementState.active, AgreementState.suspended)


def _refuse_duplicate(
    session: Session,
    actor: Actor,
    offer: Offer,
    org: Organisation | None,
    data: AccessRequestCreate,
) -> None:
    """One request per consumer, offer, purpose and period: a second one (a double click,
    a retried POST, or a consumer collecting agreements) would otherwise make a second
    agreement with a quota of its own. Requests for the same offer are taken one at a time
    (the offer's row is locked on PostgreSQL; SQLite writes take turns)."""
    session.execute(select(Offer.id).where(Offer.id == offer.id).with_for_update())
    overlapping = [
        AccessRequest.offer_id == offer.id,
        AccessRequest.consumer_user_id == actor.user_id,
        (
            AccessRequest.consumer_org_id == org.id
            if org
            else AccessRequest.consumer_org_id.is_(None)
        ),
        AccessRequest.purpose == data.purpose,
        AccessRequest.pilot_ref == data.pilot_ref,
        AccessRequest.period_start < data.period_end,
        AccessRequest.period_end > data.period_start,
    ]
    pending = select(AccessRequest.id).where(*overlapping, AccessRequest.state.in_(_PENDING))
    agreed = (
        select(AccessRequest.id)
        .join(Agreement, Agreement.id == AccessRequest.agreement_id)
        .where(
            *overlapping,
            AccessRequest.state == NegotiationState.finalized,
            Agreement.state.in_(_IN_FORCE),
            Agreement.valid_until > utcnow(),
        )
    )
    if session.scalar(pending.limit(1)) is not None:
        raise Conflict("You have already asked for this offer for this purpose and period")
    if session.scalar(agreed.limit(1)) is not None:
        raise Conflict("You already have an agreement for this offer, purpose and period")


def create_request(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    data: AccessRequestCreate,
    today: date | None = None,
) -> AccessRequest:
    """A consumer asks for data under an offer; low-risk offers are agreed at once."""
    if not policies.can_request_access(actor):
        raise Forbidden("Sign in (not with an agreement token) to request access")
    assert actor.user_id is not None
    offer = get_offer(session=session, offer_id=data.offer_id)
    dataset = session.get(Dataset, offer.dataset_id)
    if not offer.active or dataset is None or dataset.status == DatasetStatus.retired:
        raise NotFound("No such offer")
    org = _consumer_org(session, actor, data.organisation)
    kind = org.kind.value if org else OrgKind.private_person.value
    problems = check_request(
        offer,
        data.purpose,
        data.period_start,
        data.period_end,
        data.columns,
        today or utcnow().date(),
        column_names(session=session, dataset=dataset),
    )
    if offer.consumer_kinds and kind not in offer.consumer_kinds:
        problems.append(
            problem(
                "organisation",
                "kind_not_allowed",
                f"the offer is not open to {kind} consumers",
                kind=labels.label("org_kind", kind),
            )
        )
    if org is not None and org.id == dataset.publisher_id:
        problems.append(
            problem("organisation", "owner_needs_no_agreement", "the owner needs no agreement")
        )
    if problems:
        raise Invalid("The request does not fit the offer", errors=problems)
    _refuse_duplicate(session, actor, offer, org, data)
    now = utcnow()
    request = AccessRequest(
        offer_id=offer.id,
        dataset_id=dataset.id,
        provider_org_id=dataset.publisher_id,
        consumer_user_id=actor.user_id,
        consumer_org_id=org.id if org else None,
        purpose=data.purpose,
        description=data.description,
        pilot_ref=data.pilot_ref,
        period_start=data.period_start,
        period_end=data.period_end,
        columns=list(data.columns) if data.columns is not None else offer.columns,
        state=next_state(None, Event.request),
        due_at=now + timedelta(days=DUE_DAYS),
        history=[{"event": "request", "state": "REQUESTED", "at": now.isoformat()}],
    )
    session.add(request)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="access_request.create",
        target_type="access_request",
        target_id=str(request.id),
        details={"dataset_id": str(dataset.id), "purpose": data.purpose},
    )
    if offer.auto_approve:
        _agree(session, settings, actor, request, offer, "auto-approved: low-risk offer")
    else:
        notify(
            session=session,
            settings=settings,
            user_ids=org_deciders(session=session, org_id=dataset.publisher_id),
            kind="request_received",
            subject=N_("New access request"),
            body=N_("{asker} asks for {dataset} for the purpose {purpose}. Answer by {due}."),
            link=f"/market/requests/{request.id}",
            params={
                "asker": org.name if org else labels.words("org_kind", "private_person"),
                "dataset": labels.Label(dataset.title_nb, dataset.title_en or dataset.title_nb),
                "purpose": labels.words("purpose", data.purpose),
                "due": request.due_at.date(),
            },
        )
    return request


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
        subject=N_("Your access request was approved"),
        body=N_("You now have an agreement for the purpose {purpose}, valid {start} to {end}."),
        link=f"/market/agreements/{agreement.id}",
        params={
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
        subject=N_("Your access request was rejected"),
        body=N_("Your request was rejected. Reason: {reason}"),
        link=f"/market/requests/{request.id}",
        params={"reason": reason},
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
        subject=N_("You received a counter-offer"),
        body=N_("The provider offers narrower terms (until {end}). Accept or withdraw."),
        link=f"/market/requests/{request.id}",
        params={"end": request.period_end},
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


def list_requests(
    *,
    session: Session,
    actor: Actor,
    as_provider: bool,
    states: list[NegotiationState] | None = None,
    sort: SortKey = "due",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[AccessRequest], int]:
    """The steward queue (provider side) or the consumer's own requests."""
    if as_provider:
        stmt = select(AccessRequest)
        if not actor.is_superuser:
            orgs = actor.org_ids(Role.steward, Role.publisher)
            stmt = stmt.where(AccessRequest.provider_org_id.in_(orgs))
    else:
        stmt = select(AccessRequest).where(AccessRequest.consumer_user_id == actor.user_id)
    if states:
        stmt = stmt.where(AccessRequest.state.in_(states))
    order = {
        "due": AccessRequest.due_at.asc(),
        "-due": AccessRequest.due_at.desc(),
        "age": AccessRequest.created_at.desc(),
        "-age": AccessRequest.created_at.asc(),
    }[sort]
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(order, AccessRequest.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def age_days(request: AccessRequest, now: datetime | None = None) -> int:
    return max(0, ((now or utcnow()) - request.created_at).days)
