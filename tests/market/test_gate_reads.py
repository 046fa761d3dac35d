"""Agreements enforced at the gate: real reads of lake contents through the rows API,
downloads and CKAN datastore_search, with every term checked on every call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.market.metering import today as utc_today
from tests.factories import make_token
from tests.market.conftest import World, offer_data

CSV = (
    b"building,month,kwh,area\n"
    b"R\xc3\xa5dhuset,2026-01,1200.5,3400\n"
    b"Halden bad,2026-01,5400.0,2100\n"
    b"Os skole,2026-01,900.25,1800\n"
    b"Tistedalen skole,2026-01,700.0,1500\n"
)


def _contents(client: TestClient, world: World, publisher: dict[str, str]) -> None:
    r = client.post(
        f"/api/v1/datasets/{world.dataset.slug}/versions",
        files={"file": ("energi.csv", CSV)},
        headers=publisher,
    )
    assert r.status_code == 201, r.text


def _agreement(
    client: TestClient,
    world: World,
    publisher: dict[str, str],
    steward: dict[str, str],
    consumer: dict[str, str],
    **terms: Any,
) -> dict[str, Any]:
    body = offer_data(world.dataset, **terms).model_dump(mode="json")
    offer = client.post("/api/v1/offers", json=body, headers=publisher)
    assert offer.status_code == 201, offer.text
    today = utc_today()
    req = client.post(
        "/api/v1/access-requests",
        headers=consumer,
        json={
            "offer_id": offer.json()["id"],
            "purpose": "AcademicResearch",
            "description": "Energy use in school buildings.",
            "period_start": today.isoformat(),
            "period_end": (today + timedelta(days=30)).isoformat(),
            "columns": ["building", "kwh"],
        },
    )
    assert req.status_code == 201, req.text
    approved = client.post(f"/api/v1/access-requests/{req.json()['id']}/approve", headers=steward)
    assert approved.status_code == 200, approved.text
    agreements = client.get("/api/v1/agreements", headers=consumer).json()
    [agreement] = [a for a in agreements["items"] if a["effective_state"] == "active"]
    return dict(agreement)


def test_every_read_is_checked_against_the_agreement(
    client: TestClient, session: Session, world: World
) -> None:
    publisher = make_token(session, world.publisher)
    steward = make_token(session, world.steward)
    consumer = make_token(session, world.consumer)
    _contents(client, world, publisher)
    url = f"/api/v1/datasets/{world.dataset.slug}/rows"

    # no agreement yet: refused, and the refusal names the term
    r = client.get(url, headers=consumer)
    assert r.status_code == 403 and r.json()["failed_term"] == "agreement"

    agreement = _agreement(
        client, world, publisher, steward, consumer, calls_per_day=10, rows_per_month=6
    )
    r = client.post(
        f"/api/v1/agreements/{agreement['id']}/tokens",
        headers=consumer,
        json={"name": "analysis", "days": 30},
    )
    assert r.status_code == 201, r.text
    scoped = {"Authorization": f"Bearer {r.json()['token']}"}

    # columns inside the agreement: read; outside it: refused, naming the term
    ok = client.get(url + "?_col=building&_col=kwh&_sort=building", headers=scoped)
    assert ok.status_code == 200, ok.text
    assert ok.json()["columns"] == ["building", "kwh"] and len(ok.json()["rows"]) == 4
    assert ok.json()["rows"][0][0] == "Halden bad"
    r = client.get(url + "?_col=area", headers=scoped)
    assert r.status_code == 403 and "area" in r.json()["detail"]
    # a read for another purpose than the agreement's is refused
    r = client.get(url + "?_col=kwh&_purpose=CommercialResearch", headers=scoped)
    assert r.status_code == 403 and r.json()["failed_term"] == "purpose"
    # the stated purpose that matches is fine
    r = client.get(url + "?_agg=sum(kwh)&_purpose=AcademicResearch", headers=scoped)
    assert r.status_code == 200 and r.json()["rows"] == [[8200.75]]

    # 5 of 6 monthly rows are used: the next read is capped at the one left
    capped = client.get(url + "?_col=building&_col=kwh", headers=scoped)
    assert capped.status_code == 200 and len(capped.json()["rows"]) == 1
    # then the quota is exhausted: 429 with Retry-After, on every channel
    r = client.get(url + "?_col=kwh", headers=scoped)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    r = client.get(f"/api/v1/datasets/{world.dataset.slug}/download.csv?_col=kwh", headers=scoped)
    assert r.status_code == 429

    usage = client.get(f"/api/v1/agreements/{agreement['id']}/usage?days=1", headers=consumer)
    today = usage.json()["days"][-1]
    assert today["calls"] == 3 and today["rows"] == 6 and today["nbytes"] > 0

    # revocation takes effect on the next request
    r = client.post(
        f"/api/v1/agreements/{agreement['id']}/revoke",
        headers=steward,
        json={"reason": "Ended by the provider."},
    )
    assert r.status_code == 200
    assert client.get(url + "?_col=kwh", headers=scoped).status_code == 401  # token revoked
    r = client.get(url + "?_col=kwh", headers=consumer)  # the consumer's own token
    assert r.status_code == 403 and r.json()["failed_term"] in ("agreement", "state")


def test_downloads_and_datastore_search_go_through_the_same_terms(
    client: TestClient, session: Session, world: World
) -> None:
    publisher = make_token(session, world.publisher)
    steward = make_token(session, world.steward)
    consumer = make_token(session, world.consumer)
    _contents(client, world, publisher)
    agreement = _agreement(
        client, world, publisher, steward, consumer, calls_per_day=2, rows_per_month=1000
    )
    slug = world.dataset.slug
    csv = client.get(
        f"/api/v1/datasets/{slug}/download.csv?_col=building&_col=kwh", headers=consumer
    )
    assert csv.status_code == 200, csv.text
    assert csv.text.splitlines()[0] == "building,kwh" and "Rådhuset" in csv.text
    denied = client.get(f"/api/v1/datasets/{slug}/download.csv?_col=area", headers=consumer)
    assert denied.status_code == 403
    ds = client.post(
        "/api/3/action/datastore_search",
        json={"resource_id": slug, "fields": "building,kwh", "limit": 2},
        headers=consumer,
    )
    assert ds.status_code == 200 and ds.json()["success"] is True
    fields = [f["id"] for f in ds.json()["result"]["fields"]]
    assert {"building", "kwh"} <= set(fields) and "area" not in fields
    # two calls a day: the third is refused on quota, through CKAN too
    again = client.post(
        "/api/3/action/datastore_search",
        json={"resource_id": slug, "fields": "building,kwh"},
        headers=consumer,
    )
    assert again.status_code == 429 and again.json()["success"] is False
    usage = client.get(f"/api/v1/agreements/{agreement['id']}/usage?days=1", headers=consumer)
    assert usage.json()["days"][-1]["calls"] == 2
