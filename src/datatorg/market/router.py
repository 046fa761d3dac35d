"""Marketplace JSON API: offers, purposes, access requests, agreements, notifications."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.identity import permissions as perm
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Role
from datatorg.market import deps as market_deps
from datatorg.market import negotiation, odrl, offers
from datatorg.market.models import NegotiationState
from datatorg.market.router_agreements import agreement_read, wants_ld
from datatorg.market.router_agreements import router as agreements_router
from datatorg.market.schemas import (
    AccessRequestCreate,
    AccessRequestPage,
    AccessRequestRead,
    AgreementRead,
    CounterOffer,
    Decision,
    OfferCreate,
    OfferPage,
    OfferRead,
    Rejection,
)
from datatorg.market.vocab import legal_bases, purposes
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.urls import public_base

router = APIRouter(prefix="/api/v1", tags=["market"])
router.include_router(agreements_router)

LD_JSON = "application/ld+json"
Page = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=100)]


# --- vocabulary ---------------------------------------------------------------------------


@router.get("/purposes", dependencies=[perm.ANYONE])
def list_purposes() -> list[dict[str, str]]:
    """The DPV purposes an offer may allow, with bokmål and English explanations."""
    return [vars(t) for t in purposes().values()]


@router.get("/legal-bases", dependencies=[perm.ANYONE])
def list_legal_bases() -> list[dict[str, str]]:
    """The DPV legal bases an offer may name."""
    return [vars(t) for t in legal_bases().values()]


# --- offers -------------------------------------------------------------------------------


@router.get("/offers", dependencies=[perm.ANYONE])
def get_offers(
    session: SessionDep, dataset: str | None = Query(None, max_length=120), page: Page = 1
) -> OfferPage:
    """Active offers, optionally for one dataset (slug or id)."""
    ds_id = offers.get_dataset(session=session, ref=dataset).id if dataset else None
    rows, total = offers.list_offers(
        session=session, dataset_id=ds_id, limit=50, offset=(page - 1) * 50
    )
    return OfferPage(items=[offers.offer_read(session=session, offer=o) for o in rows], total=total)


@router.post("/offers", status_code=201, dependencies=[perm.PERSON])
def post_offer(data: OfferCreate, session: SessionDep, actor: UserActorDep) -> OfferRead:
    """Set an offer on a dataset (publishers of its organisation)."""
    offer = offers.create_offer(session=session, actor=actor, data=data)
    return offers.offer_read(session=session, offer=offer)


@router.get("/offers/{offer_id}", response_model=None, dependencies=[perm.ANYONE])
def get_offer(
    offer_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> OfferRead | Response:
    """One offer; as an ODRL 2.2 Offer with ``Accept: application/ld+json``."""
    offer = offers.get_offer(session=session, offer_id=offer_id)
    if wants_ld(request):
        dataset = session.get(Dataset, offer.dataset_id)
        assert dataset is not None
        doc = odrl.offer_document(
            offer,
            base_url=public_base(request),
            dataset_slug=dataset.slug,
            assigner_slug=offers.provider_slug(session=session, org_id=dataset.publisher_id),
        )
        return JSONResponse(doc, media_type=LD_JSON)
    return offers.offer_read(session=session, offer=offer)


@router.post(
    "/offers/{offer_id}/withdraw",
    dependencies=[perm.org(market_deps.offer, Role.publisher, person=True)],
)
def withdraw_offer(offer_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> OfferRead:
    """Stop taking requests on an offer; agreements already made stand."""
    offer = offers.withdraw_offer(session=session, actor=actor, offer_id=offer_id)
    return offers.offer_read(session=session, offer=offer)


# --- access requests ----------------------------------------------------------------------


@router.post("/access-requests", status_code=201, dependencies=[perm.PERSON])
def post_request(
    data: AccessRequestCreate, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> AccessRequestRead:
    """Ask for data under an offer, for a purpose and a period."""
    req = negotiation.create_request(session=session, settings=settings, actor=actor, data=data)
    return AccessRequestRead.model_validate(req)


@router.get("/access-requests", dependencies=[perm.SIGNED_IN])
def get_requests(
    session: SessionDep,
    actor: UserActorDep,
    role: Literal["consumer", "steward"] = "consumer",
    state: Annotated[list[NegotiationState] | None, Query(max_length=7)] = None,
    sort: negotiation.SortKey = "due",
    page: Page = 1,
    per_page: PerPage = 20,
) -> AccessRequestPage:
    """Your requests, or (``role=steward``) the queue of your organisations."""
    rows, total = negotiation.list_requests(
        session=session,
        actor=actor,
        as_provider=role == "steward",
        states=state,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return AccessRequestPage(
        items=[AccessRequestRead.model_validate(r) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.get(
    "/access-requests/{request_id}",
    dependencies=[perm.party(market_deps.access_request, Role.steward, Role.publisher, hide=True)],
)
def get_request(
    request_id: uuid.UUID, session: SessionDep, actor: UserActorDep
) -> AccessRequestRead:
    req = negotiation.get_request(session=session, actor=actor, request_id=request_id)
    return AccessRequestRead.model_validate(req)


@router.post(
    "/access-requests/{request_id}/approve",
    dependencies=[perm.org(market_deps.access_request, Role.steward, Role.publisher, person=True)],
)
def approve(
    request_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    data: Decision | None = None,
) -> AgreementRead:
    """Agree to the request as it stands (stewards of the owning organisation)."""
    a = negotiation.approve(
        session=session,
        settings=settings,
        actor=actor,
        request_id=request_id,
        reason=data.reason if data else "",
    )
    return agreement_read(a)


@router.post(
    "/access-requests/{request_id}/reject",
    dependencies=[perm.org(market_deps.access_request, Role.steward, Role.publisher, person=True)],
)
def reject(
    request_id: uuid.UUID,
    data: Rejection,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AccessRequestRead:
    """Refuse the request, with a reason the consumer sees."""
    req = negotiation.reject(
        session=session, settings=settings, actor=actor, request_id=request_id, reason=data.reason
    )
    return AccessRequestRead.model_validate(req)


@router.post(
    "/access-requests/{request_id}/counter-offer",
    dependencies=[perm.org(market_deps.access_request, Role.steward, Role.publisher, person=True)],
)
def counter(
    request_id: uuid.UUID,
    data: CounterOffer,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AccessRequestRead:
    """Offer narrower terms: fewer columns, a shorter period."""
    req = negotiation.counter_offer(
        session=session, settings=settings, actor=actor, request_id=request_id, data=data
    )
    return AccessRequestRead.model_validate(req)


@router.post(
    "/access-requests/{request_id}/accept",
    dependencies=[perm.consumer(market_deps.access_request, person=True)],
)
def accept(
    request_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> AgreementRead:
    """The consumer accepts a counter-offer; the agreement is made."""
    a = negotiation.accept(session=session, settings=settings, actor=actor, request_id=request_id)
    return agreement_read(a)


@router.post(
    "/access-requests/{request_id}/withdraw",
    dependencies=[perm.consumer(market_deps.access_request, person=True)],
)
def withdraw(request_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> AccessRequestRead:
    req = negotiation.withdraw(session=session, actor=actor, request_id=request_id)
    return AccessRequestRead.model_validate(req)
