"""The NGSI-LD temporal API on the spec's example (clause C.5: a vehicle's speed observed at
12:03, 12:05 and 12:07), with history written by NGSI-LD updates and by HTTP ingestion."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.sensors import service
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset

ID = "urn:ngsi-ld:Vehicle:B9211"
URL = f"/ngsi-ld/v1/temporal/entities/{ID}"


@pytest.fixture
def vehicle(client: TestClient, session: Session) -> dict[str, Any]:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    ds = make_dataset(session, org)
    service.create_stream(
        session=session,
        actor=None,
        dataset=ds,
        type_name="Vehicle",
        attributes=[{"name": "speed", "type": "number", "unit": "KMH"}],
    )
    body = {
        "id": ID,
        "type": "Vehicle",
        "brandName": {"type": "Property", "value": "Volvo"},
        "speed": {"type": "Property", "value": 120, "observedAt": "2018-08-01T12:03:00Z"},
    }
    assert client.post("/ngsi-ld/v1/entities", json=body, headers=headers).status_code == 201
    r = client.patch(
        f"/ngsi-ld/v1/entities/{ID}/attrs",
        headers=headers,
        json={"speed": {"type": "Property", "value": 80, "observedAt": "2018-08-01T12:05:00Z"}},
    )
    assert r.status_code == 204, r.text
    r = client.post(
        f"/api/v1/sensors/streams/{ds.slug}/observations",
        headers=headers,
        json=[{"entityId": ID, "observedAt": "2018-08-01T12:07:00Z", "speed": 100}],
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1
    return {"headers": headers, "slug": ds.slug}


def _speeds(r: Any) -> list[tuple[Any, str]]:
    assert r.status_code == 200, r.text
    return [(i["value"], i["observedAt"]) for i in r.json()["speed"]]


def test_temporal_retrieve_with_timerel_lastn_and_temporal_values(
    client: TestClient, vehicle: dict[str, Any]
) -> None:
    r = client.get(URL)
    assert _speeds(r) == [
        (120, "2018-08-01T12:03:00Z"),
        (80, "2018-08-01T12:05:00Z"),
        (100, "2018-08-01T12:07:00Z"),
    ]
    assert r.json()["speed"][0]["unitCode"] == "KMH" and r.json()["type"] == "Vehicle"
    between = client.get(
        URL,
        params={
            "timerel": "between",
            "timeAt": "2018-08-01T12:00:00Z",
            "endTimeAt": "2018-08-01T12:06:00Z",
        },
    )
    assert [v for v, _ in _speeds(between)] == [120, 80]
    after = client.get(URL, params={"timerel": "after", "timeAt": "2018-08-01T12:04:00Z"})
    assert [v for v, _ in _speeds(after)] == [80, 100]
    before = client.get(URL, params={"timerel": "before", "timeAt": "2018-08-01T12:05:00Z"})
    assert [v for v, _ in _speeds(before)] == [120]
    last = client.get(URL, params={"lastN": "2"})
    assert [v for v, _ in _speeds(last)] == [80, 100]
    values = client.get(URL, params={"options": "temporalValues", "attrs": "speed"}).json()
    assert values["speed"] == {
        "type": "Property",
        "values": [
            [120, "2018-08-01T12:03:00Z"],
            [80, "2018-08-01T12:05:00Z"],
            [100, "2018-08-01T12:07:00Z"],
        ],
    }
    # the entity's current value is the newest observation
    now = client.get(f"/ngsi-ld/v1/entities/{ID}").json()
    assert now["speed"]["value"] == 100 and now["speed"]["observedAt"] == "2018-08-01T12:07:00Z"


def test_temporal_query_and_bad_parameters(client: TestClient, vehicle: dict[str, Any]) -> None:
    r = client.get(
        "/ngsi-ld/v1/temporal/entities",
        params={"type": "Vehicle", "timerel": "before", "timeAt": "2018-08-01T12:06:00Z"},
    )
    assert r.status_code == 200, r.text
    [entity] = r.json()
    assert entity["id"] == ID and [i["value"] for i in entity["speed"]] == [120, 80]
    for params in (
        {"timerel": "during", "timeAt": "2018-08-01T12:00:00Z"},
        {"timerel": "before"},
        {"timerel": "between", "timeAt": "2018-08-01T12:00:00Z"},
        {
            "timerel": "between",
            "timeAt": "2018-08-01T12:06:00Z",
            "endTimeAt": "2018-08-01T12:00:00Z",
        },
        {"timeAt": "2018-08-01T12:00:00Z"},
        {"timerel": "after", "timeAt": "yesterday"},
        {"lastN": "0"},
        {"lastN": "abc"},
    ):
        r = client.get(URL, params=params)
        assert r.status_code == 400, params
        assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert client.get("/ngsi-ld/v1/temporal/entities").status_code == 400
    assert client.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:none").status_code == 404
