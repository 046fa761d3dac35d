"""A person holding several agreements on one dataset picks one: in plain words on the data
page, with ``_agreement`` in the API; each read gets exactly that agreement's columns."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.market import service
from tests.factories import actor_of, make_token
from tests.lake.helpers import upload
from tests.market.conftest import World, request_data

ROWS = b"building,month,kwh,area\nB1,2024-01,120.5,900\nB2,2024-01,80,400\nB3,2024-02,95,650\n"


def _agreements(session: Session, world: World) -> list[str]:
    made = []
    for purpose, columns in (
        ("AcademicResearch", ["building", "kwh"]),
        ("ScientificResearch", None),
    ):
        req = service.create_request(
            session=session,
            settings=None,
            actor=actor_of(session, world.consumer),
            data=request_data(world.offer, purpose=purpose, columns=columns),
        )
        a = service.approve(
            session=session,
            settings=None,
            actor=actor_of(session, world.steward),
            request_id=req.id,
        )
        made.append(str(a.id))
    return made


def test_several_agreements_the_reader_picks_one(
    client: TestClient, session: Session, world: World
) -> None:
    assert (
        upload(client, world.dataset, make_token(session, world.publisher), ROWS).status_code == 201
    )
    narrow, wide = _agreements(session, world)
    consumer = make_token(session, world.consumer)
    rows = f"/api/v1/datasets/{world.dataset.slug}/rows"

    # without saying which, the API refuses; with _agreement, each gives its own columns
    refused = client.get(rows, headers=consumer)
    assert refused.status_code == 403 and refused.json()["failed_term"] == "agreement"
    r = client.get(f"{rows}?_agreement={narrow}&_col=building,kwh", headers=consumer)
    assert r.status_code == 200 and r.json()["columns"] == ["building", "kwh"]
    assert client.get(f"{rows}?_agreement={narrow}&_col=area", headers=consumer).status_code == 403
    r = client.get(f"{rows}?_agreement={wide}", headers=consumer)
    assert r.status_code == 200 and set(r.json()["columns"]) == {"building", "month", "kwh", "area"}
    # an _agreement that is no agreement id names no agreement: refused like an unknown one
    for bad in ("nonsense", "00000000-0000-0000-0000-000000000000"):
        r = client.get(f"{rows}?_agreement={bad}", headers=consumer)
        assert r.status_code == 403 and r.json()["failed_term"] == "agreement"
    # the statistics and the downloads take the choice too (the same pipeline)
    stats = f"/api/v1/datasets/{world.dataset.slug}/stats"
    assert client.get(stats, headers=consumer).status_code == 403
    r = client.get(f"{stats}?_agreement={narrow}", headers=consumer)
    assert r.status_code == 200 and [c["name"] for c in r.json()["columns"]] == ["building", "kwh"]
    csv = f"/api/v1/datasets/{world.dataset.slug}/download.csv?_agreement={narrow}"
    assert client.get(csv, headers=consumer).text.splitlines()[0] == "building,kwh"
    # a key made for one agreement reads under that one only, whatever it names
    plain, _token = service.create_agreement_token(
        session=session,
        actor=actor_of(session, world.consumer),
        agreement_id=uuid.UUID(narrow),
        name="narrow",
        days=7,
    )
    key = {"Authorization": f"Bearer {plain}"}
    assert client.get(rows, headers=key).json()["columns"] == ["building", "kwh"]
    r = client.get(f"{rows}?_agreement={wide}", headers=key)
    assert r.status_code == 403 and r.json()["failed_term"] == "agreement"

    # the data page asks in plain words, then reads under the one picked
    page = client.get(f"/datasets/{world.dataset.slug}/data", headers=consumer)
    assert page.status_code == 200
    assert "Hvilken avtale leser du etter?" in page.text
    assert "Akademisk forskning" in page.text and "Vitenskapelig forskning" in page.text
    assert "<table" not in page.text  # nothing read before the choice
    page = client.get(f"/datasets/{world.dataset.slug}/data?agreement={narrow}", headers=consumer)
    assert page.status_code == 200 and "B1" in page.text
    assert f"download.csv?_agreement={narrow}" in page.text  # downloads carry the choice
    header = page.text.split("<thead>")[1].split("</thead>")[0]
    assert "building" in header and "area" not in header
