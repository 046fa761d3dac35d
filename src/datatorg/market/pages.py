"""Marketplace pages (HTML): offers and the request form.

Requests, the steward queue and decisions are in ``pages_requests``; agreements, statements
and the inbox in ``pages_agreements``; the public register in ``pages_register``; the
publisher's offer form in ``pages_offers``. All call the same services as the JSON API.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.errors import Invalid, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.market import negotiation, notify, offers, policies
from datatorg.market.forms import field_labels, parse_form
from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest, NegotiationState
from datatorg.market.pages_agreements import router as agreements_router
from datatorg.market.pages_offers import router as offers_router
from datatorg.market.pages_register import router as register_router
from datatorg.market.pages_requests import router as requests_router
from datatorg.market.present import dataset_facts, licence_named, title
from datatorg.market.schemas import AccessRequestCreate
from datatorg.market.summary import asking_as
from datatorg.market.terms import MAX_START_AHEAD_DAYS
from datatorg.market.vocab import purposes
from datatorg.web import forms, menu
from datatorg.web.csrf import CsrfDep, verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import N_, current_locale
from datatorg.web.templating import render

# CSRF is checked before anything else on every form POST, signed in or not.
router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
router.include_router(offers_router)  # before /market/offers/{offer_id}
router.include_router(agreements_router)
router.include_router(register_router)
router.include_router(requests_router)

PER_PAGE = 20


# The menu's counts, built once (``web.menu``): requests waiting for a decision (all of them,
# for a superuser, or those to this person's organisations), counter-offers to answer.
_QUEUE_ALL = (
    select(func.count())
    .select_from(AccessRequest)
    .where(AccessRequest.state == NegotiationState.requested)
)
_QUEUE_OF_ORGS = _QUEUE_ALL.where(
    AccessRequest.provider_org_id.in_(bindparam("menu_queue_orgs", expanding=True))
)
_COUNTER_OFFERS = (
    select(func.count())
    .select_from(AccessRequest)
    .where(
        AccessRequest.consumer_user_id == bindparam("menu_consumer"),
        AccessRequest.state == NegotiationState.offered,
    )
)


def _queue_count(actor: Actor) -> tuple[Select[Any], dict[str, Any]] | None:
    """Requests waiting for this person's decision (the menu's number)."""
    if not actor.has_any_role(Role.steward, Role.publisher, Role.admin):
        return None
    if actor.is_superuser:
        return _QUEUE_ALL, {}
    return _QUEUE_OF_ORGS, {"menu_queue_orgs": list(actor.org_ids(Role.steward, Role.publisher))}


def _counter_offers_waiting(actor: Actor) -> tuple[Select[Any], dict[str, Any]]:
    """This person's requests with a counter-offer to answer."""
    return _COUNTER_OFFERS, {"menu_consumer": actor.user_id}


def _unread(actor: Actor) -> tuple[Select[Any], dict[str, Any]]:
    assert actor.user_id is not None
    return notify.UNREAD, {"unread_user": actor.user_id}


menu.register_count("queue", _queue_count)
menu.register_count("my_requests", _counter_offers_waiting)
menu.register_count("inbox", _unread)

REQUEST_FIELDS = {
    "organisation": N_("Request for"),
    "purpose": N_("Purpose"),
    "description": N_("What will you use the data for?"),
    "pilot_ref": N_("Pilot (optional)"),
    "period_start": N_("First day"),
    "period_end": N_("Last day"),
    "columns": N_("Columns"),
    "offer_id": N_("Offer"),
}


def purpose_options(allowed: list[str]) -> list[dict[str, str]]:
    loc = current_locale()
    terms = purposes()
    return [
        {
            "term": t,
            "label": terms[t].label(loc),
            "explanation": terms[t].explanation(loc),
            "iri": terms[t].iri,
        }
        for t in allowed
        if t in terms
    ]


@router.get("/market/offers", dependencies=[perm.ANYONE])
def offer_list(
    request: Request, session: SessionDep, actor: ActorDep, page: int = Query(1, ge=1, le=10_000)
) -> Response:
    del actor  # resolved for the page header and the publisher's "new offer" link
    rows, total = offers.list_offers(session=session, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    items = [(o, session.get(Dataset, o.dataset_id)) for o in rows]
    return render(
        request,
        "market/offers.html",
        {
            "items": [(o, d, title(d)) for o, d in items],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
        },
    )


def _offer_page(
    request: Request,
    session: Session,
    actor: Actor,
    offer_id: uuid.UUID,
    errors: list[dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    offer = offers.get_offer(session=session, offer_id=offer_id)
    dataset = session.get(Dataset, offer.dataset_id)
    if dataset is None or not offer.active:
        raise NotFound("No such offer")
    facts = dataset_facts(session, dataset)
    today = utc_today()
    explained = forms.explain(errors or [], field_labels(REQUEST_FIELDS))
    is_owner = actor.is_authenticated and actor.has_role(dataset.publisher_id, *tuple(Role))
    return render(
        request,
        "market/offer.html",
        {
            "offer": offer,
            "ds": facts,
            "offered_columns": facts.describe(offer.columns),
            "stale": offers.stale_columns(session=session, offer=offer, dataset=dataset)
            if policies.can_manage_offers(actor, dataset.publisher_id)
            else [],
            "purposes": purpose_options(offer.purposes),
            "can_request": policies.can_request_access(actor) and not is_owner,
            "is_owner": is_owner,
            "asking": asking_as(session=session, actor=actor, offer=offer),
            "licence": licence_named(offer.licence),
            "errors": explained,
            "field_errors": forms.by_field(explained),
            "values": values or {},
            "today": today.isoformat(),
            "last_start": (today + timedelta(days=MAX_START_AHEAD_DAYS)).isoformat(),
            "published": bool(request.query_params.get("published")),
            "default_start": today.isoformat(),
            "default_end": (today + timedelta(days=min(90, offer.max_period_days))).isoformat(),
        },
        status_code=status_code,
    )


def _purpose_missing(err: dict[str, Any]) -> dict[str, Any]:
    """No purpose chosen: "Choose a purpose", not the text inputs' "Fill in"."""
    missing = err.get("field") == "purpose" and err.get("type") == "missing"
    return err | {"code": "purpose_missing"} if missing else err


@router.get("/market/offers/{offer_id}", dependencies=[perm.ANYONE])
def offer_page(
    offer_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """An offer's terms, and the request form for signed-in consumers."""
    return _offer_page(request, session, actor, offer_id)


@router.post("/market/offers/{offer_id}/request", dependencies=[perm.PERSON])
async def submit_request(
    offer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    _: CsrfDep,
) -> Response:
    form = await request.form()

    def work() -> Response:
        try:
            data = parse_form(AccessRequestCreate, form, lists=("columns",))
            if data.offer_id != offer_id:
                raise Invalid("The form is for another offer", errors=[{"field": "offer_id"}])
            req = negotiation.create_request(
                session=session, settings=settings, actor=actor, data=data
            )
        except Invalid as exc:
            values: dict[str, Any] = {
                k: form.getlist(k) if k == "columns" else form.get(k) for k in form
            }
            values["_sent"] = True
            return _offer_page(
                request,
                session,
                actor,
                offer_id,
                errors=[_purpose_missing(e) for e in exc.extra["errors"]],
                values=values,
                status_code=422,
            )
        if req.agreement_id is not None:  # a low-risk offer: agreed at once
            return RedirectResponse(
                f"/market/agreements/{req.agreement_id}?made=1", status_code=303
            )
        return RedirectResponse(f"/market/requests/{req.id}?sent=1", status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop
