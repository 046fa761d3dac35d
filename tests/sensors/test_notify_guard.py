"""Subscriptions tell nothing the subscriber may not read, and never reach a private network.

* A subscription's ``q``, ``geoQ`` and ``watchedAttributes`` are conditions on the entity:
  evaluated on attributes the gate hides from the subscriber (a column their agreement does
  not cover, a location it does not let out), whether a notification comes would tell those
  values (``q=area>3000``, a ``near`` geoQ with a shrinking distance). They are evaluated
  again, when the notification is sent, on what the subscriber may read.
* The endpoint's address is checked at every send, not only when the subscription is made:
  a host name that resolves to a public address then and to 127.0.0.1 later (DNS
  rebinding, or a name that did not resolve yet) must not be notified.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.app import create_app
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.market.metering import today as utc_today
from datatorg.sensors import service
from datatorg.sensors.models import NgsiNotification, NgsiSubscription
from datatorg.sensors.ngsi import endpoints, notify
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import make_token
from tests.market.conftest import World, offer_data
from tests.market.conftest import world as world  # noqa: F401  (the fixture)
from tests.sensors.helpers import make_stream
from tests.sensors.test_ngsi_subscriptions import Receiver

PUBLIC = "93.184.216.34"  # an address on the public internet (nothing is sent to it here)
ENTITY = {
    "id": "urn:ngsi-ld:EnergyMeter:B01",
    "type": "EnergyMeter",
    "kwh": {"type": "Property", "value": 1200.5},
    "area": {"type": "Property", "value": 3400.0},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [11.38, 59.12]}},
}
ENTITY_URL = f"/ngsi-ld/v1/entities/{ENTITY['id']}"


def _agreement(
    client: TestClient, session: Session, world: World, publisher: dict[str, str]
) -> dict[str, str]:
    """The consumer's agreement covers entityId and kwh: not area, not the position."""
    consumer = make_token(session, world.consumer)
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
    steward = make_token(session, world.steward)
    ok = client.post(f"/api/v1/access-requests/{req.json()['id']}/approve", headers=steward)
    assert ok.status_code == 200, ok.text
    return consumer


def test_conditions_on_what_the_subscriber_may_not_read_send_nothing(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    service.create_stream(
        session=session,
        actor=None,
        dataset=world.dataset,
        type_name="EnergyMeter",
        attributes=[{"name": "kwh", "type": "number"}, {"name": "area", "type": "number"}],
    )
    publisher = make_token(session, world.publisher)
    assert client.post("/ngsi-ld/v1/entities", json=ENTITY, headers=publisher).status_code == 201
    consumer = _agreement(client, session, world, publisher)
    r = client.get(ENTITY_URL, params={"attrs": "area"}, headers=consumer)
    assert r.status_code == 403  # area is not the consumer's to read ...
    r = client.get(ENTITY_URL, params={"attrs": "kwh"}, headers=consumer)
    assert r.status_code == 200 and "location" not in r.json()  # ... nor the location

    endpoint = {"uri": f"http://{PUBLIC}/notify"}
    conditions = {
        "control": {"q": "kwh>1000"},  # on what the consumer reads: notified
        "hidden q": {"q": "area>3000"},
        "hidden geoQ": {
            "geoQ": {
                "georel": "near;maxDistance==50",
                "geometry": "Point",
                "coordinates": [11.38, 59.12],
            }
        },
        "hidden watched": {"watchedAttributes": ["area"]},
    }
    subs = {}
    for name, extra in conditions.items():
        body = {
            "type": "Subscription",
            "entities": [{"type": "EnergyMeter"}],
            "notification": {"attributes": ["kwh"], "endpoint": endpoint},
            **extra,
        }
        r = client.post("/ngsi-ld/v1/subscriptions", json=body, headers=consumer)
        assert r.status_code == 201, (name, r.text)
        subs[r.headers["location"].rsplit("/", 1)[-1]] = name
    change = {"kwh": {"type": "Property", "value": 1300.0}, "area": ENTITY["area"]}
    r = client.post(f"{ENTITY_URL}/attrs", json=change, headers=publisher)
    assert r.status_code == 204, r.text

    sent = {}
    for note in session.scalars(select(NgsiNotification)):
        sub = session.get(NgsiSubscription, note.subscription_id)
        assert sub is not None
        rendered = notify.render(session, settings, sub, note)
        sent[subs[sub.id]] = None if rendered is None else rendered[0]
    assert sent["control"] is not None and b"1300" in sent["control"]
    assert sent.get("hidden q") is None
    assert sent.get("hidden geoQ") is None
    assert sent.get("hidden watched") is None


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``rebind.example`` resolves to whatever the test says, at each lookup."""
    where = {"address": PUBLIC}
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host == "rebind.example":
            return real(where["address"], port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return where


@pytest.fixture
def guarded(own_database: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The app as in production: private endpoints not allowed."""
    settings = Settings(
        env="test",
        database_url=own_database,
        lake_path=tmp_path / "lake",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
        ngsi_notify_private_hosts=False,
    )
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    with factory() as session:
        s = make_stream(session, devices=1)
        session.commit()
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as client, Receiver() as receiver:
        yield {
            "client": client,
            "settings": settings,
            "factory": factory,
            "stream": s,
            "r": receiver,
        }
    app.state.engine.dispose()
    engine.dispose()


def test_the_endpoint_address_is_checked_at_every_send(
    guarded: dict[str, Any], rebinding: dict[str, str]
) -> None:
    client, s, receiver = guarded["client"], guarded["stream"], guarded["r"]
    uri = f"http://rebind.example:{receiver.port}/notify"
    body = {
        "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": {"uri": uri}},
    }
    r = client.post("/ngsi-ld/v1/subscriptions", json=body, headers=s.headers)
    assert r.status_code == 201, r.text  # public when made
    rebinding["address"] = "127.0.0.1"  # this machine when notified
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/observations",
        headers=s.headers,
        json=[{"entityId": s.devices[0], "observedAt": "2026-11-01T12:00:00Z", "no2": 1.0}],
    )
    assert r.status_code == 200, r.text
    assert notify.deliver(guarded["factory"], guarded["settings"]) == 0
    assert receiver.got == []  # nothing reached the private endpoint
    with guarded["factory"]() as session:
        note = session.scalars(select(NgsiNotification)).one()
        assert note.sent_at is None and "private network" in (note.last_error or "")


def test_a_notification_goes_to_the_address_that_was_checked(
    rebinding: dict[str, str], settings: Settings
) -> None:
    url, host, ext = endpoints.target("https://rebind.example:8443/n?x=1", settings)
    assert url == f"https://{PUBLIC}:8443/n?x=1"
    assert host == {"Host": "rebind.example:8443"} and ext == {"sni_hostname": "rebind.example"}
    for private in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "::1"):
        rebinding["address"] = private
        with pytest.raises(endpoints.Refused):
            endpoints.target("http://rebind.example/n", settings)
    with pytest.raises(endpoints.Refused):
        endpoints.target("http://no-such-host.invalid/n", settings)
