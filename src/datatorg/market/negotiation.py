"""Access requests: a consumer asks (one request per offer, purpose and period), the
provider approves, rejects or counters (``decisions``, whose functions this module names too).

Each step is an event of the Dataspace Protocol state machine (``states``); approving or
accepting runs AGREED → VERIFIED → FINALIZED in one transaction, since the platform acts as
both parties' connector, and makes the agreement.
"""

from __future__ import annotations

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
from datatorg.market.decisions import (
    _agree,
    accept,
    approve,
    counter_offer,
    get_request,
    reject,
    withdraw,
)
from datatorg.market.models import (
    AccessRequest,
    Agreement,
    AgreementState,
    NegotiationState,
    Offer,
)
from datatorg.market.notify import N_, notify, org_deciders
from datatorg.market.offers import get_offer
from datatorg.market.schemas import AccessRequestCreate
from datatorg.market.states import Event, next_state
from datatorg.market.terms import check_request, column_names, problem
from datatorg.settings import Settings
from datatorg.web import labels

__all__ = [
    "DUE_DAYS",
    "SortKey",
    "accept",
    "age_days",
    "approve",
    "counter_offer",
    "create_request",
    "get_request",
    "list_requests",
    "reject",
    "withdraw",
]

DUE_DAYS = 14  # a steward answers within two weeks

SortKey = Literal["due", "-due", "age", "-age"]


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
            subject=N_("New access request: {dataset}"),
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
