"""Login throttling: counted in the database, per account and per client address."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from datatorg.app import create_app
from datatorg.db.base import utcnow
from datatorg.identity.models import LoginFailure
from datatorg.settings import Settings
from tests.factories import make_user
from tests.identity.helpers import PASSWORD, login

LIMIT = 5  # settings.login_attempts_per_minute in the test settings


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url="https://testserver", client=(address, 40000))


def test_page_login_is_throttled_per_account_with_retry_after(
    app: FastAPI, session: Session
) -> None:
    assert app.state.settings.login_attempts_per_minute == LIMIT
    user = make_user(session)
    for i in range(LIMIT):
        # Each guess from a different address: the per-account counter still trips.
        assert login(_from(app, f"10.0.0.{i}"), user.email, "wrong-guess").status_code == 401
    blocked = login(_from(app, "10.0.1.1"), user.email, PASSWORD)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "For mange mislykkede forsøk" in blocked.text
    assert blocked.headers.get("set-cookie", "").find("datatorg_session") == -1
    # Once the failures are more than a minute old, the right password works again.
    session.execute(update(LoginFailure).values(at=utcnow() - timedelta(seconds=61)))
    session.flush()
    assert login(_from(app, "10.0.1.1"), user.email, PASSWORD).status_code == 303


def test_api_login_is_throttled_per_address(app: FastAPI, session: Session) -> None:
    attacker = _from(app, "203.0.113.7")
    for i in range(LIMIT):
        r = attacker.post(
            "/api/v1/auth/login", json={"email": f"victim{i}@example.no", "password": "guess"}
        )
        assert r.status_code == 401
    r = attacker.post("/api/v1/auth/login", json={"email": "victim9@example.no", "password": "x"})
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["retry_after"] == int(r.headers["retry-after"]) >= 1
    # Another address is not affected.
    user = make_user(session)
    ok = _from(app, "198.51.100.1").post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert ok.status_code == 200


def test_success_does_not_reset_the_address_counter_for_other_accounts(
    app: FastAPI, session: Session
) -> None:
    own = make_user(session)
    client = _from(app, "192.0.2.50")
    for i in range(LIMIT - 1):
        assert login(client, f"someone{i}@example.no", "guess").status_code == 401
    assert login(client, own.email, PASSWORD).status_code == 303  # own account: fine
    assert login(client, "someone9@example.no", "guess").status_code == 401  # 5th failure
    assert login(client, own.email, PASSWORD).status_code == 429  # the address is blocked


def test_failures_are_stored_as_keyed_digests_only(app: FastAPI, session: Session) -> None:
    login(_from(app, "192.0.2.99"), "secret.person@example.no", "guess")
    row = session.scalar(select(LoginFailure).order_by(LoginFailure.at.desc()))
    assert row is not None
    for text in (row.account_key, row.address_key):
        assert len(text) == 64 and "secret" not in text and "192.0.2" not in text


def test_successful_login_clears_that_accounts_failures(app: FastAPI, session: Session) -> None:
    user = make_user(session)
    client = _from(app, "192.0.2.60")
    for _ in range(LIMIT - 1):
        login(client, user.email, "typo-password")
    assert login(client, user.email, PASSWORD).status_code == 303
    other = _from(app, "192.0.2.61")
    for _ in range(LIMIT - 1):  # a fresh budget for the account
        assert login(other, user.email, "typo-again").status_code == 401
    assert login(other, user.email, PASSWORD).status_code == 303


def test_the_count_is_shared_by_several_workers(
    app: FastAPI, session: Session, settings: Settings
) -> None:
    """Two app instances (as two workers) on one database see the same failures."""
    second = create_app(settings, sessionmaker=app.state.sessionmaker)  # the test's database
    user = make_user(session)
    for i in range(LIMIT):
        worker = app if i % 2 else second
        assert login(_from(worker, f"10.9.0.{i}"), user.email, "guess").status_code == 401
    assert login(_from(second, "10.9.1.1"), user.email, PASSWORD).status_code == 429
    assert login(_from(app, "10.9.1.2"), user.email, PASSWORD).status_code == 429
