"""Secrets and cookies: outside development the key must look random, a bad or missing key
stops the process with one line (no traceback), and a response sets one CSRF cookie."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from datatorg.settings import DEV_SECRET, Settings, secret_problem
from datatorg.web.csrf import CSRF_COOKIE
from tests.factories import PASSWORD, make_user

WEAK = {
    "spaces": " " * 32,
    "one letter": "a" * 32,
    "pattern": "abcd" * 10,
    "few characters": "abababababcbcbcbcbcbdbdbdbdbdbdb12",
    "short": secrets.token_urlsafe(16)[:20],
    "development key": DEV_SECRET,
}


@pytest.mark.parametrize("secret", WEAK.values(), ids=WEAK.keys())
def test_production_refuses_weak_keys(secret: str) -> None:
    assert secret_problem(secret)
    with pytest.raises(ValidationError, match="DATATORG_SECRET_KEY"):
        Settings(env="production", secret_key=secret)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(32)])
def test_random_keys_pass(make: object) -> None:
    for _ in range(20):
        key = make()  # type: ignore[operator]
        assert secret_problem(key) is None, key
        Settings(env="production", secret_key=key)  # type: ignore[arg-type]


def test_random_hex_keys_are_not_refused_by_chance() -> None:
    # A random 32-character hex key has the fewest bits of any common form; with the earlier
    # bound of 100 bits about 1 in 1,000 was refused (CI met one).
    refused = [k for k in (secrets.token_hex(16) for _ in range(20_000)) if secret_problem(k)]
    assert refused == []


def test_a_mostly_repeated_key_is_refused() -> None:
    assert secret_problem("x" * 23 + "0123456789") == "does not look random enough"


@pytest.mark.parametrize("secret", [None, "a" * 32], ids=["missing", "repeated"])
def test_a_bad_key_stops_the_command_with_one_line(secret: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATATORG_")}
    env["DATATORG_ENV"] = "production"
    if secret is not None:
        env["DATATORG_SECRET_KEY"] = secret
    proc = subprocess.run(
        [sys.executable, "-m", "datatorg.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("Invalid settings: DATATORG_SECRET_KEY")
    if secret:
        assert secret not in proc.stderr


def test_sign_in_sets_one_csrf_cookie(client: TestClient, session: Session) -> None:
    user = make_user(session)
    client.cookies.clear()
    resp = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200
    csrf_cookies = [
        v for k, v in resp.headers.multi_items() if k == "set-cookie" and v.startswith(CSRF_COOKIE)
    ]
    assert len(csrf_cookies) == 1
    assert "Secure" in csrf_cookies[0] and "HttpOnly" in csrf_cookies[0]
