"""NGSI-LD subscriptions: CRUD, matching (watchedAttributes, q), notifications queued with the
change and sent after it commits to a real HTTP endpoint, read through the gate."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import datatorg.db.models  # noqa: F401  (every table)
from datatorg.app import create_app
from datatorg.audit.models import AuditEvent
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.sensors.models import NgsiNotification
from datatorg.sensors.ngsi import notify
from datatorg.settings import Settings
from tests.conftest import TEST_SECRET
from tests.mqtt import free_port
from tests.sensors.helpers import make_stream

TYPE = "AirQualityObserved"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that keeps what is POSTed to it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got: list[tuple[dict[str, str], Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                size = int(self.headers.get("content-length", "0"))
                outer.got.append((dict(self.headers), json.loads(self.rfile.read(size))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(own_database: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(
        env="test",
        database_url=own_database,
        lake_path=tmp_path / "lake",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        mail_enabled=False,
        ngsi_notify_private_hosts=True,
    )
    engine = make_engine(own_database)
    factory = make_sessionmaker(engine)
    with factory() as session:
        s = make_stream(session, devices=2, type_name=TYPE)
        session.commit()
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as client, Receiver() as receiver:
        yield {
            "client": client,
            "settings": settings,
            "factory": factory,
            "stream": s,
            "receiver": receiver,
        }
    app.state.engine.dispose()
    engine.dispose()


def test_subscription_lifecycle_and_notifications(world: dict[str, Any]) -> None:
    client, s, receiver = world["client"], world["stream"], world["receiver"]
    h = s.headers
    sub = {
        "type": "Subscription",
        "entities": [{"type": TYPE}],
        "watchedAttributes": ["no2"],
        "q": "no2>40",
        "notification": {
            "attributes": ["no2"],
            "format": "keyValues",
            "endpoint": {
                "uri": f"http://127.0.0.1:{receiver.port}/notify",
                "accept": "application/json",
            },
        },
    }
    r = client.post("/ngsi-ld/v1/subscriptions", json=sub, headers=h)
    assert r.status_code == 201, r.text
    sub_url = r.headers["location"]
    got = client.get(sub_url, headers=h).json()
    assert got["status"] == "active" and got["watchedAttributes"] == ["no2"]
    assert [x["id"] for x in client.get("/ngsi-ld/v1/subscriptions", headers=h).json()] == [
        sub_url.rsplit("/", 1)[-1]
    ]

    def send(no2: float, minute: int) -> None:
        r = client.post(
            f"/api/v1/sensors/streams/{s.slug}/observations",
            headers=h,
            json=[
                {
                    "entityId": s.devices[0],
                    "observedAt": f"2026-11-01T12:{minute:02d}:00Z",
                    "no2": no2,
                    "pm10": 3.0,
                }
            ],
        )
        assert r.status_code == 200, r.text

    send(55.0, 1)  # matches q: queued with the change
    send(12.0, 2)  # does not match q
    r = client.patch(
        f"/ngsi-ld/v1/entities/{s.devices[1]}/attrs",
        headers=h,
        json={"status": {"type": "Property", "value": "ok"}},
    )
    assert r.status_code == 207  # status is not an attribute of the device yet
    assert notify.deliver(world["factory"], world["settings"]) == 1
    [(headers, body)] = receiver.got
    assert body["type"] == "Notification" and body["subscriptionId"] == sub_url.rsplit("/")[-1]
    assert body["data"] == [{"id": s.devices[0], "type": TYPE, "no2": 55.0}]
    assert "json-ld#context" in headers["Link"]
    with world["factory"]() as session:
        note = session.scalars(select(NgsiNotification)).one()
        assert note.sent_at is not None and note.attempts == 1
        reads = [
            e
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "data.read"))
            if e.details.get("channel") == "ngsi-ld"
        ]
        assert reads and reads[-1].details["rows"] == 1
    assert client.get(sub_url, headers=h).json()["notification"]["timesSent"] == 1
    # paused: nothing is queued
    assert client.patch(sub_url, json={"isActive": False}, headers=h).status_code == 204
    assert client.get(sub_url, headers=h).json()["status"] == "paused"
    send(99.0, 3)
    assert notify.deliver(world["factory"], world["settings"]) == 0
    assert client.delete(sub_url, headers=h).status_code == 204
    assert client.get(sub_url, headers=h).status_code == 404


def test_failed_notifications_are_retried_later(world: dict[str, Any]) -> None:
    client, s = world["client"], world["stream"]
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    r = client.post(
        "/ngsi-ld/v1/subscriptions",
        headers=s.headers,
        json={"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": dead}}},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/observations",
        headers=s.headers,
        json=[{"entityId": s.devices[0], "observedAt": "2026-11-01T12:00:00Z", "no2": 1.0}],
    )
    assert r.status_code == 200
    assert notify.deliver(world["factory"], world["settings"]) == 0
    with world["factory"]() as session:
        note = session.scalars(select(NgsiNotification)).one()
        assert note.sent_at is None and note.attempts == 1 and note.last_error
        assert not note.failed
    assert notify.deliver(world["factory"], world["settings"]) == 0  # not due yet
    sub = client.get(
        r.headers.get("location", "/ngsi-ld/v1/subscriptions"), headers=s.headers
    ).json()
    assert sub[0]["notification"]["status"] == "failed"


def test_bad_subscriptions_are_refused(client: TestClient, session: Any) -> None:
    s = make_stream(session)
    base = {
        "entities": [{"type": TYPE}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}},
    }
    r = client.post("/ngsi-ld/v1/subscriptions", json=base, headers=s.headers)
    assert r.status_code == 400 and "private network" in r.json()["detail"]  # no SSRF
    for bad in (
        {"notification": {"endpoint": {"uri": "https://example.org/n"}}},
        {**base, "notification": {"endpoint": {"uri": "ftp://example.org/n"}}},
        {**base, "q": "no2>"},
        {
            **base,
            "notification": {"endpoint": {"uri": "https://example.org/n", "accept": "text/html"}},
        },
        {**base, "entities": [{"id": "urn:x"}]},
        {**base, "throttling": -1},
    ):
        r = client.post("/ngsi-ld/v1/subscriptions", json=bad, headers=s.headers)
        assert r.status_code == 400, bad
    r = client.post("/ngsi-ld/v1/subscriptions", json=base)
    assert r.status_code == 401
