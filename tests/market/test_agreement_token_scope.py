"""A key made for one agreement sees that agreement only: not the holder's other
agreements, their usage or statements, nor the holder's inbox (which names them)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.market import service
from tests.factories import actor_of, make_token
from tests.market.conftest import World
from tests.market.test_agreement_choice import _agreements


def test_an_agreement_key_sees_its_own_agreement_only(
    client: TestClient, session: Session, world: World
) -> None:
    narrow, wide = _agreements(session, world)
    plain, _token = service.create_agreement_token(
        session=session,
        actor=actor_of(session, world.consumer),
        agreement_id=uuid.UUID(narrow),
        name="narrow",
        days=7,
    )
    key = {"Authorization": f"Bearer {plain}"}
    person = make_token(session, world.consumer)

    # the person sees both; the key only its own
    both = client.get("/api/v1/agreements", headers=person).json()
    assert {a["id"] for a in both["items"]} == {narrow, wide}
    mine = client.get("/api/v1/agreements", headers=key).json()
    assert [a["id"] for a in mine["items"]] == [narrow] and mine["total"] == 1
    assert client.get("/api/v1/agreements?role=provider", headers=key).json()["total"] == 0

    assert client.get(f"/api/v1/agreements/{narrow}", headers=key).status_code == 200
    assert client.get(f"/api/v1/agreements/{narrow}/usage", headers=key).status_code == 200
    for path in ("", "/usage", "/statement"):
        r = client.get(f"/api/v1/agreements/{wide}{path}", headers=key)
        assert r.status_code == 404, path
        assert "purpose" not in r.text and "ScientificResearch" not in r.text
        assert client.get(f"/api/v1/agreements/{wide}{path}", headers=person).status_code == 200
    assert client.get(f"/market/agreements/{wide}", headers=key).status_code == 404

    # the inbox names every agreement: a person's, not a key's
    assert client.get("/api/v1/notifications", headers=person).status_code == 200
    for path in ("/api/v1/notifications", "/api/v1/notifications/unread-count"):
        assert client.get(path, headers=key).status_code == 403, path
