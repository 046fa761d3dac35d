"""Sign-up through the page and the API, including hostile and malformed input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.identity.models import Membership, User
from tests.factories import make_user
from tests.identity.helpers import PASSWORD, csrf, post_form, session_cookie, signup


def _users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def test_signup_page_creates_an_account_without_roles_and_signs_in(
    client: TestClient, session: Session
) -> None:
    form = client.get("/signup")
    assert form.status_code == 200
    for needle in ('name="email"', 'name="password"', 'name="accept_terms"', 'href="/terms"'):
        assert needle in form.text
    r = signup(client, "Per.Hansen@Example.NO", name="Per Hansen")
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert session_cookie(client)
    user = session.scalar(select(User).where(User.email == "per.hansen@example.no"))
    assert user is not None and user.terms_accepted_at is not None
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert session.scalar(select(Membership).where(Membership.user_id == user.id)) is None
    account = client.get("/account")
    assert "Per Hansen" in account.text and "ingen rolle" in account.text


def test_signup_api_twin(client: TestClient, session: Session) -> None:
    body = {
        "email": "api.signup@example.no",
        "display_name": "Åse Ødegård",
        "password": PASSWORD,
        "accept_terms": True,
    }
    r = client.post("/api/v1/auth/signup", json=body)
    assert r.status_code == 201
    assert r.json()["display_name"] == "Åse Ødegård" and r.json()["memberships"] == []
    dup = client.post("/api/v1/auth/signup", json=body | {"email": "API.signup@example.no"})
    assert dup.status_code == 409 and dup.headers["content-type"] == "application/problem+json"
    assert dup.json()["detail"] == "An account with this e-mail address already exists"


def test_duplicate_email_on_the_page_is_a_clear_error(client: TestClient, session: Session) -> None:
    make_user(session, email="taken@example.no")
    count = _users(session)
    r = signup(client, "TAKEN@example.no")
    assert r.status_code == 409
    assert "finnes allerede en konto" in r.text
    assert "Bruker" not in r.text  # nothing about the existing account is shown
    assert _users(session) == count and session_cookie(client) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "short", "minst 10 tegn"),
        ("email", "not-an-email", "gyldig e-postadresse"),
        ("email", "' OR '1'='1", "gyldig e-postadresse"),
        ("email", "x@example.no'; DROP TABLE users;--", "gyldig e-postadresse"),
        ("email", "a" * 400 + "@example.no", "gyldig e-postadresse"),
        ("display_name", "", "navnet ditt"),
        ("display_name", "N" * 201, "navnet ditt"),
        ("display_name", "Tab\tname", "navnet ditt"),
        ("accept_terms", "", "godta bruksvilkårene"),
    ],
)
def test_invalid_signup_is_refused_whole(
    client: TestClient, session: Session, field: str, value: str, message: str
) -> None:
    data = {
        "email": "valid@example.no",
        "display_name": "Valid Name",
        "password": PASSWORD,
        "accept_terms": "on",
    } | {field: value}
    count = _users(session)
    r = post_form(client, "/signup", data, follow_redirects=False)
    assert r.status_code == 422
    assert message in r.text
    assert 'aria-invalid="true"' in r.text
    assert _users(session) == count and session_cookie(client) is None
    assert PASSWORD not in r.text  # the password is never echoed


def test_sql_looking_but_valid_address_is_stored_verbatim(
    client: TestClient, session: Session
) -> None:
    r = signup(client, "o'brien+test@example.no", name="Robert'); DROP TABLE users;--")
    assert r.status_code == 303
    user = session.scalar(select(User).where(User.email == "o'brien+test@example.no"))
    assert user is not None and user.display_name == "Robert'); DROP TABLE users;--"
    page = client.get("/account")
    assert "Robert&#39;); DROP TABLE users;--" in page.text


def test_latin1_bytes_in_a_form_body(client: TestClient, session: Session) -> None:
    """A browser posting ISO-8859-1 (æøå as single bytes) gets a clear error, nothing stored."""
    count = _users(session)
    body = (
        "email=latin1%40example.no&display_name=Bj%F8rn+%C6r%E5&password=correct-horse-battery"
        f"&accept_terms=on&csrf_token={csrf(client)}"
    )
    r = client.post(
        "/signup",
        content=body.encode("ascii"),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "navnet ditt" in r.text
    assert _users(session) == count
    raw = (
        "email=latin1%40example.no&display_name=Bjørn Ærå&password=correct-horse-battery"
        f"&accept_terms=on&csrf_token={csrf(client)}"
    ).encode("latin-1")
    r2 = client.post(
        "/signup",
        content=raw,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    # Raw (unescaped) Latin-1 bytes decode as Latin-1: the name arrives intact.
    assert r2.status_code == 303
    user = session.scalar(select(User).where(User.email == "latin1@example.no"))
    assert user is not None and user.display_name == "Bjørn Ærå"


def test_utf8_norwegian_letters_round_trip(client: TestClient, session: Session) -> None:
    r = signup(client, "blåbær@eksempel.no", name="Ærlige Øystein Å")
    assert r.status_code == 303
    user = session.scalar(select(User).where(User.display_name == "Ærlige Øystein Å"))
    assert user is not None and user.email == "blåbær@eksempel.no"


def test_oversized_and_malformed_api_input(client: TestClient, session: Session) -> None:
    count = _users(session)
    huge = {
        "email": "huge@example.no",
        "display_name": "x",
        "password": "p" * 5000,
        "accept_terms": True,
    }
    r = client.post("/api/v1/auth/signup", json=huge)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    assert "p" * 50 not in r.text
    assert client.post("/api/v1/auth/signup", content=b"{not json").status_code == 422
    no_terms = huge | {"password": PASSWORD, "accept_terms": False}
    assert client.post("/api/v1/auth/signup", json=no_terms).status_code == 422
    assert _users(session) == count
