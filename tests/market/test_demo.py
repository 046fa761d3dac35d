"""The marketplace demo: offers, agreements in several states, a queue; the register shows it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.demo import world
from datatorg.identity.service import get_user_by_email
from datatorg.market import odrl
from datatorg.market.models import AccessRequest, Agreement, NegotiationState, Offer
from datatorg.settings import Settings
from tests.factories import make_token


def test_demo_market_loads_once_and_shows_in_register_and_queue(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load(session=session, settings=settings, small=True)
    offers = session.scalar(select(func.count()).select_from(Offer))
    world.load(session=session, settings=settings, small=True)  # idempotent
    assert session.scalar(select(func.count()).select_from(Offer)) == offers
    # every non-open demo dataset can be asked for: it has an offer
    restricted = session.scalars(select(Dataset))
    offered = set(session.scalars(select(Offer.dataset_id)))
    assert [d.slug for d in restricted if not d.is_open and d.id not in offered] == []
    states = set(session.scalars(select(Agreement.state)))
    assert {s.value for s in states} == {"active", "suspended", "revoked"}
    waiting = session.scalar(
        select(func.count())
        .select_from(AccessRequest)
        .where(AccessRequest.state == NegotiationState.requested)
    )
    assert waiting == 3

    register = client.get("/register.json").json()
    assert register["total"] == 8  # with the energy and waste pilots' agreements (demo/pilots_*.py)
    # and the privacy demo's agreement with IFE
    shown = {e["state"] for e in register["items"]}
    assert shown == {"active", "suspended", "revoked", "expired"}
    assert "private individual" in {e["recipient"] for e in register["items"]}
    register = client.get("/register").text
    assert "Høgskolen i Østfold" in register
    # the wide table scrolls in a region a keyboard can reach, named for screen readers
    assert (
        '<div class="table-scroll stacked-scroll" tabindex="0" role="region" aria-label="Avtaler">'
        in register
    )

    steward = get_user_by_email(session=session, email="steward@demo.datatorg.no")
    assert steward is not None
    queue = client.get(
        "/api/v1/access-requests?role=steward&state=REQUESTED", headers=make_token(session, steward)
    ).json()
    assert queue["total"] == 3

    # every demo offer is served as ODRL and expands offline to ODRL and DPV IRIs
    for offer in session.scalars(select(Offer)):
        r = client.get(f"/api/v1/offers/{offer.id}", headers={"Accept": "application/ld+json"})
        [expanded] = odrl.expand(r.json())
        assert expanded["@type"] == ["http://www.w3.org/ns/odrl/2/Offer"]
        purposes = expanded["http://www.w3.org/ns/odrl/2/permission"][0][
            "http://www.w3.org/ns/odrl/2/constraint"
        ][0]["http://www.w3.org/ns/odrl/2/rightOperand"]
        assert {p["@id"] for p in purposes} == {f"https://w3id.org/dpv#{t}" for t in offer.purposes}
