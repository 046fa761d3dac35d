"""What a person can do about one dataset: offers to ask under, agreements in force, requests
waiting. The dataset page leads with it ("See data", "Ask for access", "Your request waits")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import policies as catalog_policies
from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.identity.actor import Actor
from datatorg.market import policies
from datatorg.market.models import AccessRequest, Agreement, AgreementState, NegotiationState, Offer
from datatorg.market.offers import offers_needing_attention


@dataclass
class AccessSummary:
    offers: list[Offer] = field(default_factory=list)  # active offers on the dataset
    agreements: list[Agreement] = field(default_factory=list)  # the actor's, in force now
    waiting: list[AccessRequest] = field(default_factory=list)  # the actor's open requests


def access_summary(*, session: Session, actor: Actor, dataset: Dataset) -> AccessSummary:
    """Offers on ``dataset``, and the actor's agreements in force and requests waiting on it."""
    offers = list(
        session.scalars(
            select(Offer)
            .where(Offer.dataset_id == dataset.id, Offer.active.is_(True))
            .order_by(Offer.created_at)
        )
    )
    if not actor.is_authenticated:
        return AccessSummary(offers=offers)
    now = utcnow()
    agreements = [
        a
        for a in session.scalars(
            select(Agreement)
            .where(
                Agreement.dataset_id == dataset.id,
                Agreement.state == AgreementState.active,
                Agreement.valid_from <= now,
                Agreement.valid_until > now,
            )
            .order_by(Agreement.agreed_at)
        )
        if policies.is_assignee(actor, a.assignee_user_id, a.assignee_org_id)
    ]
    waiting = list(
        session.scalars(
            select(AccessRequest)
            .where(
                AccessRequest.dataset_id == dataset.id,
                AccessRequest.consumer_user_id == actor.user_id,
                AccessRequest.state.in_([NegotiationState.requested, NegotiationState.offered]),
            )
            .order_by(AccessRequest.created_at)
        )
    )
    return AccessSummary(offers=offers, agreements=agreements, waiting=waiting)


def agreements_in_force(*, session: Session, actor: Actor, dataset: Dataset) -> list[Agreement]:
    """The actor's agreements in force on ``dataset`` (the data page lets them pick one)."""
    return access_summary(session=session, actor=actor, dataset=dataset).agreements


def _dataset_page(session: Session, actor: Actor, dataset: Dataset) -> dict[str, Any]:
    """The dataset page's access part (``catalog.service.dataset_page_part``): what the reader
    may do about access, and, for its publishers, offers naming columns it no longer has."""
    summary = access_summary(session=session, actor=actor, dataset=dataset)
    stale: list[Any] = []
    if catalog_policies.can_edit_dataset(actor, dataset):
        stale = offers_needing_attention(session=session, dataset_ids=[dataset.id]).get(
            dataset.id, []
        )
    return {"access": summary, "has_agreement": bool(summary.agreements), "stale_offers": stale}


catalog.dataset_page_part("market", _dataset_page)
