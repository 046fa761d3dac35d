"""A subscription made with an API token notifies only while that token is valid.

Notifications are read on the owner's behalf; a subscription outlived the token that made it,
so whoever had a stolen token could point a subscription at their own endpoint and keep
receiving the owner's data after the owner revoked the token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from datatorg.identity import service as identity
from datatorg.identity.models import ApiToken, User
from datatorg.sensors.ngsi import notify
from tests.sensors.test_ngsi_subscriptions import TYPE
from tests.sensors.test_ngsi_subscriptions import world as world  # noqa: F401  (the fixture)


def test_revoking_the_token_stops_its_subscriptions(world: dict[str, Any]) -> None:
    client, s, receiver = world["client"], world["stream"], world["receiver"]
    with world["factory"]() as session:
        owner_id = session.scalars(select(ApiToken.user_id)).first()
        owner = session.get(User, owner_id)
        assert owner is not None
        stolen, record = identity.create_token(session=session, user=owner, name="laptop")
        session.commit()
        stolen_id = record.id
    uri = f"http://127.0.0.1:{receiver.port}/notify"
    body = {"entities": [{"type": TYPE}], "notification": {"endpoint": {"uri": uri}}}
    mine = client.post("/ngsi-ld/v1/subscriptions", json=body, headers=s.headers)
    theirs = client.post(
        "/ngsi-ld/v1/subscriptions",
        json={**body, "notification": {"endpoint": {"uri": uri + "?thief"}}},
        headers={"Authorization": f"Bearer {stolen}"},
    )
    assert mine.status_code == theirs.status_code == 201
    r = client.delete(f"/api/v1/me/tokens/{stolen_id}", headers=s.headers)
    assert r.status_code == 204, r.text
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/observations",
        headers=s.headers,
        json=[{"entityId": s.devices[0], "observedAt": "2026-11-01T12:00:00Z", "no2": 5.0}],
    )
    assert r.status_code == 200, r.text
    notify.deliver(world["factory"], world["settings"])
    assert len(receiver.got) == 1  # the owner's own subscription, not the thief's
    # changed with a valid credential of the owner, it is bound to that one and notifies
    r = client.patch(theirs.headers["location"], json={"throttling": 0}, headers=s.headers)
    assert r.status_code == 204, r.text
    r = client.post(
        f"/api/v1/sensors/streams/{s.slug}/observations",
        headers=s.headers,
        json=[{"entityId": s.devices[0], "observedAt": "2026-11-01T12:01:00Z", "no2": 6.0}],
    )
    assert r.status_code == 200, r.text
    notify.deliver(world["factory"], world["settings"])
    assert len(receiver.got) == 3
