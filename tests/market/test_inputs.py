"""Hostile and malformed input on every marketplace body: a clear 4xx, nothing half-stored."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest, Agreement, Offer
from tests.factories import make_token
from tests.market.conftest import World, offer_data

TODAY = utc_today()
HOSTILE_TEXT = [
    "'; DROP TABLE market_offers; --",
    "=cmd|'/C calc'!A0",
    "../../../etc/passwd",
    "\x00nul",
    "bell\x07",
    "x" * 5000,
]


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _request_body(world: World, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "offer_id": str(world.offer.id),
        "purpose": "AcademicResearch",
        "description": "A sound description of the use.",
        "period_start": TODAY.isoformat(),
        "period_end": (TODAY + timedelta(days=30)).isoformat(),
        "columns": ["kwh"],
    }
    body.update(kw)
    return body


BAD_REQUESTS: list[dict[str, Any]] = [
    {"purpose": "Advertising"},  # not offered / not on the list
    {"purpose": "https://w3id.org/dpv#ScientificResearch"},
    {"period_end": (TODAY - timedelta(days=1)).isoformat()},
    {"period_start": "2020-01-01"},
    {"period_end": (TODAY + timedelta(days=9999)).isoformat()},
    {"period_start": "31.12.2026"},
    {"columns": []},
    {"columns": ["area; DROP TABLE x"]},
    {"columns": ["secret_column"]},  # not in the offer
    {"columns": ["kwh"] * 501},
    {"columns": "kwh"},
    {"offer_id": "not-a-uuid"},
    {"offer_id": "00000000-0000-0000-0000-000000000000"},
    {"organisation": "not-mine"},
    {"unexpected": "field"},
    {"description": "short"},
    {"pilot_ref": "line\nbreak"},
    *({"description": t} for t in HOSTILE_TEXT[3:]),
]


@pytest.mark.parametrize("change", BAD_REQUESTS)
def test_bad_access_requests_are_refused_whole(
    client: TestClient, session: Session, world: World, change: dict[str, Any]
) -> None:
    headers = make_token(session, world.consumer)
    r = client.post("/api/v1/access-requests", json=_request_body(world, **change), headers=headers)
    assert r.status_code in (403, 404, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(session, AccessRequest) == 0


@pytest.mark.parametrize("text", HOSTILE_TEXT[:3] + ["Tromsø – «ærlig» bruk, Ærø, Å"])
def test_hostile_but_printable_text_is_stored_as_text(
    client: TestClient, session: Session, world: World, text: str
) -> None:
    headers = make_token(session, world.consumer)
    r = client.post(
        "/api/v1/access-requests", json=_request_body(world, description=text), headers=headers
    )
    assert r.status_code == 201, r.text
    assert session.scalars(select(AccessRequest.description)).one() == text
    assert _count(session, Offer) == 1  # nothing dropped


def test_latin1_encoded_body_is_refused(client: TestClient, session: Session, world: World) -> None:
    headers = make_token(session, world.consumer) | {"content-type": "application/json"}
    raw = '{"description": "Ærlig bruk på Østfold"}'.encode("latin-1")
    r = client.post("/api/v1/access-requests", content=raw, headers=headers)
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/v1/access-requests", content=b"{not json", headers=headers)
    assert r.status_code in (400, 422)
    assert _count(session, AccessRequest) == 0


BAD_OFFERS: list[dict[str, Any]] = [
    {"purposes": []},
    {"purposes": ["MakeMoney"]},
    {"consumer_kinds": ["aliens"]},
    {"price_model": "free", "price_nok": "10"},
    {"price_model": "per_call", "price_nok": "0"},
    {"price_nok": "-1"},
    {"price_model": "monthly", "price_nok": "1.001"},
    {"max_period_days": 0},
    {"calls_per_day": -5},
    {"licence": "javascript:alert(1)"},
    {"title": ""},
    {"title": "=SUM(A1)\n"},
    {"legal_basis": "BecauseWeCan"},
    {"dataset": "no-such-dataset"},
    {"auto_approve": True, "classification_hint": "x"},
]


@pytest.mark.parametrize("change", BAD_OFFERS)
def test_bad_offers_are_refused(
    client: TestClient, session: Session, world: World, change: dict[str, Any]
) -> None:
    headers = make_token(session, world.publisher)
    body = offer_data(world.dataset).model_dump(mode="json") | change
    r = client.post("/api/v1/offers", json=body, headers=headers)
    assert r.status_code in (404, 422), r.text
    assert _count(session, Offer) == 1


def test_only_the_owning_publisher_sets_offers(
    client: TestClient, session: Session, world: World
) -> None:
    body = offer_data(world.dataset).model_dump(mode="json")
    assert client.post("/api/v1/offers", json=body).status_code == 401
    for user in (world.consumer, world.steward):
        r = client.post("/api/v1/offers", json=body, headers=make_token(session, user))
        assert r.status_code == 403
    assert _count(session, Offer) == 1


def test_auto_approve_refused_on_row_level_restricted_data(
    client: TestClient, session: Session, world: World
) -> None:
    body = offer_data(world.dataset, auto_approve=True).model_dump(mode="json")
    r = client.post("/api/v1/offers", json=body, headers=make_token(session, world.publisher))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "auto_approve"
    body["aggregate_only"] = True  # aggregates of restricted, non-personal data are low risk
    r = client.post("/api/v1/offers", json=body, headers=make_token(session, world.publisher))
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("reject", {}),
        ("reject", {"reason": ""}),
        ("reject", {"reason": "x" * 2001}),
        ("counter-offer", {}),
        ("counter-offer", {"columns": ["area"]}),  # wider than asked
        ("counter-offer", {"period_end": (TODAY + timedelta(days=31)).isoformat()}),
        ("counter-offer", {"columns": ["kwh"], "extra": 1}),
    ],
)
def test_bad_decisions_are_refused(
    client: TestClient, session: Session, world: World, path: str, body: dict[str, Any]
) -> None:
    consumer = make_token(session, world.consumer)
    req = client.post("/api/v1/access-requests", json=_request_body(world), headers=consumer)
    rid = req.json()["id"]
    r = client.post(
        f"/api/v1/access-requests/{rid}/{path}",
        json=body,
        headers=make_token(session, world.steward),
    )
    assert r.status_code == 422, r.text
    again = client.get(f"/api/v1/access-requests/{rid}", headers=consumer).json()
    assert again["state"] == "REQUESTED" and again["columns"] == ["kwh"]


def test_state_changes_need_a_reason_and_the_right_party(
    client: TestClient, session: Session, world: World
) -> None:
    consumer, steward = make_token(session, world.consumer), make_token(session, world.steward)
    rid = client.post(
        "/api/v1/access-requests", json=_request_body(world), headers=consumer
    ).json()["id"]
    aid = client.post(f"/api/v1/access-requests/{rid}/approve", headers=steward).json()["id"]
    assert (
        client.post(f"/api/v1/agreements/{aid}/revoke", json={}, headers=steward).status_code == 422
    )
    assert (
        client.post(
            f"/api/v1/agreements/{aid}/revoke", json={"reason": "x"}, headers=consumer
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/agreements/{aid}/terminate", json={"reason": "x"}, headers=steward
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/agreements/{aid}/tokens", json={"days": 0}, headers=consumer
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/agreements/{aid}/tokens", json={}, headers=steward).status_code == 403
    )
    assert session.get(Agreement, uuid.UUID(aid)).state.value == "active"
