"""The shell: health, readiness, OpenAPI, language negotiation, security headers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.web.i18n import negotiate
from tests.factories import make_token, make_user
from tests.statements import recorded


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"


def test_probes_do_not_look_up_their_caller(client: TestClient, session: Session) -> None:
    """A load balancer's probe sent with a bearer token (or a session cookie) costs no
    look-up of the caller: ``/healthz`` sends no statement, ``/readyz`` its one ``SELECT 1``;
    an unknown token does not make a live process look down (401)."""
    headers = make_token(session, make_user(session))
    client.cookies.set("datatorg_session", "no-such-session")
    for sent in (headers, {"Authorization": "Bearer dtg_unknown"}):
        with recorded(session) as statements:
            health = client.get("/healthz", headers=sent)
        assert health.status_code == 200 and statements == [], statements
        with recorded(session) as statements:
            ready = client.get("/readyz", headers=sent)
        sent_by_request = [x for x in statements if "SAVEPOINT" not in x]  # not the test's
        assert ready.status_code == 200 and sent_by_request == ["SELECT 1"], statements


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Datatorg API"


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/", "/healthz", "/no-such-page", "/api/v1/no-such", "/static/site.css"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["x-request-id"]


def test_request_id_is_echoed_when_sane_and_replaced_when_not(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    hostile = client.get("/healthz", headers={"X-Request-Id": 'x" onload=alert(1)'})
    assert hostile.headers["x-request-id"] != 'x" onload=alert(1)'


def test_language_negotiation() -> None:
    assert negotiate("en-GB,en;q=0.9", None, "nb") == "en"
    assert negotiate("nn-NO,en;q=0.5", None, "en") == "nb"
    assert negotiate("de-DE", None, "nb") == "nb"
    assert negotiate("en;q=0.2,nb;q=0.8", None, "en") == "nb"
    assert negotiate("en", "nb", "en") == "nb"  # the visible switch wins
    assert negotiate("en;q=bogus,,;", None, "nb") == "nb"


def test_front_page_in_both_languages(client: TestClient) -> None:
    nb = client.get("/", headers={"Accept-Language": "nb"})
    en = client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="nb">' in nb.text and "Hopp til hovedinnholdet" in nb.text
    assert '<html lang="en">' in en.text and "Skip to main content" in en.text
    for page in (nb, en):
        assert '<main id="main"' in page.text and "<nav" in page.text and "<header" in page.text


def test_language_switch_sets_cookie_and_refuses_offsite_next(client: TestClient) -> None:
    r = client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert "datatorg_lang=en" in r.headers["set-cookie"]
    assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    page = client.get("/", headers={"Accept-Language": "nb"})
    assert '<html lang="en">' in page.text
    assert client.get("/lang/xx").status_code == 404
