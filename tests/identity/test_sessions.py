"""Browser sessions: sign-in, cookie flags, rotation, expiry, sign-out, safe redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.identity import sessions
from datatorg.identity.models import BrowserSession
from datatorg.identity.tokens import digest
from tests.factories import make_user
from tests.identity.helpers import PASSWORD, csrf, login, post_form, session_cookie


def _sessions_of(session: Session, user_id: object) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(BrowserSession)
            .where(BrowserSession.user_id == user_id)
        )
        or 0
    )


def test_login_page_sets_a_hardened_cookie_and_stores_only_a_digest(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, email="ola@example.no")
    r = login(client, "OLA@example.no ", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookies = r.headers.get_list("set-cookie")
    session_set = next(c for c in cookies if c.startswith("datatorg_session="))
    for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/", "Max-Age=43200"):
        assert flag.lower() in session_set.lower(), flag
    token = session_cookie(client)
    assert token and len(token) >= 40
    row = session.scalar(select(BrowserSession).where(BrowserSession.user_id == user.id))
    assert row is not None and row.digest == digest(token) and token not in row.digest
    assert timedelta(hours=11.9) < row.expires_at - utcnow() <= timedelta(hours=12)
    page = client.get("/account")
    assert page.status_code == 200 and "ola@example.no" in page.text
    assert 'action="/logout"' in page.text  # the header shows the signed-in state


def test_wrong_password_and_unknown_account_get_the_same_answer(
    client: TestClient, session: Session
) -> None:
    make_user(session, email="kari@example.no")
    wrong = login(client, "kari@example.no", "not-the-password")
    unknown = login(client, "nobody@example.no", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Feil e-postadresse eller passord." in wrong.text
    assert wrong.text.count("Feil e-post") == unknown.text.count("Feil e-post")
    assert session_cookie(client) is None


def test_login_rotates_the_session_and_the_csrf_token(client: TestClient, session: Session) -> None:
    user = make_user(session)
    planted = sessions.start_session(
        session=session,
        user=make_user(session),
        settings=client.app.state.settings,  # type: ignore[attr-defined]
    )
    client.cookies.set(sessions.SESSION_COOKIE, planted, domain="testserver.local")
    before_csrf = csrf(client)
    login(client, user.email)
    after = session_cookie(client)
    assert after and after != planted
    assert sessions.user_for_token(session=session, token=planted) is None  # old row deleted
    assert csrf(client) != before_csrf
    assert _sessions_of(session, user.id) == 1


def test_logout_deletes_the_server_row_so_a_copied_cookie_is_dead(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    login(client, user.email)
    token = session_cookie(client)
    assert token
    r = post_form(client, "/logout", {}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?done=signed-out"
    assert _sessions_of(session, user.id) == 0
    thief = TestClient(client.app, base_url="https://testserver")
    thief.cookies.set(sessions.SESSION_COOKIE, token)
    assert thief.get("/account", follow_redirects=False).status_code == 303
    assert thief.get("/api/v1/me").status_code == 401


def test_expired_session_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session)
    login(client, user.email)
    row = session.scalar(select(BrowserSession).where(BrowserSession.user_id == user.id))
    assert row is not None
    assert client.get("/api/v1/me").status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_inactive_user_session_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session)
    login(client, user.email)
    user.is_active = False
    session.flush()
    assert client.get("/api/v1/me").status_code == 401
    assert login(client, user.email).status_code == 401


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/datasets?q=vann", "/datasets?q=vann"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/account"),
    ],
)
def test_login_redirects_only_to_local_paths(
    client: TestClient, session: Session, next_: str, expected: str
) -> None:
    user = make_user(session)
    r = login(client, user.email, next=next_)
    assert r.status_code == 303
    assert r.headers["location"] == expected


def test_account_page_sends_anonymous_visitors_to_login(client: TestClient) -> None:
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account"


def test_api_login_me_and_logout(client: TestClient, session: Session) -> None:
    user = make_user(session, email="api@example.no")
    bad = client.post("/api/v1/auth/login", json={"email": user.email, "password": "nope"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["email"] == "api@example.no"
    assert "password" not in r.text and "hash" not in r.text
    assert client.get("/api/v1/me").json()["id"] == str(user.id)
    # A browser session calling the API with an unsafe method must send the CSRF header.
    assert client.post("/api/v1/auth/logout").status_code == 403
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf(client)})
    assert out.status_code == 204
    assert _sessions_of(session, user.id) == 0
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "email",
    ["x" * 5000 + "@example.no", "' OR '1'='1' --", "admin@example.no\x00", "æøå@eksempel.no"],
)
def test_hostile_login_input_is_refused_cleanly(
    client: TestClient, session: Session, email: str
) -> None:
    make_user(session, email="admin@example.no")
    r = login(client, email, "whatever-password")
    assert r.status_code in (401, 422)
    assert "Feil e-postadresse eller passord." in r.text
    assert session_cookie(client) is None
    assert "x" * 400 not in r.text  # an oversized value is not echoed back whole
    huge_password = login(client, "admin@example.no", "p" * 100_000)
    assert huge_password.status_code == 422


def test_latin1_form_body_on_login(client: TestClient, session: Session) -> None:
    make_user(session, email="bjorn@example.no", password="passord-med-\u00e6\u00f8\u00e5")
    body = f"email=bjorn%40example.no&password=passord-med-%E6%F8%E5&csrf_token={csrf(client)}"
    r = client.post(
        "/login",
        content=body.encode("ascii"),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 401  # Latin-1 escapes are not UTF-8: not the same password
    utf8 = login(client, "bjorn@example.no", "passord-med-\u00e6\u00f8\u00e5")
    assert utf8.status_code == 303
