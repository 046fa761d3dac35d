"""NGSI-LD entities against the examples of ETSI GS CIM 009 (Annex C: Vehicle A4567 and
OffStreetParking Downtown1), through the whole HTTP face."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.sensors import service
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
CTX_LINK = f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
# The spec's example entities (clause C.2), with the @context inline instead of the
# example.org URLs (this server fetches no remote context).
VEHICLE_CONTEXT = {
    "Vehicle": "http://example.org/vehicle/Vehicle",
    "brandName": "http://example.org/vehicle/brandName",
    "speed": "http://example.org/vehicle/speed",
    "isParked": {"@id": "http://example.org/common/isParked", "@type": "@id"},
    "providedBy": {"@id": "http://example.org/common/providedBy", "@type": "@id"},
}
VEHICLE = {
    "id": "urn:ngsi-ld:Vehicle:A4567",
    "type": "Vehicle",
    "brandName": {"type": "Property", "value": "Mercedes"},
    "isParked": {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:Downtown1",
        "observedAt": "2017-07-29T12:00:04Z",
        "providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob"},
    },
    "speed": {"type": "Property", "value": 80, "observedAt": "2017-07-29T12:00:04Z"},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-8.5, 41.2]}},
    "@context": [VEHICLE_CONTEXT, CORE],
}
PARKING = {
    "id": "urn:ngsi-ld:OffStreetParking:Downtown1",
    "type": "OffStreetParking",
    "name": {"type": "Property", "value": "Downtown One"},
    "availableSpotNumber": {
        "type": "Property",
        "value": 121,
        "observedAt": "2017-07-29T12:05:02Z",
        "reliability": {"type": "Property", "value": 0.7},
        "providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Camera:C1"},
    },
    "totalSpotNumber": {"type": "Property", "value": 200},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-8.5, 41.2]}},
}
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def setup(session: Session) -> dict[str, Any]:
    org = make_org(session)
    user = make_user(session, org=org, roles=(Role.publisher,))
    headers = make_token(session, user)
    vehicles = make_dataset(session, org)
    parkings = make_dataset(session, org)
    service.create_stream(
        session=session,
        actor=None,
        dataset=vehicles,
        type_name="Vehicle",
        entity_type="http://example.org/vehicle/Vehicle",
        attributes=[{"name": "speed", "type": "number", "iri": "http://example.org/vehicle/speed"}],
    )
    service.create_stream(
        session=session,
        actor=None,
        dataset=parkings,
        type_name="OffStreetParking",
        attributes=[{"name": "availableSpotNumber", "type": "integer"}],
    )
    session.flush()
    return {"headers": headers, "vehicles": vehicles.slug, "parkings": parkings.slug}


def _create(client: TestClient, setup: dict[str, Any]) -> None:
    r = client.post("/ngsi-ld/v1/entities", json=VEHICLE, headers=setup["headers"] | LD)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:Vehicle:A4567"
    r = client.post("/ngsi-ld/v1/entities", json=PARKING, headers=setup["headers"])
    assert r.status_code == 201, r.text


def test_create_and_retrieve_the_spec_examples(client: TestClient, setup: dict[str, Any]) -> None:
    _create(client, setup)
    # without the vehicle's context, its terms come back as full IRIs
    r = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Vehicle:A4567")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert CORE in r.headers["link"]
    body = r.json()
    assert body["type"] == "http://example.org/vehicle/Vehicle"
    assert body["http://example.org/vehicle/brandName"] == {"type": "Property", "value": "Mercedes"}
    assert body["location"]["value"] == {"type": "Point", "coordinates": [-8.5, 41.2]}
    parked = body["http://example.org/common/isParked"]
    assert parked["object"] == "urn:ngsi-ld:OffStreetParking:Downtown1"
    assert parked["http://example.org/common/providedBy"]["object"] == "urn:ngsi-ld:Person:Bob"
    # parking was sent as application/json without a Link: the core context's @vocab
    r = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:Downtown1",
        headers={"Accept": "application/ld+json"},
    )
    body = r.json()
    assert r.headers["content-type"].startswith("application/ld+json")
    assert body["@context"] == CORE
    assert body["type"] == "OffStreetParking"
    assert body["availableSpotNumber"]["value"] == 121
    assert body["availableSpotNumber"]["reliability"] == {"type": "Property", "value": 0.7}
    r = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:Downtown1",
        params={"options": "keyValues", "attrs": "availableSpotNumber,name"},
    )
    assert r.json() == {
        "id": "urn:ngsi-ld:OffStreetParking:Downtown1",
        "type": "OffStreetParking",
        "availableSpotNumber": 121,
        "name": "Downtown One",
    }
    r = client.get(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:Downtown1",
        params={"options": "sysAttrs"},
    )
    assert "createdAt" in r.json() and "modifiedAt" in r.json()["name"]


def test_query_by_type_q_geo_paging_and_count(client: TestClient, setup: dict[str, Any]) -> None:
    _create(client, setup)
    for i in range(5):
        extra = copy.deepcopy(PARKING)
        extra["id"] = f"urn:ngsi-ld:OffStreetParking:P{i}"
        extra["availableSpotNumber"]["value"] = i * 50
        extra["location"]["value"]["coordinates"] = [-8.5 + i * 0.01, 41.2]
        assert (
            client.post("/ngsi-ld/v1/entities", json=extra, headers=setup["headers"]).status_code
            == 201
        )

    def ids(**params: str) -> list[str]:
        r = client.get("/ngsi-ld/v1/entities", params=params)
        assert r.status_code == 200, r.text
        return [e["id"].rsplit(":", 1)[-1] for e in r.json()]

    assert ids(type="OffStreetParking") == ["Downtown1", "P0", "P1", "P2", "P3", "P4"]
    assert ids(type="OffStreetParking", q="availableSpotNumber>=100") == [
        "Downtown1",
        "P2",
        "P3",
        "P4",
    ]
    assert ids(type="OffStreetParking", q='availableSpotNumber==50..100;name=="Downtown One"') == [
        "P1",
        "P2",
    ]
    assert ids(type="OffStreetParking", q="availableSpotNumber<50|availableSpotNumber>180") == [
        "P0",
        "P4",
    ]
    assert ids(type="OffStreetParking", q="availableSpotNumber.reliability>0.5") == [
        "Downtown1",
        "P0",
        "P1",
        "P2",
        "P3",
        "P4",
    ]
    assert ids(type="OffStreetParking", q='name~="^Down"', limit="2", offset="1") == ["P0", "P1"]
    assert ids(idPattern=".*:P[13]$", type="OffStreetParking") == ["P1", "P3"]
    assert ids(
        id="urn:ngsi-ld:OffStreetParking:P2,urn:ngsi-ld:OffStreetParking:P3",
        type="OffStreetParking",
    ) == ["P2", "P3"]
    # P0 is where Downtown1 is; P1 about 835 m east; P4 about 3.3 km
    assert ids(
        type="OffStreetParking",
        georel="near;maxDistance==1000",
        geometry="Point",
        coordinates="[-8.5,41.2]",
    ) == ["Downtown1", "P0", "P1"]
    assert ids(
        type="OffStreetParking",
        georel="within",
        geometry="Polygon",
        coordinates="[[[-8.515,41.19],[-8.475,41.19],[-8.475,41.21],[-8.515,41.21],"
        "[-8.515,41.19]]]",
    ) == ["Downtown1", "P0", "P1", "P2"]
    r = client.get(
        "/ngsi-ld/v1/entities", params={"type": "OffStreetParking", "count": "true", "limit": "0"}
    )
    assert r.json() == [] and r.headers["NGSILD-Results-Count"] == "6"
    # the vehicle's type only matches with its context in the Link header
    assert ids(type="Vehicle") == []
    assert ids(type="http://example.org/vehicle/Vehicle") == ["A4567"]
    assert ids(type="http://example.org/vehicle/Vehicle", q="speed>50") == []  # another speed


def test_attribute_append_update_partial_and_delete(
    client: TestClient, setup: dict[str, Any]
) -> None:
    _create(client, setup)
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:Downtown1"
    h = setup["headers"]
    r = client.post(
        url + "/attrs", json={"category": {"type": "Property", "value": "public"}}, headers=h
    )
    assert r.status_code == 204
    r = client.post(
        url + "/attrs?options=noOverwrite",
        json={
            "category": {"type": "Property", "value": "private"},
            "rating": {"type": "Property", "value": 4},
        },
        headers=h,
    )
    assert r.status_code == 207
    assert r.json()["notUpdated"] == [{"attributeName": "category", "reason": "attribute exists"}]
    r = client.patch(
        url + "/attrs",
        json={
            "category": {"type": "Property", "value": "mixed"},
            "nope": {"type": "Property", "value": 1},
        },
        headers=h,
    )
    assert r.status_code == 207 and r.json()["updated"] == ["category"]
    r = client.patch(
        url + "/attrs/availableSpotNumber",
        json={"value": 99, "observedAt": "2017-07-29T12:10:00Z"},
        headers=h,
    )
    assert r.status_code == 204
    got = client.get(url).json()
    assert got["category"]["value"] == "mixed" and got["rating"]["value"] == 4
    assert got["availableSpotNumber"]["value"] == 99
    assert got["availableSpotNumber"]["reliability"]["value"] == 0.7  # sub-attribute kept
    assert client.delete(url + "/attrs/rating", headers=h).status_code == 204
    assert "rating" not in client.get(url).json()
    r = client.delete(url + "/attrs/rating", headers=h)
    assert r.status_code == 404
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
    assert client.delete(url, headers=h).status_code == 204
    r = client.get(url)
    assert r.status_code == 404
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


def test_batch_operations(client: TestClient, setup: dict[str, Any]) -> None:
    h = setup["headers"]
    batch = []
    for i in range(3):
        p = copy.deepcopy(PARKING)
        p["id"] = f"urn:ngsi-ld:OffStreetParking:B{i}"
        batch.append(p)
    r = client.post("/ngsi-ld/v1/entityOperations/create", json=batch, headers=h)
    assert r.status_code == 201 and len(r.json()) == 3
    bad = copy.deepcopy(PARKING)
    bad["id"] = "not a uri"
    r = client.post("/ngsi-ld/v1/entityOperations/create", json=[batch[0], bad], headers=h)
    assert r.status_code == 207
    errors = r.json()["errors"]
    assert [e["error"]["type"].rsplit("/", 1)[-1] for e in errors] == [
        "AlreadyExists",
        "BadRequestData",
    ]
    up = [
        {
            "id": "urn:ngsi-ld:OffStreetParking:B0",
            "type": "OffStreetParking",
            "totalSpotNumber": {"type": "Property", "value": 10},
        }
    ]
    r = client.post("/ngsi-ld/v1/entityOperations/upsert?options=update", json=up, headers=h)
    assert r.status_code == 204
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:B0").json()
    assert got["totalSpotNumber"]["value"] == 10 and got["name"]["value"] == "Downtown One"
    r = client.post("/ngsi-ld/v1/entityOperations/upsert", json=up, headers=h)  # replace
    assert r.status_code == 204
    got = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:B0").json()
    assert "name" not in got and got["totalSpotNumber"]["value"] == 10
    r = client.post(
        "/ngsi-ld/v1/entityOperations/update",
        json=[{"id": "urn:ngsi-ld:OffStreetParking:B9", "type": "OffStreetParking", "name": "x"}],
        headers=h,
    )
    assert r.status_code == 207
    r = client.post("/ngsi-ld/v1/entityOperations/delete", json=[b["id"] for b in batch], headers=h)
    assert r.status_code == 204
    r = client.post("/ngsi-ld/v1/entityOperations/create", json=[PARKING] * 1001, headers=h)
    assert r.status_code == 413


def test_types_and_attributes(client: TestClient, setup: dict[str, Any]) -> None:
    _create(client, setup)
    r = client.get("/ngsi-ld/v1/types")
    body = r.json()
    assert body["type"] == "EntityTypeList"
    assert "OffStreetParking" in body["typeList"]
    assert "http://example.org/vehicle/Vehicle" in body["typeList"]
    info = client.get("/ngsi-ld/v1/types/OffStreetParking").json()
    assert info["type"] == "EntityTypeInfo" and info["entityCount"] >= 1
    names = {a["attributeName"]: a["attributeTypes"] for a in info["attributeDetails"]}
    assert names["location"] == ["GeoProperty"] and names["name"] == ["Property"]
    attrs = client.get("/ngsi-ld/v1/attributes").json()
    assert attrs["type"] == "AttributeList" and "availableSpotNumber" in attrs["attributeList"]
    one = client.get("/ngsi-ld/v1/attributes/availableSpotNumber").json()
    assert one["typeNames"] == ["OffStreetParking"] and one["attributeTypes"] == ["Property"]
    assert client.get("/ngsi-ld/v1/types/Nothing").status_code == 404


def test_link_header_and_media_type_rules(client: TestClient, setup: dict[str, Any]) -> None:
    h = setup["headers"]
    r = client.post("/ngsi-ld/v1/entities", json=PARKING, headers=h | LD | {"Link": CTX_LINK})
    assert r.status_code == 400  # ld+json without @context, and a Link header
    r = client.post("/ngsi-ld/v1/entities", json=VEHICLE, headers=h)  # @context in json
    assert r.status_code == 400
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    r = client.post(
        "/ngsi-ld/v1/entities", content=b"<x/>", headers=h | {"Content-Type": "application/xml"}
    )
    assert r.status_code == 415
    r = client.get("/ngsi-ld/v1/entities?type=X", headers={"Accept": "text/html"})
    assert r.status_code == 406
    remote = dict(PARKING, **{"@context": "http://example.org/ngsi-ld/latest/parking.jsonld"})
    r = client.post("/ngsi-ld/v1/entities", json=remote, headers=h | LD)
    assert r.status_code == 503
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
    r = client.get("/ngsi-ld/v1/jsonldContexts/ngsi-ld-core-context-v1.8.jsonld")
    assert r.status_code == 200 and r.json()["@context"]["@vocab"] == DEFAULT
    # with the core context in the Link header the answer names it again
    _create(client, setup)
    r = client.get("/ngsi-ld/v1/entities?type=OffStreetParking", headers={"Link": CTX_LINK})
    assert r.status_code == 200 and CORE in r.headers["link"]


def test_bad_entities_are_refused_with_problem_details(
    client: TestClient, setup: dict[str, Any]
) -> None:
    h = setup["headers"]
    cases: list[Any] = [
        {"type": "OffStreetParking"},  # no id
        {"id": "urn:ngsi-ld:OffStreetParking:x"},  # no type
        {
            "id": "urn:x",
            "type": "OffStreetParking",
            "a": {"type": "Relationship", "object": "not a uri"},
        },
        {
            "id": "urn:x",
            "type": "OffStreetParking",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [500, 1]},
            },
        },
        {"id": "urn:x", "type": "OffStreetParking", "bad name": 1},
        {"id": "urn:x", "type": "OffStreetParking", "availableSpotNumber": "many"},
        {"id": "urn:x", "type": "OffStreetParking", "a": {"type": "Property"}},
        {"id": "urn:x", "type": "NoStreamType"},
        ["not", "an", "object"],
    ]
    for case in cases:
        r = client.post("/ngsi-ld/v1/entities", json=case, headers=h)
        assert r.status_code == 400, (case, r.text)
        assert r.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
    r = client.post(
        "/ngsi-ld/v1/entities", content=b"{oops", headers=h | {"Content-Type": "application/json"}
    )
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
    r = client.post("/ngsi-ld/v1/entities", json=PARKING)  # anonymous
    assert r.status_code == 401
    for q in ("a>", "(a==1", "a==1;", '"x"==1)', "a~=(["):
        r = client.get("/ngsi-ld/v1/entities", params={"type": "OffStreetParking", "q": q})
        assert r.status_code == 400, q
    r = client.get(
        "/ngsi-ld/v1/entities",
        params={
            "type": "OffStreetParking",
            "georel": "near",
            "geometry": "Point",
            "coordinates": "[1,2]",
        },
    )
    assert r.status_code == 400
    r = client.get("/ngsi-ld/v1/entities")
    assert r.status_code == 400
    r = client.get("/ngsi-ld/v1/entities", params={"type": "OffStreetParking", "limit": "5000"})
    assert r.status_code == 403
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/TooManyResults"
    # the shell's refusals before routing answer in the NGSI-LD shape too (as documented)
    r = client.get("/ngsi-ld/v1/entities?type=OffStreetParking&q=a%00b")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    r = client.get("/ngsi-ld/v1/entities?type=" + "a" * 20_000)
    assert r.status_code == 414 and r.headers["content-type"].startswith("application/json")
    # client patterns run in linear time (RE2): Python's re would take minutes on this one
    _create(client, setup)
    for params in ({"idPattern": "(.*)*x"}, {"type": "OffStreetParking", "q": 'name~="(.*)*x"'}):
        r = client.get("/ngsi-ld/v1/entities", params=params)
        assert r.status_code == 200 and r.json() == [], r.text
    r = client.get("/ngsi-ld/v1/entities", params={"idPattern": "(a)\\1"})  # backreference
    assert r.status_code == 400 and "regular expression" in r.json()["detail"]
    # what is not supported (docs/sensors.md) is refused clearly, in the NGSI-LD shape
    instances = [
        {"type": "Property", "value": n, "datasetId": f"urn:d:{n}"} for n in (1, 2)
    ]  # a multi-attribute
    multi = {"id": "urn:x", "type": "OffStreetParking", "a": instances}
    r = client.post("/ngsi-ld/v1/entities", json=multi, headers=h)
    assert r.status_code == 400 and "datasetId" in r.json()["detail"]
    ident = PARKING["id"]
    for method, path in (
        ("PUT", f"/ngsi-ld/v1/entities/{ident}"),
        ("PATCH", f"/ngsi-ld/v1/entities/{ident}"),
        ("POST", "/ngsi-ld/v1/entityOperations/query"),
        ("POST", "/ngsi-ld/v1/csourceRegistrations"),
        ("POST", "/ngsi-ld/v1/temporal/entities"),
        ("POST", "/ngsi-ld/v1/jsonldContexts"),
    ):
        r = client.request(method, path, json={}, headers=h)
        assert r.status_code in (404, 405), (method, path, r.status_code)
        assert r.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/"), r.text
        assert r.status_code == 404 or r.headers["Allow"], (method, path)
