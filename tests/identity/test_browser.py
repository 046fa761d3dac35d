"""Sign-up, sign-in and the account page in Chromium: the flow, axe in nb and en, 360 px."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.factories import make_user
from tests.identity.helpers import PASSWORD
from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser

_seq = itertools.count(1)


def _email() -> str:
    return f"browser{next(_seq)}@example.no"


def _sign_in(page: Any, live_server: LiveServer, email: str) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Logg inn").click()
    page.wait_for_url(live_server.url + "/account")


def test_sign_up_sign_out_and_sign_in_in_chromium(live_server: LiveServer, page: Any) -> None:
    email = _email()
    page.goto(live_server.url + "/")
    page.locator("#main-menu").get_by_role("link", name="Opprett konto").click()
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Navn").fill("Åse Ødegård")
    page.get_by_label("Passord").fill("too-short")
    page.get_by_role("main").get_by_role("button", name="Opprett konto").click()
    # Server-side validation (no JavaScript needed): errors are listed and linked.
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Passord").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("E-postadresse").input_value() == email  # kept
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_label("Navn").fill("Åse Ødegård")
    page.locator("#accept_terms").check()
    page.get_by_role("main").get_by_role("button", name="Opprett konto").click()
    page.wait_for_url(live_server.url + "/")  # back where the new account was made from
    page.goto(live_server.url + "/account")
    assert page.get_by_label("Navn", exact=True).input_value() == "Åse Ødegård"
    assert email in page.locator("main").inner_text()

    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url(live_server.url + "/login?done=signed-out")
    assert page.get_by_role("status").inner_text() == "Du er logget ut."
    page.goto(live_server.url + "/account")
    assert page.url.startswith(live_server.url + "/login")

    _sign_in(page, live_server, email)
    page.get_by_label("Navn på nøkkelen").fill("Mitt skript")
    page.get_by_role("button", name="Lag nøkkel").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("dtg_")
    page.goto(live_server.url + "/account")
    assert token not in page.content()


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("path", ["/signup", "/login", "/account", "/password-reset"])
def test_identity_pages_are_axe_clean(
    live_server: LiveServer, page: Any, lang: str, path: str
) -> None:
    if path == "/account":
        email = _email()
        live_server.with_session(lambda s: make_user(s, email=email))
        _sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/lang/{lang}?next={path}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.url == live_server.url + path
    assert axe_violations(page) == []


def test_signup_errors_are_axe_clean(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.url + "/signup")
    page.get_by_role("main").get_by_role("button").click()
    assert page.get_by_role("alert").is_visible()
    assert axe_violations(page) == []


@pytest.mark.parametrize("path", ["/signup", "/login", "/account"])
def test_identity_pages_fit_360_px(live_server: LiveServer, page: Any, path: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    if path == "/account":
        # an address with no place to break, longer than the screen is wide, must wrap
        email = "kommunalteknisk.forvaltning.og.beredskap." + _email()
        live_server.with_session(lambda s: make_user(s, email=email))
        _sign_in(page, live_server, email)
        page.get_by_label("Navn på nøkkelen").fill("x")
        page.get_by_role("button", name="Lag nøkkel").click()  # the long token must wrap
        assert page.locator("#new-token").is_visible()
    else:
        page.goto(live_server.url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_organisation_pages_are_axe_clean_for_an_admin(
    live_server: LiveServer, page: Any, lang: str
) -> None:
    from datatorg.identity.models import Role
    from tests.factories import make_org

    email = _email()
    slug = f"axe-org-{lang}"

    def setup(s: Any) -> None:
        org = make_org(s, slug=slug, name=f"Axe {lang}")
        make_user(s, email=email, org=org, roles=(Role.admin, Role.publisher))

    live_server.with_session(setup)
    _sign_in(page, live_server, email)
    for path in ("/organisations", f"/organisations/{slug}"):
        page.goto(f"{live_server.url}/lang/{lang}?next={path}")
        assert page.url == live_server.url + path
        assert axe_violations(page) == []
    assert page.get_by_role("button", name="Fjern" if lang == "nb" else "Remove").count() == 2
