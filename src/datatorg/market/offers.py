"""Offers: the terms a dataset's publishers set for it."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.catalog.models import Classification, Dataset
from datatorg.errors import Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.market import policies
from datatorg.market.models import Offer, PriceModel
from datatorg.market.schemas import OfferCreate, OfferRead
from datatorg.market.terms import column_names, problem, unknown_columns

# Auto-approval is allowed only where a mistake cannot expose people or secrets.
HIGH_RISK = frozenset({Classification.personal, Classification.confidential})


def get_dataset(*, session: Session, ref: str) -> Dataset:
    """A dataset by slug or UUID (the catalog's one lookup)."""
    return catalog.find_dataset(session=session, ref=ref)


def is_low_risk(dataset: Dataset, aggregate_only: bool) -> bool:
    """Whether an offer on ``dataset`` may approve requests without a steward."""
    if dataset.is_open:
        return True
    if dataset.classification in HIGH_RISK or dataset.has_personal_data:
        return False
    return True if aggregate_only else dataset.classification != Classification.restricted


def create_offer(*, session: Session, actor: Actor, data: OfferCreate) -> Offer:
    """A new offer on a dataset, by one of its publishers."""
    dataset = get_dataset(session=session, ref=data.dataset)
    if not policies.can_manage_offers(actor, dataset.publisher_id):
        raise Forbidden("Only publishers of the owning organisation set offers")
    problems = []
    if data.price_model == PriceModel.free and data.price_nok != 0:
        problems.append(problem("price_nok", "free_has_price", "a free offer has no price"))
    if data.price_model != PriceModel.free and data.price_nok <= 0:
        problems.append(
            problem("price_nok", "priced_needs_price", "a priced offer needs a price above 0")
        )
    auto = data.auto_approve or dataset.is_open  # open data never waits for approval
    if auto and not is_low_risk(dataset, data.aggregate_only):
        problems.append(
            problem(
                "auto_approve",
                "auto_approve_high_risk",
                "personal, confidential or row-level restricted data needs a steward",
            )
        )
    if data.columns is not None:
        known = column_names(session=session, dataset=dataset)
        if known is None:
            problems.append(
                problem("columns", "no_columns_yet", "the dataset has no contents to choose from")
            )
        elif unknown := unknown_columns(list(data.columns), known):
            shown = ", ".join(unknown[:10])
            problems.append(
                problem(
                    "columns",
                    "unknown_columns",
                    "the dataset has no such columns: " + shown,
                    columns=shown,
                )
            )
    if problems:
        raise Invalid("The offer is not valid", errors=problems)
    offer = Offer(
        dataset_id=dataset.id,
        title=data.title,
        licence=data.licence or dataset.license,
        purposes=list(data.purposes),
        consumer_kinds=[k.value for k in data.consumer_kinds],
        columns=list(data.columns) if data.columns is not None else None,
        aggregate_only=data.aggregate_only,
        max_period_days=data.max_period_days,
        calls_per_day=data.calls_per_day,
        rows_per_month=data.rows_per_month,
        price_model=data.price_model,
        price_nok=data.price_nok,
        legal_basis=data.legal_basis,
        auto_approve=auto,
        attribution_required=data.attribution_required,
        redistribution_prohibited=data.redistribution_prohibited,
        created_by=actor.user_id,
    )
    session.add(offer)
    session.flush()
    return offer


def get_offer(*, session: Session, offer_id: uuid.UUID) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("No such offer")
    return offer


def withdraw_offer(*, session: Session, actor: Actor, offer_id: uuid.UUID) -> Offer:
    """Stop taking new requests on an offer (agreements already made stand)."""
    offer = get_offer(session=session, offer_id=offer_id)
    dataset = session.get(Dataset, offer.dataset_id)
    assert dataset is not None
    if not policies.can_manage_offers(actor, dataset.publisher_id):
        raise Forbidden("Only publishers of the owning organisation change offers")
    offer.active = False
    return offer


def list_offers(
    *, session: Session, dataset_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Offer], int]:
    """Active offers, newest first, optionally for one dataset."""
    stmt = select(Offer).where(Offer.active.is_(True))
    if dataset_id is not None:
        stmt = stmt.where(Offer.dataset_id == dataset_id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(Offer.created_at.desc(), Offer.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def offer_read(*, session: Session, offer: Offer) -> OfferRead:
    dataset = session.get(Dataset, offer.dataset_id)
    read = OfferRead.model_validate(offer)
    read.dataset_slug = dataset.slug if dataset else ""
    if dataset is not None:
        read.unknown_columns = stale_columns(session=session, offer=offer, dataset=dataset)
    return read


def stale_columns(*, session: Session, offer: Offer, dataset: Dataset) -> list[str]:
    """Columns the offer names that the dataset's current version does not have.

    An offer made before a new version dropped or renamed columns promises data nobody can
    read; its publisher is shown these (offer page, "My datasets") to fix the offer.
    """
    return unknown_columns(offer.columns, column_names(session=session, dataset=dataset))


def offers_needing_attention(
    *, session: Session, dataset_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[Offer, list[str]]]]:
    """Active offers on ``dataset_ids`` that name unknown columns, by dataset."""
    out: dict[uuid.UUID, list[tuple[Offer, list[str]]]] = {}
    if not dataset_ids:
        return out
    offers = session.scalars(
        select(Offer).where(Offer.dataset_id.in_(dataset_ids), Offer.active.is_(True))
    )
    for offer in offers:
        if offer.columns is None:
            continue
        dataset = session.get(Dataset, offer.dataset_id)
        if dataset is None:
            continue
        stale = stale_columns(session=session, offer=offer, dataset=dataset)
        if stale:
            out.setdefault(dataset.id, []).append((offer, stale))
    return out


def provider_slug(*, session: Session, org_id: uuid.UUID) -> str:
    org = session.get(Organisation, org_id)
    return org.slug if org else str(org_id)
