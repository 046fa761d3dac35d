"""The HTTP batch endpoint: JSON and CSV, counted outcomes, bad input refused whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.sensors import service
from datatorg.sensors.models import SensorEntity
from datatorg.settings import Settings
from tests.factories import make_token, make_user
from tests.sensors.helpers import make_stream, stored_rows

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _url(slug: str) -> str:
    return f"/api/v1/sensors/streams/{slug}/observations"


def _obs(dev: str, minutes: int, **values: object) -> dict[str, object]:
    when = (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    return {"entityId": dev, "observedAt": when, **(values or {"no2": 10.0 + minutes})}


def test_json_batch_is_stored_and_latest_values_follow(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    batch = [_obs(s.devices[i % 3], i, no2=float(i), status="ok") for i in range(30)]
    r = client.post(_url(s.slug), json=batch, headers=s.headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 30 and r.json()["duplicate"] == 0
    rows = stored_rows(session, settings, s.dataset_id)
    assert len(rows) == 30
    assert rows[0][0] == s.devices[0] and rows[0][2] == 0.0 and rows[0][4] == "ok"
    ent = session.get(SensorEntity, s.devices[0])
    assert ent is not None
    no2 = next(v for k, v in ent.attrs.items() if k.endswith("/no2"))
    assert no2["value"] == 27.0 and no2["observedAt"] == "2026-11-01T12:27:00Z"
    assert no2["unitCode"] == "GQ"


def test_duplicates_and_out_of_order_are_counted(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    dev = s.devices[0]
    first = [_obs(dev, 10), _obs(dev, 10), _obs(dev, 11)]  # one duplicate inside the batch
    r = client.post(_url(s.slug), json={"observations": first}, headers=s.headers)
    assert r.json()["accepted"] == 2 and r.json()["duplicate"] == 1
    again = [_obs(dev, 11), _obs(dev, 5, no2=1.0)]  # a redelivery and a late reading
    r = client.post(_url(s.slug), json=again, headers=s.headers)
    body = r.json()
    assert (body["accepted"], body["duplicate"], body["out_of_order"]) == (1, 1, 1)
    assert len(stored_rows(session, settings, s.dataset_id)) == 3
    ent = session.get(SensorEntity, dev)
    assert ent is not None and ent.observed_at == T0 + timedelta(minutes=11)
    no2 = next(v for k, v in ent.attrs.items() if k.endswith("/no2"))
    assert no2["value"] == 21.0  # the late reading did not become the latest value
    counts = service.counters(session=session, scope=s.slug)[s.slug]["http"]
    assert counts == {"accepted": 3, "duplicate": 2, "out_of_order": 1}


def test_csv_batch_with_semicolons_decimal_commas_and_latin1(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    text = "entityId;observedAt;no2;status\n" + "".join(
        f"dev-{i % 3};2026-11-01T12:{i:02d}:00Z;{i},5;Målt på Brødløs\n" for i in range(12)
    )
    r = client.post(
        _url(s.slug),
        content=text.encode("cp1252"),
        headers=s.headers | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 12
    rows = stored_rows(session, settings, s.dataset_id)
    assert rows[0][2] == 0.5 and rows[0][4] == "Målt på Brødløs"
    assert rows[0][0] == "urn:ngsi-ld:AirQualityObserved:dev-0"


def test_malformed_batch_is_refused_whole_and_counted(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    dev = s.devices[0]
    bad = [
        _obs(dev, 1),
        {"entityId": dev, "observedAt": "yesterday", "no2": 1},
        {"entityId": dev, "observedAt": "2026-11-01T12:00:00Z", "no2": "40'; DROP TABLE x;--"},
        {"entityId": dev, "observedAt": "2026-11-01T12:00:00Z", "nope": 1},
        {"entityId": "../../etc/passwd", "observedAt": "2026-11-01T12:00:00Z", "no2": 1},
        {"entityId": dev, "observedAt": "2999-01-01T00:00:00Z", "no2": 1},
        {"entityId": dev, "observedAt": "2026-11-01T12:00:00Z", "count": 1.5},
        {"entityId": dev, "observedAt": "2026-11-01T12:00:00Z"},
        "not an object",
    ]
    r = client.post(_url(s.slug), json=bad, headers=s.headers)
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    places = [(e["index"], e.get("field", "")) for e in problem["errors"]]
    assert places == [
        (1, "observedAt"),
        (2, "no2"),
        (3, "nope"),
        (4, "entityId"),
        (5, "observedAt"),
        (6, "count"),
        (7, ""),
        (8, ""),
    ]
    assert stored_rows(session, settings, s.dataset_id) == []
    counts = service.counters(session=session, scope=s.slug)[s.slug]["http"]
    assert counts == {"malformed": 8}
    # with partial=true the good one is stored and the rest reported
    r = client.post(_url(s.slug) + "?partial=true", json=bad, headers=s.headers)
    assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["malformed"] == 8
    assert len(stored_rows(session, settings, s.dataset_id)) == 1


def test_unknown_devices_refuse_the_batch_unless_partial(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session)
    batch = [_obs(s.devices[0], 1), _obs("urn:ngsi-ld:AirQualityObserved:stranger", 1)]
    r = client.post(_url(s.slug), json=batch, headers=s.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["entityId"].endswith(":stranger")
    assert stored_rows(session, settings, s.dataset_id) == []
    r = client.post(_url(s.slug) + "?partial=1", json=batch, headers=s.headers)
    assert r.json()["accepted"] == 1 and r.json()["unknown_device"] == 1
    counts = service.counters(session=session, scope=s.slug)[s.slug]["http"]
    assert counts == {"accepted": 1, "unknown_device": 2}


def test_a_batch_of_ten_thousand_is_stored_whole(
    client: TestClient, session: Session, settings: Settings
) -> None:
    s = make_stream(session, devices=4)
    batch = [
        {
            "entityId": s.devices[i % 4],
            "observedAt": (T0 + timedelta(seconds=i)).isoformat(),
            "count": i,
        }
        for i in range(10_000)  # the most one request may carry (10,001: 413 below)
    ]
    r = client.post(_url(s.slug), content=orjson.dumps(batch), headers=s.headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 10_000
    rows = stored_rows(session, settings, s.dataset_id)
    assert sorted(row[5] for row in rows) == list(range(10_000))


def test_unreadable_oversized_and_unauthorised_bodies(client: TestClient, session: Session) -> None:
    s = make_stream(session)
    r = client.post(_url(s.slug), content=b"{not json", headers=s.headers)
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = client.post(
        _url(s.slug),
        content="\ufeffentityId,observedAt\n".encode("utf-16"),
        headers=s.headers | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 400
    too_many = orjson.dumps([_obs(s.devices[0], 0)] * 10_001)
    r = client.post(_url(s.slug), content=too_many, headers=s.headers)
    assert r.status_code == 413
    r = client.post(_url(s.slug), content=b"[" + b" " * (17 * 2**20) + b"]", headers=s.headers)
    assert r.status_code == 413
    r = client.post(_url(s.slug), json=[_obs(s.devices[0], 0)])
    assert r.status_code in (401, 403)
    stranger = make_user(session)
    r = client.post(
        _url(s.slug), json=[_obs(s.devices[0], 0)], headers=make_token(session, stranger)
    )
    assert r.status_code == 403
    r = client.post(
        _url(s.slug), content=b"<xml/>", headers=s.headers | {"Content-Type": "application/xml"}
    )
    assert r.status_code == 400
    r = client.post(
        "/api/v1/sensors/streams/no-such-stream/observations", json=[], headers=s.headers
    )
    assert r.status_code == 404
    r = client.put(_url(s.slug), json=[], headers=s.headers)  # a method the route does not take
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert r.json()["type"].endswith("/problems/method-not-allowed")


def test_streams_api_lists_creates_and_registers_devices(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=0)
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/devices",
        headers=s.headers,
        json=[
            {"id": "HAL-001", "latitude": 59.12, "longitude": 11.38, "name": "Sentrum"},
            {"id": "urn:ngsi-ld:AirQualityObserved:HAL-002"},
        ],
    )
    assert r.status_code == 201, r.text
    assert r.json()["created"] == [
        "urn:ngsi-ld:AirQualityObserved:HAL-001",
        "urn:ngsi-ld:AirQualityObserved:HAL-002",
    ]
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/devices",
        headers=s.headers,
        json=[{"id": "bad id with spaces"}],
    )
    assert r.status_code == 422
    r = client.get(f"/api/v1/sensors/streams/{s.slug}")
    assert r.json()["devices"] == 2 and r.json()["type_name"] == "AirQualityObserved"
    assert s.slug in [x["dataset"] for x in client.get("/api/v1/sensors/streams").json()["streams"]]
    r = client.post(
        "/api/v1/sensors/streams",
        headers=s.headers,
        json={"dataset": s.slug, "type_name": "X", "attributes": [{"name": "a", "type": "number"}]},
    )
    assert r.status_code == 409
