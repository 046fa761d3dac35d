"""Security: CSRF on every form, cookie flags, headers, no secrets at rest, Argon2 hashes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from datatorg.db.models import Base
from datatorg.identity import auth, passwords, sessions
from datatorg.settings import Settings
from datatorg.web.csrf import CSRF_COOKIE
from tests.factories import make_org, make_user
from tests.identity.helpers import PASSWORD, csrf, login, post_form, session_cookie, signup

# Machine-to-machine faces (bearer tokens, no browser forms); everything else is a form post.
MACHINE_FACES = ("/api/", "/ngsi-ld/")


def _routes(routes: list[Any], prefix: str = "") -> Iterator[APIRoute | Any]:
    """Every route, descending into included routers (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route.methods


def _form_post_paths(app: FastAPI) -> list[str]:
    """Every non-API POST route of the app, with its path parameters filled in."""
    paths = []
    for path, methods in _routes(app.routes):
        if "POST" in methods and not path.startswith(MACHINE_FACES):
            paths.append(re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path))
    return sorted(paths)


def test_the_enumeration_finds_the_identity_forms(app: FastAPI) -> None:
    found = _form_post_paths(app)
    for path in ("/signup", "/login", "/logout", "/password-reset", "/account/tokens"):
        assert path in found


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("variant", ["missing", "wrong", "no-cookie", "unsigned"])
def test_every_form_post_refuses_a_bad_csrf_token(
    app: FastAPI, client: TestClient, session: Session, signed_in: bool, variant: str
) -> None:
    if signed_in:
        user = make_user(session, superuser=True)
        login(client, user.email)
    good = csrf(client)
    paths = _form_post_paths(app)
    assert paths
    for path in paths:
        data: dict[str, Any] = {"email": "x@example.no", "password": PASSWORD}
        if variant == "wrong":
            data["csrf_token"] = good[:-4] + "abcd"
        elif variant == "unsigned":
            forged = "nonce.0123456789abcdef0123456789abcdef"
            client.cookies.set(CSRF_COOKIE, forged)
            data["csrf_token"] = forged
        elif variant == "no-cookie":
            client.cookies.delete(CSRF_COOKIE)
            data["csrf_token"] = good
        r = client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        client.cookies.set(CSRF_COOKIE, good)
    if signed_in:
        assert client.get("/api/v1/me").status_code == 200  # the forged logout did nothing


def test_csrf_header_is_accepted_instead_of_the_field(client: TestClient, session: Session) -> None:
    user = make_user(session)
    r = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_cookie_flags_for_every_cookie_we_set(client: TestClient, session: Session) -> None:
    user = make_user(session)
    first = client.get("/login")
    login_r = login(client, user.email)
    logout_r = post_form(client, "/logout", {}, follow_redirects=False)
    cookies = [c for r in (first, login_r, logout_r) for c in r.headers.get_list("set-cookie")]
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"datatorg_csrf", "datatorg_session"} <= names
    for cookie in cookies:
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered
        assert "secure" in lowered and "path=/" in lowered
    cleared = next(c for c in logout_r.headers.get_list("set-cookie") if "datatorg_session" in c)
    assert 'datatorg_session="";' in cleared or "max-age=0" in cleared.lower()


def test_development_over_plain_http_drops_only_the_secure_flag(settings: Settings) -> None:
    dev = settings.model_copy(update={"env": "development", "base_url": "http://127.0.0.1"})
    response = Response()
    sessions.set_session_cookie(response, "token-value", dev)
    cookie = next(c for c in response.headers.getlist("set-cookie") if "datatorg_session" in c)
    assert "secure" not in cookie.lower()
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


@pytest.mark.parametrize(
    "path", ["/signup", "/login", "/password-reset", "/organisations", "/terms", "/account"]
)
def test_security_headers_on_identity_pages(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["x-frame-options"] == "DENY"
    # CSP-clean markup: scripts only from the site's own files, no inline code or styles
    assert re.findall(r'<script(?![^>]*\bsrc="/static/)', r.text) == []
    assert "style=" not in r.text


def _all_text_values(session: Session) -> list[str]:
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            values.extend(str(v) for v in row if v is not None)
    return values


def test_no_plaintext_password_or_token_anywhere_in_the_database(
    client: TestClient, session: Session
) -> None:
    password = "plain-text-canary-7391"
    org = make_org(session)
    signup(client, "canary@example.no", password=password)
    session_token = session_cookie(client)
    created = client.post(
        "/api/v1/me/tokens", json={"name": "canary"}, headers={"X-CSRF-Token": csrf(client)}
    )
    assert created.status_code == 201
    api_token = created.json()["token"]
    issued = auth.request_password_reset(
        session=session,
        settings=client.app.state.settings,
        email="canary@example.no",  # type: ignore[attr-defined]
    )
    assert issued is not None and session_token
    reset_token = issued.link.rsplit("=", 1)[1]
    login(client, "canary@example.no", "wrong-password-canary")  # a counted failure
    assert org.id
    secrets = {
        "password": password,
        "wrong password": "wrong-password-canary",
        "session": session_token,
        "api token": api_token,
        "api token body": api_token[8:],
        "reset token": reset_token,
    }
    values = _all_text_values(session)
    assert any("canary@example.no" == v for v in values)  # the scan does see the rows
    for what, secret in secrets.items():
        leaks = [v for v in values if secret in v]
        assert leaks == [], f"{what} stored in the clear"


def test_password_hashes_are_argon2id_with_production_parameters(
    session: Session, fast_password_hashing: PasswordHasher
) -> None:
    user = make_user(session)
    assert user.password_hash and user.password_hash.startswith("$argon2id$v=19$")
    production = fast_password_hashing
    passwords._hasher = production
    try:
        strong = passwords.hash_password(PASSWORD)
    finally:
        passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    params = extract_parameters(strong)
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert params.memory_cost >= 19456 and params.time_cost >= 2  # OWASP minimums
    assert passwords.verify_password(strong, PASSWORD)
    assert not passwords.verify_password(strong, PASSWORD + "x")
    assert not passwords.verify_password("not-a-hash", PASSWORD)
    assert not passwords.verify_password(None, PASSWORD)
