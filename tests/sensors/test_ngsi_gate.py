"""NGSI-LD reads go through the gate: a restricted stream needs an agreement, whose columns
and purpose bind; every read and refusal is audited with channel ngsi-ld."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent
from datatorg.market.metering import today as utc_today
from datatorg.sensors import service
from tests.factories import make_token
from tests.market.conftest import World, offer_data
from tests.market.conftest import world as world  # noqa: F401  (the fixture)

ENTITY = {
    "id": "urn:ngsi-ld:EnergyMeter:B01",
    "type": "EnergyMeter",
    "kwh": {"type": "Property", "value": 1200.5, "observedAt": "2026-11-01T10:00:00Z"},
    "area": {"type": "Property", "value": 3400.0},
    "name": {"type": "Property", "value": "Rådhuset"},
}
URL = "/ngsi-ld/v1/entities/urn:ngsi-ld:EnergyMeter:B01"


def _events(session: Session, dataset_id: str) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "data.read", AuditEvent.target_id == dataset_id
        )
    )
    return [
        (e.outcome, str(e.details.get("channel", "")))
        for e in rows
        if e.details.get("channel") == "ngsi-ld"
    ]


def test_restricted_stream_reads_need_an_agreement_and_are_audited(
    client: TestClient, session: Session, world: World
) -> None:
    service.create_stream(
        session=session,
        actor=None,
        dataset=world.dataset,
        type_name="EnergyMeter",
        attributes=[{"name": "kwh", "type": "number"}, {"name": "area", "type": "number"}],
    )
    publisher = make_token(session, world.publisher)
    steward = make_token(session, world.steward)
    consumer = make_token(session, world.consumer)
    r = client.post("/ngsi-ld/v1/entities", json=ENTITY, headers=publisher)
    assert r.status_code == 201, r.text

    assert client.get(URL, headers=publisher).json()["kwh"]["value"] == 1200.5  # owner
    r = client.get(URL)
    assert r.status_code == 401
    r = client.get(URL, headers=consumer)
    assert r.status_code == 403 and r.json()["failed_term"] == "agreement"
    r = client.get("/ngsi-ld/v1/entities", params={"type": "EnergyMeter"}, headers=consumer)
    assert r.status_code == 403

    offer = client.post(
        "/api/v1/offers",
        headers=publisher,
        json=offer_data(world.dataset, columns=["entityId", "kwh", "area"]).model_dump(mode="json"),
    )
    assert offer.status_code == 201, offer.text
    today = utc_today()
    req = client.post(
        "/api/v1/access-requests",
        headers=consumer,
        json={
            "offer_id": offer.json()["id"],
            "purpose": "AcademicResearch",
            "description": "Energy use in municipal buildings.",
            "period_start": today.isoformat(),
            "period_end": (today + timedelta(days=30)).isoformat(),
            "columns": ["entityId", "kwh"],
        },
    )
    assert req.status_code == 201, req.text
    ok = client.post(f"/api/v1/access-requests/{req.json()['id']}/approve", headers=steward)
    assert ok.status_code == 200, ok.text

    # the agreement covers entityId and kwh: asking for everything (area too) is refused
    r = client.get(URL, headers=consumer)
    assert r.status_code == 403 and "area" in r.json()["detail"]
    r = client.get(URL, params={"attrs": "kwh"}, headers=consumer)
    assert r.status_code == 200, r.text
    assert r.json()["kwh"]["value"] == 1200.5 and "area" not in r.json()
    r = client.get(
        "/ngsi-ld/v1/entities",
        headers=consumer,
        params={"type": "EnergyMeter", "attrs": "kwh", "q": "kwh>1000"},
    )
    assert [e["id"] for e in r.json()] == ["urn:ngsi-ld:EnergyMeter:B01"]
    r = client.get(
        "/ngsi-ld/v1/entities",
        headers=consumer,
        params={"type": "EnergyMeter", "attrs": "kwh", "q": "area>1"},
    )
    assert r.status_code == 403  # q reads area: the agreement must cover it too
    r = client.get(URL, params={"attrs": "kwh", "_purpose": "CommercialResearch"}, headers=consumer)
    assert r.status_code == 403 and r.json()["failed_term"] == "purpose"

    events = _events(session, str(world.dataset.id))
    assert events.count(("ok", "ngsi-ld")) >= 3  # publisher, two consumer reads
    assert events.count(("denied", "ngsi-ld")) >= 5
