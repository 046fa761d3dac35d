"""Request pages: the consumer's requests, the steward queue, a request, and decisions.

Approving takes two steps: the request page's button leads to a confirmation page that says
exactly what the agreement will give (dataset, columns, period, purpose), and only its form
approves. Rejecting needs a reason; a counter-offer narrows columns or the period.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.errors import Forbidden, Invalid, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Role
from datatorg.market import deps as market_deps
from datatorg.market import negotiation, offers, policies
from datatorg.market.forms import parse_form
from datatorg.market.models import AccessRequest, NegotiationState
from datatorg.market.present import asker, dataset_facts, org_name, title
from datatorg.market.schemas import CounterOffer, Rejection
from datatorg.market.states import allowed_events
from datatorg.market.vocab import purposes
from datatorg.web import forms
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import N_, current_locale
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 20

DECISION_FIELDS = {
    "reason": N_("Reason"),
    "columns": N_("Columns"),
    "period_end": N_("Last day"),
}


def _rows(session: Session, reqs: list[AccessRequest]) -> list[dict[str, Any]]:
    out = []
    for r in reqs:
        ds = session.get(Dataset, r.dataset_id)
        out.append(
            {
                "r": r,
                "dataset": title(ds),
                "dataset_slug": ds.slug if ds else "",
                "asker": asker(session, r),
                "provider": org_name(session, r.provider_org_id),
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
    """The requests the signed-in person has sent, newest first."""
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
    """The steward queue: requests to your organisations, waiting ones by due date."""
    states = [NegotiationState.requested] if show == "open" else None
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


def _context(session: Session, actor: Actor, req: AccessRequest) -> dict[str, Any]:
    offer = offers.get_offer(session=session, offer_id=req.offer_id)
    dataset = session.get(Dataset, req.dataset_id)
    if dataset is None:
        raise NotFound("No such access request")
    events = {e.value for e in allowed_events(req.state)}
    is_provider = policies.can_decide_request(actor, req.provider_org_id)
    is_consumer = policies.is_requester(actor, req.consumer_user_id)
    facts = dataset_facts(session, dataset)
    term = purposes().get(req.purpose)
    return {
        **_rows(session, [req])[0],
        "offer": offer,
        "ds": facts,
        "asked_columns": facts.describe(req.columns if req.columns is not None else offer.columns),
        "purpose_label": term.label(current_locale()) if term else req.purpose,
        "purpose_explanation": term.explanation(current_locale()) if term else "",
        "purpose_iri": term.iri if term else "",
        "is_provider": is_provider,
        "is_consumer": is_consumer,
        "can_decide": is_provider and req.state == NegotiationState.requested,
        "can_answer": is_consumer and "accept" in events,
        "can_withdraw": is_consumer and "terminate" in events,
        "counter_columns": facts.describe(req.columns or offer.columns),
    }


def _request_page(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: uuid.UUID,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
    template: str = "market/request.html",
) -> Response:
    req = negotiation.get_request(session=session, actor=actor, request_id=request_id)
    explained = forms.explain(errors or [], {k: _(v) for k, v in DECISION_FIELDS.items()})
    ctx = _context(session, actor, req) | {
        "errors": explained,
        "field_errors": forms.by_field(explained),
        "notice": request.query_params.get("sent")
        and "sent"
        or request.query_params.get("done")
        or "",
    }
    return render(request, template, ctx, status_code=status_code)


@router.get(
    "/market/requests/{request_id}",
    dependencies=[perm.party(market_deps.access_request, Role.steward, Role.publisher, hide=True)],
)
def request_page(
    request_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """A request: who asks for what and why, the dataset's risk facts, and the decision."""
    return _request_page(request, session, actor, request_id)


@router.get(
    "/market/requests/{request_id}/approve",
    dependencies=[perm.org(market_deps.access_request, Role.steward, Role.publisher, hide=True)],
)
def confirm_approval(
    request_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """The confirmation step before approving: what exactly the agreement will give."""
    req = negotiation.get_request(session=session, actor=actor, request_id=request_id)
    if not policies.can_decide_request(actor, req.provider_org_id):
        raise Forbidden("Only the provider's stewards decide this request")
    if req.state != NegotiationState.requested:
        return RedirectResponse(f"/market/requests/{request_id}", status_code=303)
    return _request_page(request, session, actor, request_id, template="market/approve.html")


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
    _c: CsrfDep,
) -> Response:
    """Approve (after the confirmation page), reject, counter (stewards); accept, withdraw
    (the consumer)."""
    form = await request.form()

    def work() -> Response:
        target = f"/market/requests/{request_id}"
        try:
            if action == "approve":
                if form.get("confirmed") != "yes":  # a form that skipped the confirmation step
                    req = negotiation.get_request(
                        session=session, actor=actor, request_id=request_id
                    )
                    if not policies.can_decide_request(actor, req.provider_org_id):
                        raise Forbidden("Only the provider's stewards decide this request")
                    return RedirectResponse(f"{target}/approve", status_code=303)
                a = negotiation.approve(
                    session=session, settings=settings, actor=actor, request_id=request_id
                )
                target = f"/market/agreements/{a.id}?made=approved"
            elif action == "reject":
                data = parse_form(Rejection, form)
                negotiation.reject(
                    session=session,
                    settings=settings,
                    actor=actor,
                    request_id=request_id,
                    reason=data.reason,
                )
                target += "?done=rejected"
            elif action == "counter":
                counter = parse_form(CounterOffer, form, lists=("columns",))
                negotiation.counter_offer(
                    session=session,
                    settings=settings,
                    actor=actor,
                    request_id=request_id,
                    data=counter,
                )
                target += "?done=countered"
            elif action == "accept":
                a = negotiation.accept(
                    session=session, settings=settings, actor=actor, request_id=request_id
                )
                target = f"/market/agreements/{a.id}?made=accepted"
            elif action == "withdraw":
                negotiation.withdraw(session=session, actor=actor, request_id=request_id)
                target += "?done=withdrawn"
            else:
                raise NotFound("No such action")
        except Invalid as exc:
            return _request_page(
                request, session, actor, request_id, errors=exc.extra["errors"], status_code=422
            )
        return RedirectResponse(target, status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop
