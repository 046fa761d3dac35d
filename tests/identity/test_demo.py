"""The demo world's accounts can sign in with the printed password; the CLI prints them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.demo import world
from datatorg.identity.models import Organisation
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


def test_the_demo_organisations_have_norwegian_names(session: Session) -> None:
    """The walk met "Fjordsensor AS (demo sensor vendor)" and "Grønn Start AS (demo
    startup)" on bokmål pages; the slugs (in links and e-mail addresses) stay."""
    world.load_identity(session=session)
    names = {
        slug: name for slug, name in session.execute(select(Organisation.slug, Organisation.name))
    }
    assert names["fjordsensor"] == "Fjordsensor AS" and names["gronn-start"] == "Grønn Start AS"
    english = ("demo", "vendor", "startup")
    assert [n for n in names.values() if any(w in n.lower() for w in english)] == []
    # a demo loaded with the old names gets the new ones on its next load
    old = session.scalar(select(Organisation).where(Organisation.slug == "fjordsensor"))
    assert old is not None
    old.name = "Fjordsensor AS (demo sensor vendor)"
    world.load_identity(session=session)
    assert old.name == "Fjordsensor AS"
