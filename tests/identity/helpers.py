"""Small helpers for identity tests: CSRF token, form sign-up and sign-in."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.sessions import SESSION_COOKIE
from datatorg.outbox import service as outbox
from datatorg.web.csrf import CSRF_COOKIE

PASSWORD = "correct-horse-battery"


def csrf(client: TestClient) -> str:
    """The CSRF token of this client (fetching a page first if it has none yet)."""
    token = client.cookies.get(CSRF_COOKIE)
    if not token:
        client.get("/login")
        token = client.cookies.get(CSRF_COOKIE)
    assert token
    return token


def post_form(client: TestClient, path: str, data: dict[str, str], **kw: Any) -> Any:
    """POST a form with this client's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf(client)}, **kw)


def signup(
    client: TestClient, email: str, password: str = PASSWORD, name: str = "Kari Nordmann"
) -> Any:
    return post_form(
        client,
        "/signup",
        {"email": email, "display_name": name, "password": password, "accept_terms": "on"},
        follow_redirects=False,
    )


def login(client: TestClient, email: str, password: str = PASSWORD, next: str = "") -> Any:
    return post_form(
        client,
        "/login",
        {"email": email, "password": password, "next": next},
        follow_redirects=False,
    )


def session_cookie(client: TestClient) -> str | None:
    return client.cookies.get(SESSION_COOKIE)


def deliver(client: TestClient, session: Session) -> int:
    """Run the outbox's deliverer once, as the server's deliverer thread does after a commit
    (the tests' app runs none), with the app's mail settings; how many mails it delivered."""
    settings = client.app.state.settings  # type: ignore[attr-defined]
    return outbox.deliver_due(session=session, settings=settings).delivered
