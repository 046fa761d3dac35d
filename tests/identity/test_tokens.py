"""Personal API tokens: created once-shown on the account page and by API, listed, revoked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.identity import service
from datatorg.identity.models import ApiToken
from datatorg.identity.tokens import digest
from datatorg.web import formatting
from tests.factories import make_token, make_user
from tests.identity.helpers import login, post_form


def test_account_page_creates_shows_once_lists_and_revokes(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    login(client, user.email)
    r = post_form(client, "/account/tokens", {"token_name": "Mitt skript", "days": "30"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    match = re.search(r'id="new-token">(dtg_[\w-]+)<', r.text)
    assert match
    plaintext = match.group(1)
    record = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert record is not None and record.digest == digest(plaintext)
    assert record.prefix == plaintext[:8]
    assert timedelta(days=29) < record.expires_at - utcnow() <= timedelta(days=30)  # type: ignore[operator]

    api = TestClient(client.app, base_url="https://testserver")
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert me.status_code == 200 and me.json()["email"] == user.email

    listing = client.get("/account")
    assert plaintext not in listing.text  # never shown again
    assert "Mitt skript" in listing.text and record.prefix in listing.text
    session.refresh(record)
    assert record.last_used_at is not None and record.expires_at is not None
    # dates in words of the page's language, in a table a keyboard can scroll
    assert formatting.local(record.last_used_at, "nb") in listing.text  # last used
    assert formatting.day(record.expires_at, "nb") in listing.text  # e.g. "30. des. 2026"
    assert not re.search(r"\d{4}-\d\d-\d\d", listing.text)
    assert 'role="region" aria-label="API-nøklene dine"' in listing.text

    out = post_form(client, f"/account/tokens/{record.id}/revoke", {}, follow_redirects=False)
    assert out.status_code == 303
    refused = api.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "trukket tilbake" in client.get("/account?done=revoked").text


def test_token_api_create_list_revoke(client: TestClient, session: Session) -> None:
    user = make_user(session)
    headers = make_token(session, user)
    r = client.post("/api/v1/me/tokens", json={"name": "ci", "days": None}, headers=headers)
    assert r.status_code == 201
    body = r.json()
    assert body["token"].startswith("dtg_") and body["expires_at"] is None
    listed = client.get("/api/v1/me/tokens", headers=headers).json()
    assert {t["name"] for t in listed} == {"ci", "test"}
    assert all("token" not in t and "digest" not in t for t in listed)
    gone = client.delete(f"/api/v1/me/tokens/{body['id']}", headers=headers)
    assert gone.status_code == 204
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401


def test_cannot_revoke_someone_elses_token(client: TestClient, session: Session) -> None:
    owner, other = make_user(session), make_user(session)
    _, record = service.create_token(session=session, user=owner, name="owner's")
    r = client.delete(f"/api/v1/me/tokens/{record.id}", headers=make_token(session, other))
    assert r.status_code == 404
    assert record.revoked_at is None


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown", "inactive-user"])
def test_bad_tokens_are_refused_with_401_problem_json(
    client: TestClient, session: Session, state: str
) -> None:
    user = make_user(session)
    headers = make_token(session, user)
    record = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert record is not None
    if state == "expired":
        record.expires_at = utcnow() - timedelta(seconds=1)
    elif state == "revoked":
        record.revoked_at = utcnow()
    elif state == "unknown":
        headers = {"Authorization": "Bearer dtg_this-token-does-not-exist"}
    else:
        user.is_active = False
    session.flush()
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 401
    assert "Bearer" in r.headers["www-authenticate"]


def test_invalid_token_input(client: TestClient, session: Session) -> None:
    user = make_user(session)
    headers = make_token(session, user)
    for body in ({"name": ""}, {"name": "x" * 201}, {"name": "ok", "days": 0}, {"name": "a\x00b"}):
        assert client.post("/api/v1/me/tokens", json=body, headers=headers).status_code == 422
    login(client, user.email)
    page = post_form(client, "/account/tokens", {"token_name": "", "days": "90"})
    assert page.status_code == 422 and "Gi nøkkelen et navn" in page.text
    bad_days = post_form(client, "/account/tokens", {"token_name": "x", "days": "; DROP"})
    assert bad_days.status_code == 422
    assert len(client.get("/api/v1/me/tokens", headers=headers).json()) == 1


def test_agreement_scoped_token_cannot_manage_tokens(client: TestClient, session: Session) -> None:
    import uuid

    user = make_user(session)
    headers = make_token(session, user, agreement_id=uuid.uuid4())
    assert client.get("/api/v1/me/tokens", headers=headers).status_code == 403
    r = client.post("/api/v1/me/tokens", json={"name": "escalate"}, headers=headers)
    assert r.status_code == 403


def test_profile_update_page_and_api(client: TestClient, session: Session) -> None:
    user = make_user(session)
    login(client, user.email)
    r = post_form(client, "/account/profile", {"display_name": "Nytt Navn"}, follow_redirects=False)
    assert r.status_code == 303
    assert user.display_name == "Nytt Navn"
    assert post_form(client, "/account/profile", {"display_name": " "}).status_code == 422
    headers = make_token(session, user)
    api = client.patch("/api/v1/me", json={"locale": "en"}, headers=headers)
    assert api.status_code == 200 and api.json()["locale"] == "en"
    assert client.patch("/api/v1/me", json={"locale": "de"}, headers=headers).status_code == 422


def test_actor_for_token_is_one_statement_and_matches_actor_for_user(session: Session) -> None:
    from datatorg.identity.models import OrgKind, Role, User
    from tests.factories import make_org
    from tests.statements import recorded

    org, other = make_org(session), make_org(session, kind=OrgKind.research)
    user = make_user(session, org=org, roles=(Role.publisher, Role.steward))
    service.add_membership(session=session, user=user, organisation=other, role=Role.consumer)
    plaintext, record = service.create_token(session=session, user=user, name="t")
    record.last_used_at = utcnow()  # used a moment ago: the look-up writes nothing
    session.flush()
    with recorded(session) as statements:
        actor = service.actor_for_token(session=session, plaintext=plaintext)
    assert len(statements) == 1, statements
    assert actor == service.actor_for_user(session=session, user=user, token=record)
    assert actor is not None and {r for _, r in actor.roles} == {
        Role.publisher,
        Role.steward,
        Role.consumer,
    }

    lonely = make_user(session)  # no memberships: still one row, no roles
    lonely_plain, _ = service.create_token(session=session, user=lonely, name="t")
    found = service.actor_for_token(session=session, plaintext=lonely_plain)
    assert found is not None and found.user_id == lonely.id and found.roles == frozenset()

    assert service.actor_for_token(session=session, plaintext="dtg_unknown") is None
    record.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert service.actor_for_token(session=session, plaintext=plaintext) is None
    record.expires_at, record.revoked_at = None, utcnow()
    session.flush()
    assert service.actor_for_token(session=session, plaintext=plaintext) is None
    record.revoked_at = None
    session.get_one(User, user.id).is_active = False
    session.flush()
    assert service.actor_for_token(session=session, plaintext=plaintext) is None


def test_actor_for_token_notes_the_use_once_a_minute(session: Session) -> None:
    user = make_user(session)
    plaintext, record = service.create_token(session=session, user=user, name="t")
    assert record.last_used_at is None
    assert service.actor_for_token(session=session, plaintext=plaintext) is not None
    session.expire_all()
    first = session.get_one(ApiToken, record.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    assert service.actor_for_token(session=session, plaintext=plaintext) is not None
    session.expire_all()
    assert session.get_one(ApiToken, record.id).last_used_at == first  # not again this minute
