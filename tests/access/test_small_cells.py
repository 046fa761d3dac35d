"""Small-cell suppression: aggregates of personal data never show a group of fewer than
``aggregate_min_group`` people to anyone but the owner's duty roles, and an aggregates-only
agreement on personal data gives no aggregate that is one row's value (S4-14).

The gate world's dataset: 40 meters (subjects) over 9 postcodes, each meter in every
postcode, one row per hour — so a postcode is a group of 40 people and an hour one person.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import gate_world
from tests.gate_world import GateWorld


@pytest.fixture
def world(client: TestClient, session: Session) -> GateWorld:
    return gate_world.build(client, session, aggregate_only=True)


def _get(world: GateWorld, who: str, client: TestClient, query: str, lang: str = "en") -> Any:
    return client.get(
        f"/api/v1/datasets/{world.dataset.slug}/rows?{query}",
        headers=world.headers[who] | {"Accept-Language": lang},
    )


def test_groups_of_enough_people_are_answered(client: TestClient, world: GateWorld) -> None:
    body = _get(world, "agreement-token", client, "_group_by=postcode&_agg=count(kwh)").json()
    assert body["columns"] == ["postcode", "count_kwh"]
    assert len(body["rows"]) == 9 and body["suppressed"] == 0 and body["min_group"] == 5
    assert sum(r[1] for r in body["rows"]) == gate_world.ROWS


def test_groups_of_one_person_are_left_out_and_counted(
    client: TestClient, world: GateWorld
) -> None:
    body = _get(world, "agreement-token", client, "_group_by=ts&_agg=sum(kwh)").json()
    assert body["rows"] == [] and body["suppressed"] == gate_world.ROWS
    assert "were left out" in body["notice"]
    nb = _get(world, "agreement-token", client, "_group_by=ts&_agg=sum(kwh)", "nb").json()
    assert "ble utelatt" in nb["notice"]


@pytest.mark.parametrize("agg", ["max(kwh)", "min(kwh)", "median(kwh)", "p90(kwh)"])
def test_individual_values_are_refused_naming_the_allowed(
    client: TestClient, world: GateWorld, agg: str
) -> None:
    resp = _get(world, "agreement-token", client, f"_group_by=postcode&_agg={agg}")
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["failed_term"] == "aggregate" and body["allowed"] == ["count", "sum", "avg"]
    assert "count, sum and avg" in body["detail"]
    nb = _get(world, "agreement-token", client, f"_agg={agg}", "nb").json()
    assert "én persons verdi" in nb["detail"]


def test_filters_narrowing_the_answer_to_few_people_are_suppressed(
    client: TestClient, world: GateWorld
) -> None:
    t0 = gate_world.T0.isoformat()
    # one hour: one meter; the answer without _group_by is one group, and it is too small
    for q in (f"_agg=sum(kwh)&ts={t0}", "_agg=count&ts__lt=2025-03-01T03:00:00"):
        body = _get(world, "agreement-token", client, q).json()
        assert body["rows"] == [] and body["suppressed"] == 1, q
    # a count of the rows cannot stand in for it
    body = _get(world, "agreement-token", client, f"_agg=count&ts={t0}&_count=1").json()
    assert "count" not in body and body["rows"] == []
    # ten hours: ten meters
    body = _get(world, "agreement-token", client, "_agg=count&ts__lt=2025-03-01T10:00:00").json()
    assert body["rows"] == [[10]] and body["suppressed"] == 0


def test_the_owner_sees_every_group_and_value(client: TestClient, world: GateWorld) -> None:
    body = _get(world, "owner:steward", client, "_group_by=ts&_agg=max(kwh)&_size=3").json()
    assert len(body["rows"]) == 3 and "suppressed" not in body


def test_a_full_agreement_on_personal_data_is_suppressed_too(
    client: TestClient, session: Session
) -> None:
    world = gate_world.build(client, session)
    body = _get(world, "agreement-token", client, "_group_by=ts&_agg=max(kwh)&_size=3").json()
    assert body["rows"] == [] and body["suppressed"] == gate_world.ROWS


def test_column_statistics_give_no_min_max_or_histogram(
    client: TestClient, world: GateWorld
) -> None:
    slug = world.dataset.slug
    body = client.get(
        f"/api/v1/datasets/{slug}/stats", headers=world.headers["agreement-token"]
    ).json()
    kwh = next(c for c in body["columns"] if c["name"] == "kwh")
    assert kwh["min"] is None and kwh["max"] is None and not any(kwh["histogram"])
    own = client.get(f"/api/v1/datasets/{slug}/stats", headers=world.headers["owner:steward"])
    kwh = next(c for c in own.json()["columns"] if c["name"] == "kwh")
    assert kwh["max"] == 24.0


def test_the_data_page_says_so_in_bokmaal(client: TestClient, world: GateWorld) -> None:
    page = client.get(
        f"/datasets/{world.dataset.slug}/data",
        headers=world.headers["agreement-token"] | {"Accept-Language": "nb"},
    )
    assert page.status_code == 200 and 'id="small-cells"' in page.text
    assert "færre enn 5 personer" in page.text
    own = client.get(f"/datasets/{world.dataset.slug}/data", headers=world.headers["owner:steward"])
    assert 'id="small-cells"' not in own.text


def test_downloads_leave_small_groups_out(client: TestClient, world: GateWorld) -> None:
    base = f"/api/v1/datasets/{world.dataset.slug}/download.csv"
    h = world.headers["agreement-token"]
    lines = client.get(f"{base}?_group_by=postcode&_agg=count", headers=h).text.splitlines()
    assert lines[0] == "postcode,count" and len(lines) == 10
    t0 = gate_world.T0.isoformat()
    lines = client.get(f"{base}?_agg=sum(kwh)&ts={t0}", headers=h).text.splitlines()
    assert lines == ["sum_kwh"]
