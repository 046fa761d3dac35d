"""The live sensor pages and their JSON twins: overview, a stream's map and latest values,
a device's charts; restricted streams need what their API needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.sensors.helpers import make_stream


def _send(client: TestClient, slug: str, headers: dict[str, str], dev: str, n: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = [
        {
            "entityId": dev,
            "observedAt": (now - timedelta(minutes=10 * (n - i))).isoformat(),
            "no2": 30.0 + i * 10,
            "status": "ok",
        }
        for i in range(n)
    ]
    r = client.post(f"/api/v1/sensors/streams/{slug}/observations", json=body, headers=headers)
    assert r.status_code == 200, r.text


def test_overview_stream_and_device_pages_with_json_twins(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=3)
    _send(client, s.slug, s.headers, s.devices[0], 7)
    r = client.get("/sensors", headers={"Accept-Language": "nb"})
    assert r.status_code == 200 and f'href="/sensors/{s.slug}"' in r.text
    assert "Sensorer i Halden" in r.text
    twin = client.get("/api/v1/sensors/dashboard").json()
    [mine] = [x for x in twin["streams"] if x["dataset"] == s.slug]
    assert mine["devices"] == 3 and mine["newest"] is not None

    page = client.get(f"/sensors/{s.slug}", headers={"Accept-Language": "nb"})
    assert page.status_code == 200
    assert page.text.count("<circle") >= 3 and "sensor-map" in page.text
    assert "90,0 µg/m³" in page.text  # the latest NO2 of device 0, with its unit
    assert "i orden" in page.text  # the status code shown in words, not "ok"
    assert "<script>" not in page.text and 'src="/static/sensors.js"' in page.text
    board = client.get(f"/api/v1/sensors/dashboard/{s.slug}").json()
    dev = next(d for d in board["devices"] if d["id"] == s.devices[0])
    assert dev["values"]["no2"] == 90.0 and dev["level"] == "fair"
    assert dev["shown"]["no2"] == "90,0 µg/m³"

    device = client.get(f"/sensors/{s.slug}/{s.devices[0]}", headers={"Accept-Language": "nb"})
    assert device.status_code == 200
    assert device.text.count('class="chart chart-wide"') == 1  # no2; the others unread
    assert device.text.count("Ingen målinger siste døgn.") == 2
    data = client.get(f"/api/v1/sensors/dashboard/{s.slug}/{s.devices[0]}").json()
    assert [v for _, v in data["series"]["no2"]] == [30.0 + 10 * i for i in range(7)]
    assert client.get(f"/sensors/{s.slug}/urn:ngsi-ld:X:none").status_code == 404
    assert client.get("/sensors/no-such-stream").status_code == 404


def test_restricted_stream_pages_need_an_agreement(client: TestClient, session: Session) -> None:
    s = make_stream(session, devices=1, open_data=False)
    r = client.get(f"/sensors/{s.slug}", headers={"Accept": "text/html"}, follow_redirects=False)
    # a visitor is sent to sign in, and comes back here after (journeys: 401 on a page)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?" + urlencode({"next": f"/sensors/{s.slug}"})
    assert client.get(f"/api/v1/sensors/dashboard/{s.slug}").status_code == 401
    assert client.get(f"/sensors/{s.slug}", headers=s.headers).status_code == 200  # owner
    listed = client.get("/api/v1/sensors/dashboard").json()["streams"]
    [mine] = [x for x in listed if x["dataset"] == s.slug]
    assert mine["open"] is False  # listed (published), marked as needing an agreement


def test_a_stream_without_observations_shows_its_devices(
    client: TestClient, session: Session
) -> None:
    s = make_stream(session, devices=2, open_data=False)
    board = client.get(f"/api/v1/sensors/dashboard/{s.slug}", headers=s.headers).json()
    assert [d["id"] for d in board["devices"]] == s.devices
    assert all(d["observedAt"] is None and d["level"] == "none" for d in board["devices"])
    device = client.get(f"/api/v1/sensors/dashboard/{s.slug}/{s.devices[0]}", headers=s.headers)
    assert device.status_code == 200 and device.json()["series"]["no2"] == []
    # the gate still decides: no agreement, no devices
    assert client.get(f"/api/v1/sensors/dashboard/{s.slug}").status_code == 401
    entity = client.get(f"/ngsi-ld/v1/entities/{s.devices[0]}", headers=s.headers)
    assert entity.status_code == 200 and entity.json()["id"] == s.devices[0]


def test_every_code_the_pages_show_has_words_in_both_languages(
    client: TestClient, session: Session
) -> None:
    from datatorg.sensors import labels, simulator
    from datatorg.sensors.sdm import MODELS

    codes = {
        v
        for d in simulator.devices()
        for h in range(0, 24, 3)
        for v in simulator.reading(d, datetime(2026, 11, 30, h, tzinfo=UTC)).values()
        if isinstance(v, str)
    }
    assert {"ok", "free", "occupied", "on", "off"} <= codes
    for code in codes:
        assert code in labels.KINDS[labels.VALUE], code
    for model in MODELS.values():
        for m in model.measured:
            assert m.name in labels.KINDS[labels.ATTRIBUTE], (model.type_name, m.name)
        assert model.type_name in labels.LEVEL or model.type_name == "WeatherObserved"
    from datatorg.web import labels as registry

    for kind, words in labels.KINDS.items():
        for code, (nb, en) in words.items():
            assert nb and en, (kind, code)
            # registered in the platform's registry (tests/test_plain_language.py reads it)
            assert registry.label(kind, code, "nb") == nb, (kind, code)
            assert registry.label(kind, code, "en") == en, (kind, code)
    s = make_stream(session, devices=1, type_name="Streetlight")
    _send(client, s.slug, s.headers, s.devices[0], 1)  # status "ok"
    nb = client.get(f"/sensors/{s.slug}", headers={"Accept-Language": "nb"}).text
    en = client.get(f"/sensors/{s.slug}", headers={"Accept-Language": "en"}).text
    assert "i orden" in nb and ">ok<" not in nb and "in order" not in nb
    assert "in order" in en and "i orden" not in en
