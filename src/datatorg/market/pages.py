"""Marketplace pages (HTML): offers, request form, steward queue, decisions.

Agreements, statements and the inbox are in ``pages_agreements``; the public register in
``pages_register``. All call the same services as the JSON API.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.errors import Invalid, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Organisation, Role
from datatorg.market import deps as market_deps
from datatorg.market import negotiation, offers, policies
from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest, NegotiationState
from datatorg.market.pages_agreements import router as agreements_router
from datatorg.market.pages_offers import router as offers_router
from datatorg.market.pages_register import router as register_router
from datatorg.market.schemas import AccessRequestCreate, CounterOffer, Rejection
from datatorg.market.states import allowed_events
from datatorg.market.vocab import purposes
from datatorg.web.csrf import CsrfDep, verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import current_locale
from datatorg.web.templating import render

# CSRF is checked before anything else on every form POST, signed in or not.
router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
router.include_router(offers_router)  # before /market/offers/{offer_id}
router.include_router(agreements_router)
router.include_router(register_router)

M = TypeVar("M", bound=BaseModel)
PER_PAGE = 20


def parse_form(model: type[M], form: FormData, *, lists: tuple[str, ...] = ()) -> M:
    """``form`` as ``model``; empty fields are left out; errors become ``Invalid`` (422)."""
    data: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            data[key] = [str(v) for v in form.getlist(key)]
        else:
            value = form.get(key)
            if isinstance(value, str) and value.strip() != "":
                data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise Invalid("Some fields are not valid", errors=problems) from None


def purpose_options(allowed: list[str]) -> list[dict[str, str]]:
    loc = current_locale()
    terms = purposes()
    return [
        {"term": t, "label": terms[t].label(loc), "explanation": terms[t].explanation(loc)}
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
        {"items": items, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE))},
    )


def _offer_page(
    request: Request,
    session: SessionDep,
    actor: Any,
    offer_id: uuid.UUID,
    errors: list[dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    offer = offers.get_offer(session=session, offer_id=offer_id)
    dataset = session.get(Dataset, offer.dataset_id)
    if dataset is None or not offer.active:
        raise NotFound("No such offer")
    consumer_orgs = (
        [
            session.get(Organisation, o)
            for o in sorted(actor.org_ids())
            if policies.can_request_for_org(actor, o)
        ]
        if actor.is_authenticated
        else []
    )
    today = utc_today()
    return render(
        request,
        "market/offer.html",
        {
            "offer": offer,
            "dataset": dataset,
            "purposes": purpose_options(offer.purposes),
            "can_request": policies.can_request_access(actor),
            "orgs": [o for o in consumer_orgs if o is not None],
            "errors": errors or [],
            "values": values or {},
            "default_start": today.isoformat(),
            "default_end": (today + timedelta(days=min(90, offer.max_period_days))).isoformat(),
        },
        status_code=status_code,
    )


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
            values = {k: form.getlist(k) if k == "columns" else form.get(k) for k in form}
            return _offer_page(
                request,
                session,
                actor,
                offer_id,
                errors=exc.extra["errors"],
                values=values,
                status_code=422,
            )
        return RedirectResponse(f"/market/requests/{req.id}", status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop


def _rows(session: SessionDep, reqs: list[AccessRequest]) -> list[dict[str, Any]]:
    out = []
    for r in reqs:
        ds = session.get(Dataset, r.dataset_id)
        org = session.get(Organisation, r.consumer_org_id) if r.consumer_org_id else None
        out.append(
            {
                "r": r,
                "dataset": ds.title_nb if ds else "",
                "org": org.name if org else "",
                "age": negotiation.age_days(r),
            }
        )
    return out


@router.get("/market/requests", dependencies=[perm.SIGNED_IN])
def my_requests(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    rows, total = negotiation.list_requests(
        session=session, actor=actor, as_provider=False, sort="age", page=page, per_page=PER_PAGE
    )
    return render(
        request,
        "market/my_requests.html",
        {
            "rows": _rows(session, rows),
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
        },
    )


@router.get("/market/queue", dependencies=[perm.SIGNED_IN])
def queue(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    sort: negotiation.SortKey = "due",
    show: str = Query("open", pattern="^(open|all)$"),
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """The steward queue: open requests of your organisations, by due date or age."""
    states = [NegotiationState.requested, NegotiationState.offered] if show == "open" else None
    rows, total = negotiation.list_requests(
        session=session,
        actor=actor,
        as_provider=True,
        states=states,
        sort=sort,
        page=page,
        per_page=PER_PAGE,
    )
    return render(
        request,
        "market/queue.html",
        {
            "rows": _rows(session, rows),
            "total": total,
            "page": page,
            "sort": sort,
            "show": show,
            "pages": max(1, -(-total // PER_PAGE)),
        },
    )


def _request_page(
    request: Request,
    session: SessionDep,
    actor: Any,
    request_id: uuid.UUID,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    req = negotiation.get_request(session=session, actor=actor, request_id=request_id)
    offer = offers.get_offer(session=session, offer_id=req.offer_id)
    events = {e.value for e in allowed_events(req.state)}
    is_provider = policies.can_decide_request(actor, req.provider_org_id)
    is_consumer = policies.is_requester(actor, req.consumer_user_id)
    return render(
        request,
        "market/request.html",
        {
            **_rows(session, [req])[0],
            "offer": offer,
            "purpose": purposes().get(req.purpose),
            "can_decide": is_provider and req.state == NegotiationState.requested,
            "can_answer": is_consumer and "accept" in events,
            "can_withdraw": is_consumer and "terminate" in events,
            "counter_columns": req.columns or offer.columns or [],
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get(
    "/market/requests/{request_id}",
    dependencies=[perm.party(market_deps.access_request, Role.steward, Role.publisher, hide=True)],
)
def request_page(
    request_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    return _request_page(request, session, actor, request_id)


@router.post(
    "/market/requests/{request_id}/{action}",
    dependencies=[
        perm.party(market_deps.access_request, Role.steward, Role.publisher, person=True)
    ],
)
async def decide(
    request_id: uuid.UUID,
    action: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    _: CsrfDep,
) -> Response:
    """Approve, reject, counter (stewards); accept, withdraw (the consumer)."""
    form = await request.form()

    def work() -> Response:
        target = f"/market/requests/{request_id}"
        try:
            if action == "approve":
                a = negotiation.approve(
                    session=session, settings=settings, actor=actor, request_id=request_id
                )
                target = f"/market/agreements/{a.id}"
            elif action == "reject":
                data = parse_form(Rejection, form)
                negotiation.reject(
                    session=session,
                    settings=settings,
                    actor=actor,
                    request_id=request_id,
                    reason=data.reason,
                )
            elif action == "counter":
                counter = parse_form(CounterOffer, form, lists=("columns",))
                negotiation.counter_offer(
                    session=session,
                    settings=settings,
                    actor=actor,
                    request_id=request_id,
                    data=counter,
                )
            elif action == "accept":
                a = negotiation.accept(
                    session=session, settings=settings, actor=actor, request_id=request_id
                )
                target = f"/market/agreements/{a.id}"
            elif action == "withdraw":
                negotiation.withdraw(session=session, actor=actor, request_id=request_id)
            else:
                raise NotFound("No such action")
        except Invalid as exc:
            return _request_page(
                request, session, actor, request_id, errors=exc.extra["errors"], status_code=422
            )
        return RedirectResponse(target, status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop
