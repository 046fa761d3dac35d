"""A subscription's ``throttling`` cannot break ingestion for everyone.

``throttling`` was any non-negative number; the check ``now - timedelta(seconds=throttling)``
runs inside every ingesting transaction (HTTP, MQTT, NGSI-LD writes). With ``1e12`` (or
``1e308``) it raised ``OverflowError`` once the subscription had notified once: every later
write of a matching entity, by anyone, failed with a 500 (and MQTT messages went unacked).
"""

from __future__ import annotations

from typing import Any

from tests.sensors.test_ngsi_subscriptions import TYPE
from tests.sensors.test_ngsi_subscriptions import world as world  # noqa: F401  (the fixture)


def test_a_huge_throttling_is_refused_and_never_breaks_ingestion(world: dict[str, Any]) -> None:
    client, s, receiver = world["client"], world["stream"], world["receiver"]
    uri = f"http://127.0.0.1:{receiver.port}/notify"
    sub = {"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": uri}}}
    for huge in (1e12, 1e308, 10**30):
        r = client.post(
            "/ngsi-ld/v1/subscriptions", json={**sub, "throttling": huge}, headers=s.headers
        )
        assert r.status_code == 400, (huge, r.status_code, r.text)
    year = 365 * 24 * 3600
    r = client.post(
        "/ngsi-ld/v1/subscriptions", json={**sub, "throttling": year}, headers=s.headers
    )
    assert r.status_code == 201, r.text
    for minute in range(3):
        r = client.post(
            f"/api/v1/sensors/streams/{s.slug}/observations",
            headers=s.headers,
            json=[
                {"entityId": s.devices[0], "observedAt": f"2026-11-01T12:0{minute}:00Z", "no2": 1.0}
            ],
        )
        assert r.status_code == 200, r.text


def test_a_stored_subscription_that_cannot_be_evaluated_is_skipped(world: dict[str, Any]) -> None:
    """One made before the limit (or otherwise broken) is skipped, never fails a write."""
    from sqlalchemy import select

    from datatorg.sensors.models import NgsiSubscription

    client, s, receiver = world["client"], world["stream"], world["receiver"]
    uri = f"http://127.0.0.1:{receiver.port}/notify"
    r = client.post(
        "/ngsi-ld/v1/subscriptions",
        json={"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": uri}}},
        headers=s.headers,
    )
    assert r.status_code == 201, r.text
    with world["factory"]() as session:
        sub = session.scalars(select(NgsiSubscription)).one()
        sub.doc = {**sub.doc, "throttling": 1e308, "q": "(" * 500}
        session.commit()
    for minute in range(3):
        r = client.post(
            f"/api/v1/sensors/streams/{s.slug}/observations",
            headers=s.headers,
            json=[
                {"entityId": s.devices[0], "observedAt": f"2026-11-01T13:0{minute}:00Z", "no2": 2.0}
            ],
        )
        assert r.status_code == 200, r.text


def test_a_notification_that_cannot_be_rendered_does_not_hold_up_the_others(
    world: dict[str, Any],
) -> None:
    """A subscription stored before today's limits (an @context over 2000 terms) fails
    alone: it is marked failed, and the others are sent in the same round."""
    from sqlalchemy import select

    from datatorg.sensors.models import NgsiNotification, NgsiSubscription
    from datatorg.sensors.ngsi import notify

    client, s, receiver = world["client"], world["stream"], world["receiver"]
    uri = f"http://127.0.0.1:{receiver.port}/notify"
    made = []
    for _ in range(2):
        r = client.post(
            "/ngsi-ld/v1/subscriptions",
            json={"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": uri}}},
            headers=s.headers,
        )
        assert r.status_code == 201, r.text
        made.append(r.headers["location"].rsplit("/", 1)[-1])
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/observations",
        headers=s.headers,
        json=[{"entityId": s.devices[0], "observedAt": "2026-11-01T14:00:00Z", "no2": 3.0}],
    )
    assert r.status_code == 200, r.text
    with world["factory"]() as session:
        broken = session.get(NgsiSubscription, made[0])
        assert broken is not None
        broken.context = [{f"t{i}": f"https://example.org/{i}" for i in range(3000)}]
        session.commit()
    assert notify.deliver(world["factory"], world["settings"]) == 1
    assert len(receiver.got) == 1
    with world["factory"]() as session:
        notes = {n.subscription_id: n for n in session.scalars(select(NgsiNotification))}
        assert notes[made[0]].failed and notes[made[1]].sent_at is not None
