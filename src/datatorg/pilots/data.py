"""Data for a pilot: access requests made through the marketplace, with the pilot as purpose.

A team member asks under an offer, in their own name (and organisation), through
``market.service.create_request``; the request states the pilot's purpose (a DPV term) and
refers to the pilot (``pilot_ref`` = ``/pilots/{id}``). The link is kept here, so the pilot
page shows each request, its negotiation state and the agreement made from it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.errors import Conflict, Forbidden
from datatorg.identity.actor import Actor
from datatorg.market import policies as market_policies
from datatorg.market import service as market
from datatorg.market.models import AccessRequest, Agreement, Offer
from datatorg.market.schemas import AccessRequestCreate
from datatorg.pilots import policies
from datatorg.pilots.models import PilotDataRequest, PilotState
from datatorg.pilots.pilot_schemas import DataRequestCreate
from datatorg.pilots.pilots import event, get_pilot, team_ids
from datatorg.pilots.present import dataset_title
from datatorg.pilots.vocab import N_, label
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _


def pilot_ref(pilot_id: uuid.UUID) -> str:
    return f"/pilots/{pilot_id}"


def request_data(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    pilot_id: uuid.UUID,
    data: DataRequestCreate,
) -> AccessRequest:
    """Ask for data for the pilot under an offer (a team member, in their own name)."""
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_request_data(actor, team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team asks for data for it."))
    if pilot.state != PilotState.running:
        raise Conflict(_("The pilot is completed."))
    request = market.create_request(
        session=session,
        settings=settings,
        actor=actor,
        data=AccessRequestCreate(
            offer_id=data.offer_id,
            purpose=pilot.purpose,
            description=data.description,
            pilot_ref=pilot_ref(pilot.id),
            period_start=data.period_start,
            period_end=data.period_end,
            columns=data.columns,
            organisation=data.organisation,
        ),
    )
    session.add(PilotDataRequest(pilot_id=pilot.id, access_request_id=request.id))
    dataset = session.get(Dataset, request.dataset_id)
    event(
        session,
        pilot,
        N_("Data requested: {dataset}"),
        actor,
        dataset=dataset.title_nb if dataset else "",
    )
    session.flush()
    return request


def offers_for_pilot(session: Session, purpose: str) -> list[tuple[Offer, Dataset]]:
    """Active offers that allow the pilot's purpose (what the request form offers)."""
    rows, _total = market.list_offers(session=session, limit=200, offset=0)
    out = []
    for offer in rows:
        ds = session.get(Dataset, offer.dataset_id)
        if ds is not None and purpose in offer.purposes:
            out.append((offer, ds))
    return out


def data_requests(session: Session, actor: Actor, pilot_id: uuid.UUID) -> list[dict[str, Any]]:
    """The pilot's requests, newest first, with their agreements, in plain words.

    What the public register shows is shown to all (dataset, purpose, state, period); links
    to the request and the agreement only to their parties.
    """
    rows = session.scalars(
        select(AccessRequest)
        .join(PilotDataRequest, PilotDataRequest.access_request_id == AccessRequest.id)
        .where(PilotDataRequest.pilot_id == pilot_id)
        .order_by(AccessRequest.created_at.desc(), AccessRequest.id)
    ).all()
    out = []
    for r in rows:
        ds = session.get(Dataset, r.dataset_id)
        agreement = session.get(Agreement, r.agreement_id) if r.agreement_id else None
        party = market_policies.can_view_request(actor, r.consumer_user_id, r.provider_org_id)
        item: dict[str, Any] = {
            "request_id": str(r.id),
            "dataset": dataset_title(ds.title_nb, ds.title_en) if ds else "",
            "dataset_url": f"/datasets/{ds.slug}" if ds else "",
            "state": {"code": r.state.value, "label": label("negotiation_state", r.state.value)},
            "period_start": r.period_start.isoformat(),
            "period_end": r.period_end.isoformat(),
            "request_url": f"/market/requests/{r.id}" if party else "",
            "agreement": None,
        }
        if agreement is not None:
            state = market.effective_state(agreement)
            item["agreement"] = {
                "id": str(agreement.id),
                "state": {"code": state, "label": label("agreement_state", state)},
                "valid_from": agreement.valid_from.date().isoformat(),
                "last_day": (agreement.valid_until - timedelta(days=1)).date().isoformat(),
                "columns": agreement.columns,
                "aggregate_only": agreement.aggregate_only,
                "url": f"/market/agreements/{agreement.id}" if party else "",
            }
        out.append(item)
    return out
