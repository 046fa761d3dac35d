"""Password reset by e-mail, delivered to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.identity.models import BrowserSession, PasswordReset
from datatorg.identity.passwords import verify_password
from datatorg.identity.tokens import digest
from datatorg.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import make_user
from tests.identity.conftest import Inbox
from tests.identity.helpers import PASSWORD, deliver, login, post_form, session_cookie

NEW_PASSWORD = "a-brand-new-secret-42"


def _token_from(inbox: Inbox) -> str:
    match = re.search(r"/password-reset/confirm\?token=([\w-]+)", inbox.body())
    assert match, inbox.body()
    return match.group(1)


def test_reset_by_page_end_to_end(client: TestClient, session: Session, inbox: Inbox) -> None:
    user = make_user(session, email="glemsk@example.no")
    other_browser = TestClient(client.app, base_url="https://testserver")
    login(other_browser, user.email)
    assert other_browser.get("/api/v1/me").status_code == 200

    r = post_form(client, "/password-reset", {"email": "Glemsk@example.no"})
    assert r.status_code == 200 and "er en lenke for tilbakestilling på vei" in r.text
    assert inbox.messages == []  # nothing is sent inside the request: the outbox sends it
    queued = session.scalars(select(OutboxMessage)).one()
    assert (queued.kind, queued.status) == ("password_reset", OutboxStatus.pending)
    assert deliver(client, session) == 1
    assert len(inbox.messages) == 1 and inbox.recipients[0] == ["glemsk@example.no"]
    session.refresh(queued)  # delivered: the body with its one-time link is not kept
    assert (queued.status, queued.body) == (OutboxStatus.delivered, "")
    assert inbox.messages[0]["Subject"] == "Tilbakestill passordet ditt på Datatorg"
    token = _token_from(inbox)
    assert token not in r.text
    stored = session.scalar(select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert stored is not None and stored.digest == digest(token)
    assert timedelta(minutes=59) < stored.expires_at - utcnow() <= timedelta(minutes=60)

    form = client.get(f"/password-reset/confirm?token={token}")
    assert form.status_code == 200 and f'value="{token}"' in form.text
    assert form.headers["cache-control"] == "no-store"
    done = post_form(
        client,
        "/password-reset/confirm",
        {"token": token, "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD)
    # Every other session ended; the old password no longer works, the new one does.
    assert other_browser.get("/api/v1/me").status_code == 401
    assert login(client, user.email, PASSWORD).status_code == 401
    assert login(client, user.email, NEW_PASSWORD).status_code == 303

    # Single use.
    again = post_form(
        client, "/password-reset/confirm", {"token": token, "password": "yet-another-password"}
    )
    assert again.status_code == 422 and "ugyldig, brukt eller utløpt" in again.text


def test_request_answers_the_same_for_unknown_accounts(
    client: TestClient, session: Session, inbox: Inbox
) -> None:
    make_user(session, email="finnes@example.no")
    known = post_form(client, "/password-reset", {"email": "finnes@example.no"})
    unknown = post_form(client, "/password-reset", {"email": "finnes-ikke@example.no"})
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrf_token" value="[^"]*"|\s+')
    assert strip.sub("", known.text) == strip.sub("", unknown.text)
    api_known = client.post("/api/v1/auth/password-reset", json={"email": "finnes@example.no"})
    api_unknown = client.post("/api/v1/auth/password-reset", json={"email": "nei@example.no"})
    assert api_known.status_code == api_unknown.status_code == 202
    assert api_known.json() == api_unknown.json()
    assert deliver(client, session) == 2
    assert [r[0] for r in inbox.recipients] == ["finnes@example.no", "finnes@example.no"]


def test_reset_by_api_end_to_end_in_english(
    client: TestClient, session: Session, inbox: Inbox
) -> None:
    user = make_user(session, email="api.reset@example.no")
    r = client.post(
        "/api/v1/auth/password-reset",
        json={"email": user.email},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 202
    assert deliver(client, session) == 1
    assert inbox.messages[0]["Subject"] == "Reset your Datatorg password"
    assert "expires in 60 minutes" in inbox.body()
    token = _token_from(inbox)
    short = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    ok = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert ok.status_code == 204
    reuse = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reuse.status_code == 422 and reuse.headers["content-type"] == "application/problem+json"
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": NEW_PASSWORD}
        ).status_code
        == 200
    )


def test_expired_reset_link_is_refused(client: TestClient, session: Session, inbox: Inbox) -> None:
    user = make_user(session)
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    deliver(client, session)
    token = _token_from(inbox)
    record = session.scalar(select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert record is not None
    record.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    r = post_form(client, "/password-reset/confirm", {"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 422
    session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_forged_token_and_hostile_input(client: TestClient, session: Session) -> None:
    for token in ("not-a-real-token", "' OR 1=1 --", "x" * 5000, "../../etc/passwd"):
        r = post_form(client, "/password-reset/confirm", {"token": token, "password": NEW_PASSWORD})
        assert r.status_code == 422
    assert post_form(client, "/password-reset", {"email": "x" * 5000}).status_code == 200
    assert (
        post_form(client, "/password-reset", {"email": "'; DROP TABLE users;--"}).status_code == 200
    )


def test_reset_requests_are_capped_per_hour(
    client: TestClient, session: Session, inbox: Inbox
) -> None:
    user = make_user(session)
    for _ in range(5):
        client.post("/api/v1/auth/password-reset", json={"email": user.email})
    assert deliver(client, session) == 3
    assert len(inbox.messages) == 3
    count = session.scalar(
        select(func.count()).select_from(PasswordReset).where(PasswordReset.user_id == user.id)
    )
    assert count == 3


def test_mail_server_down_still_gives_the_same_answer(client: TestClient, session: Session) -> None:
    user = make_user(session)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"mail_enabled": True, "smtp_port": 9}
    )
    try:
        r = client.post("/api/v1/auth/password-reset", json={"email": user.email})
        assert deliver(client, session) == 0  # the mail server is down: kept, tried again
    finally:
        client.app.state.settings = settings  # type: ignore[attr-defined]
    assert r.status_code == 202
    queued = session.scalars(select(OutboxMessage)).one()
    assert (queued.status, queued.attempts) == (OutboxStatus.pending, 1)
    assert queued.last_error and user.email not in queued.last_error
    assert session_cookie(client) is None
    assert (
        session.scalar(
            select(func.count())
            .select_from(BrowserSession)
            .where(BrowserSession.user_id == user.id)
        )
        == 0
    )
