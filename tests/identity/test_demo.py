"""The demo world's accounts can sign in with the printed password; the CLI prints them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.demo import world
from tests.identity.helpers import login


def test_every_demo_account_can_sign_in(client: TestClient, session: Session) -> None:
    accounts = world.load_identity(session=session)
    assert [role for role, _ in accounts] == [a[0] for a in world.ACCOUNTS]
    for role, email in accounts:
        browser = TestClient(client.app, base_url="https://testserver")
        r = login(browser, email, world.DEMO_PASSWORD)
        assert r.status_code == 303, role
        me = browser.get("/api/v1/me").json()
        assert me["email"] == email
        if role == "citizen":
            assert me["memberships"] == []  # a citizen belongs to no organisation
        else:
            assert role in {m["role"] for m in me["memberships"]}
    assert world.load_identity(session=session) == accounts  # idempotent
