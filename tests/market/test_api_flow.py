"""The whole flow through the API: request → counter-offer → accept → agreement → token →
check_agreement allows → quota exhausted (retry_after) → revoke → denied."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.identity.service import actor_for_token
from datatorg.market import odrl, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Notification
from tests.factories import make_token
from tests.market.conftest import World, offer_data


def test_whole_flow_through_the_api(client: TestClient, session: Session, world: World) -> None:
    publisher = make_token(session, world.publisher)
    steward = make_token(session, world.steward)
    consumer = make_token(session, world.consumer)

    # the publisher sets a tight offer
    body = offer_data(world.dataset, calls_per_day=2).model_dump(mode="json")
    r = client.post("/api/v1/offers", json=body, headers=publisher)
    assert r.status_code == 201, r.text
    offer_id = r.json()["id"]

    today = utc_today()
    r = client.post(
        "/api/v1/access-requests",
        headers=consumer,
        json={
            "offer_id": offer_id,
            "purpose": "AcademicResearch",
            "description": "Bachelor project on heating in schools.",
            "period_start": today.isoformat(),
            "period_end": (today + timedelta(days=120)).isoformat(),
            "columns": ["building", "month", "kwh"],
        },
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["state"] == "REQUESTED"

    # it shows in the steward queue, not in someone else's
    queue = client.get("/api/v1/access-requests?role=steward", headers=steward).json()
    assert [i["id"] for i in queue["items"]] == [req["id"]]
    assert client.get("/api/v1/access-requests?role=steward", headers=consumer).json()["total"] == 0

    # the consumer cannot approve its own request; accepting before an offer is illegal (409)
    assert (
        client.post(f"/api/v1/access-requests/{req['id']}/approve", headers=consumer).status_code
        == 403
    )
    r = client.post(f"/api/v1/access-requests/{req['id']}/accept", headers=consumer)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["state"] == "REQUESTED"

    # counter-offer: fewer columns, shorter period
    end = today + timedelta(days=60)
    r = client.post(
        f"/api/v1/access-requests/{req['id']}/counter-offer",
        headers=steward,
        json={
            "columns": ["building", "kwh"],
            "period_end": end.isoformat(),
            "reason": "Month is not needed.",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "OFFERED" and r.json()["columns"] == ["building", "kwh"]
    unread = client.get("/api/v1/notifications/unread-count", headers=consumer).json()
    assert unread["unread"] == 1

    r = client.post(f"/api/v1/access-requests/{req['id']}/accept", headers=consumer)
    assert r.status_code == 200, r.text
    agreement = r.json()
    assert agreement["columns"] == ["building", "kwh"]
    assert agreement["effective_state"] == "active" and len(agreement["content_hash"]) == 64
    final = client.get(f"/api/v1/access-requests/{req['id']}", headers=consumer).json()
    assert final["state"] == "FINALIZED"
    assert [h["state"] for h in final["history"]] == [
        "REQUESTED",
        "OFFERED",
        "ACCEPTED",
        "AGREED",
        "VERIFIED",
        "FINALIZED",
    ]
    # a second decision on a finished negotiation is a conflict
    assert (
        client.post(
            f"/api/v1/access-requests/{req['id']}/reject",
            headers=steward,
            json={"reason": "too late"},
        ).status_code
        == 409
    )

    # the agreement as ODRL: expands offline, carries its hash; strangers do not see it
    r = client.get(
        f"/api/v1/agreements/{agreement['id']}",
        headers=consumer | {"Accept": "application/ld+json"},
    )
    assert r.headers["content-type"].startswith("application/ld+json")
    [expanded] = odrl.expand(r.json())
    assert expanded["@type"] == ["http://www.w3.org/ns/odrl/2/Agreement"]
    assert expanded[odrl.DTG + "contentHash"] == [{"@value": agreement["content_hash"]}]
    assert (
        client.get(f"/api/v1/agreements/{agreement['id']}", headers=publisher).status_code == 200
    )  # the provider's publisher
    # an agreement-scoped token
    r = client.post(
        f"/api/v1/agreements/{agreement['id']}/tokens",
        headers=consumer,
        json={"name": "analysis", "days": 30},
    )
    assert r.status_code == 201, r.text
    plain = r.json()["token"]
    actor = actor_for_token(session=session, plaintext=plain)
    assert actor is not None
    assert str(actor.agreement_id) == agreement["id"]

    def read() -> service.AgreementCheck:
        return service.check_agreement(
            session=session,
            actor=actor,
            dataset_id=world.dataset.id,
            columns=frozenset({"kwh"}),
            aggregate=False,
            agreement_id=None,
        )

    for _ in range(2):
        allowed = read()
        assert allowed.allowed, allowed
        service.record_usage(session=session, agreement_id=allowed.agreement_id, rows=7, nbytes=700)
    exhausted = read()
    assert exhausted.failed_term == "quota" and exhausted.retry_after and exhausted.retry_after > 0
    usage = client.get(
        f"/api/v1/agreements/{agreement['id']}/usage?days=1", headers=consumer
    ).json()
    assert usage["days"][-1] == {"day": today.isoformat(), "calls": 2, "rows": 14, "nbytes": 1400}

    # revoke: the next check is refused on state, and the scoped token stops working
    r = client.post(
        f"/api/v1/agreements/{agreement['id']}/revoke",
        headers=steward,
        json={"reason": "Data used outside the purpose."},
    )
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    denied = read()
    assert not denied.allowed and denied.failed_term == "state"
    assert actor_for_token(session=session, plaintext=plain) is None
    assert (
        client.get("/api/v1/agreements", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 401
    )

    # audited, notified
    assert audit.count(session=session, action="agreement.grant", target_id=agreement["id"]) == 1
    assert audit.count(session=session, action="agreement.revoke", target_id=agreement["id"]) == 1
    kinds = {n.kind for n in session.query(Notification).all()}
    assert {"request_received", "counter_offer", "request_decided", "agreement_revoked"} <= kinds


def test_offer_odrl_and_agreement_odrl_served(
    client: TestClient, session: Session, world: World
) -> None:
    r = client.get(f"/api/v1/offers/{world.offer.id}", headers={"Accept": "application/ld+json"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert doc["@type"] == "Offer" and doc["uid"].endswith(str(world.offer.id))
    plain = client.get(f"/api/v1/offers/{world.offer.id}").json()
    assert plain["purposes"] == world.offer.purposes
