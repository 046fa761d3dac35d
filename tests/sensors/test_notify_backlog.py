"""A subscriber whose endpoint never answers holds at most ``MAX_PENDING`` unsent
notifications; the others are notified of every change as before.

Each change of a matching entity queued one notification row (the entities as they are),
in the ingestion's own transaction: with 100 subscriptions to a dead endpoint (one free
account) every micro-batch of the 20 demo air-quality stations wrote 100 rows of ~30 KB,
kept for a day (measured on the demo: 300 rows, 9 MB after three batches).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from datatorg.sensors.models import NgsiNotification
from datatorg.sensors.ngsi import notify
from tests.mqtt import free_port
from tests.sensors.test_ngsi_subscriptions import TYPE
from tests.sensors.test_ngsi_subscriptions import world as world  # noqa: F401  (the fixture)


def test_a_dead_endpoint_does_not_pile_up_notifications(world: dict[str, Any]) -> None:
    client, s, receiver = world["client"], world["stream"], world["receiver"]
    ids = {}
    for name, uri in (
        ("dead", f"http://127.0.0.1:{free_port()}/nobody"),
        ("live", f"http://127.0.0.1:{receiver.port}/notify"),
    ):
        r = client.post(
            "/ngsi-ld/v1/subscriptions",
            headers=s.headers,
            json={"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": uri}}},
        )
        assert r.status_code == 201, r.text
        ids[name] = r.headers["location"].rsplit("/", 1)[-1]
    changes = notify.MAX_PENDING + 10
    for minute in range(changes):
        r = client.post(
            f"/api/v1/sensors/streams/{s.slug}/observations",
            headers=s.headers,
            json=[
                {
                    "entityId": s.devices[0],
                    "observedAt": f"2026-11-01T12:{minute:02d}:00Z",
                    "no2": 1.0,
                }
            ],
        )
        assert r.status_code == 200, r.text
        notify.deliver(world["factory"], world["settings"])
    assert len(receiver.got) == changes  # the live subscriber missed nothing
    with world["factory"]() as session:
        dead = session.scalar(
            select(func.count())
            .select_from(NgsiNotification)
            .where(NgsiNotification.subscription_id == ids["dead"])
        )
    assert dead == notify.MAX_PENDING
