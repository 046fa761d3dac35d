"""What a person can do about one dataset: offers to ask under, agreements in force, requests
waiting, and why they cannot ask when no offer admits them. The dataset page leads with it
("See data", "Ask for access", "Your request waits", "You are not in any organisation")."""

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
from datatorg.identity.models import Organisation, OrgKind, Role
from datatorg.market import policies
from datatorg.market.models import AccessRequest, Agreement, AgreementState, NegotiationState, Offer
from datatorg.market.offers import offers_needing_attention


@dataclass
class AccessSummary:
    offers: list[Offer] = field(default_factory=list)  # active offers on the dataset
    agreements: list[Agreement] = field(default_factory=list)  # the actor's, in force now
    waiting: list[AccessRequest] = field(default_factory=list)  # the actor's open requests
    # why the signed-in person can ask under none of the offers ("" when they can, or when
    # nobody is signed in): "no_org" (in no organisation, and no offer admits private
    # persons) or "kind" (none of their organisations is one the offers admit)
    cannot_ask: str = ""
    kinds: list[str] = field(default_factory=list)  # the organisation kinds the offers admit


def asking_as(*, session: Session, actor: Actor, offer: Offer) -> dict[str, Any]:
    """Whom the person can ask for under ``offer``: organisations whose kind the offer admits,
    or themselves as a private person; and why not, when nobody fits ("no_org" for a person
    in no organisation, "kind" for one whose organisations the offer does not admit)."""
    if not actor.is_authenticated:
        return {"orgs": [], "private": False, "reason": ""}
    kinds = set(offer.consumer_kinds)
    mine = [session.get(Organisation, o) for o in sorted(actor.org_ids(Role.consumer))]
    allowed = [
        o
        for o in mine
        if o is not None and policies.can_request_for_org(actor, o.id) and o.kind.value in kinds
    ]
    private = not mine and OrgKind.private_person.value in kinds
    reason = "" if allowed or private else "kind" if actor.org_ids() else "no_org"
    return {"orgs": sorted(allowed, key=lambda o: o.name), "private": private, "reason": reason}


def _cannot_ask(session: Session, actor: Actor, offers: list[Offer]) -> str:
    """Why the person can ask under none of ``offers`` ("" when they can ask under one)."""
    if not offers or not policies.can_request_access(actor):
        return ""
    reasons = [asking_as(session=session, actor=actor, offer=o)["reason"] for o in offers]
    return "" if not all(reasons) else "no_org" if "no_org" in reasons else "kind"


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
    kinds = [k.value for k in OrgKind if any(k.value in o.consumer_kinds for o in offers)]
    return AccessSummary(
        offers=offers,
        agreements=agreements,
        waiting=waiting,
        cannot_ask=_cannot_ask(session, actor, offers),
        kinds=kinds,
    )


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
