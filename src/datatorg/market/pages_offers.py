"""The publisher's form for a new offer, `/market/offers/new` (JSON twin: POST /api/v1/offers).

The form is built from the dataset's schema: first the dataset is chosen (its own page links
here with ``?dataset=…``), then the columns are checkboxes of the dataset's real columns. The
service checks the columns again (the API takes the same check).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from datatorg.catalog.models import Dataset
from datatorg.errors import Forbidden, Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import OrgKind, Role
from datatorg.market import offers
from datatorg.market.forms import field_labels
from datatorg.market.models import PriceModel
from datatorg.market.present import dataset_facts, title
from datatorg.market.schemas import OfferCreate
from datatorg.market.vocab import legal_bases, purposes
from datatorg.web import forms
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import N_, current_locale
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)

BOOLEANS = ("aggregate_only", "auto_approve", "attribution_required", "redistribution_prohibited")
LISTS = ("purposes", "consumer_kinds", "columns")
OFFER_FIELDS = {
    "dataset": N_("Dataset"),
    "title": N_("Title of the offer"),
    "licence": N_("Licence (web address)"),
    "purposes": N_("Allowed purposes"),
    "consumer_kinds": N_("Who may ask"),
    "columns": N_("Columns"),
    "max_period_days": N_("Longest period (days)"),
    "calls_per_day": N_("Calls per day"),
    "rows_per_month": N_("Rows per month"),
    "price_model": N_("Price model"),
    "price_nok": N_("Price (NOK)"),
    "legal_basis": N_("Legal basis"),
    "auto_approve": N_("Approve requests at once (low-risk data only)"),
}


def _datasets(session: Session, actor: Actor) -> list[Dataset]:
    stmt = select(Dataset).order_by(Dataset.sort_title)
    if not actor.is_superuser:
        stmt = stmt.where(Dataset.publisher_id.in_(actor.org_ids(Role.publisher)))
    return list(session.scalars(stmt.limit(500)))


def offer_from_form(form: FormData) -> OfferCreate:
    """The form as an ``OfferCreate``: checkboxes are booleans and lists; "all columns" is None."""
    data: dict[str, Any] = {k: k in form for k in BOOLEANS}
    for key in LISTS:
        data[key] = [str(v) for v in form.getlist(key)]
    if form.get("all_columns") == "yes" or not data["columns"]:
        data["columns"] = None
    for key in (
        "dataset",
        "title",
        "licence",
        "max_period_days",
        "calls_per_day",
        "rows_per_month",
        "price_model",
        "price_nok",
        "legal_basis",
    ):
        value = form.get(key)
        if isinstance(value, str) and value.strip():
            data[key] = value.strip().replace(",", ".") if key == "price_nok" else value.strip()
    try:
        return OfferCreate.model_validate(data)
    except ValidationError as exc:
        problems = [
            {
                "field": str(e["loc"][0]) if e["loc"] else "",
                "type": e["type"],
                "ctx": e.get("ctx") or {},
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        raise Invalid("Some fields are not valid", errors=problems) from None


def _form(
    request: Request,
    session: Session,
    actor: Actor,
    values: dict[str, Any],
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    datasets = _datasets(session, actor)
    if not datasets:
        raise Forbidden("Only publishers of an organisation with datasets set offers")
    chosen = next((d for d in datasets if d.slug == values.get("dataset")), None)
    facts = dataset_facts(session, chosen) if chosen else None
    loc = current_locale()
    explained = forms.explain(errors or [], field_labels(OFFER_FIELDS))
    return render(
        request,
        "market/offer_new.html",
        {
            "datasets": [(d.slug, title(d)) for d in datasets],
            "ds": facts,
            "values": values,
            "errors": explained,
            "field_errors": forms.by_field(explained),
            "purposes": [(t, p.label(loc), p.explanation(loc)) for t, p in purposes().items()],
            "bases": [(t, b.label(loc)) for t, b in legal_bases().items()],
            "kinds": [k.value for k in OrgKind],
            "prices": [p.value for p in PriceModel],
        },
        status_code=status_code,
    )


@router.get("/market/offers/new", dependencies=[perm.role(Role.publisher, Role.admin)])
def new_offer(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    dataset: str = Query("", max_length=120),
) -> Response:
    """The form for a new offer on one of your organisation's datasets."""
    return _form(
        request,
        session,
        actor,
        {
            "dataset": dataset,
            "purposes": [],
            "consumer_kinds": [],
            "columns": [],
            "all_columns": "yes",
            "max_period_days": 365,
            "attribution_required": True,
            "redistribution_prohibited": True,
            "price_model": "free",
            "price_nok": "0",
            "legal_basis": "Contract",
        },
    )


@router.post("/market/offers/new", dependencies=[perm.role(Role.publisher, Role.admin)])
async def create_offer(
    request: Request, session: SessionDep, actor: UserActorDep, _c: CsrfDep
) -> Response:
    form = await request.form()

    def work() -> Response:
        try:
            offer = offers.create_offer(session=session, actor=actor, data=offer_from_form(form))
        except Invalid as exc:
            values: dict[str, Any] = {k: form.get(k) for k in form}
            for key in LISTS:
                values[key] = form.getlist(key)
            for key in BOOLEANS:
                values[key] = key in form
            return _form(
                request, session, actor, values, errors=exc.extra["errors"], status_code=422
            )
        return RedirectResponse(f"/market/offers/{offer.id}?published=1", status_code=303)

    return await run_in_threadpool(work)  # the database work, off the event loop
