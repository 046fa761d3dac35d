"""What the usability walk found in Chromium, held as browser tests (each fails without its fix)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.identity import service as identity
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def _person(session: Session) -> str:
    user = identity.create_user(
        session=session, email="walk-focus@example.no", display_name="Kari", password=None
    )
    plain, _ = identity.create_token(session=session, user=user, name="browser")
    return str(plain)


def test_a_date_field_shows_where_the_keyboard_is(live_server: LiveServer, browser: Any) -> None:
    """Tabbing through "Slutter (valgfritt)" on My consents: day, month, year, then the calendar
    button — on that fourth stop the field had no visible focus (WCAG 2.4.7)."""
    token = live_server.with_session(_person)
    ctx = browser.new_context(
        locale="nb-NO",
        viewport={"width": 360, "height": 800},
        extra_http_headers={"Authorization": f"Bearer {token}"},
    )
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/my/consents")
        field = page.locator("input[type=date]").first
        field.wait_for()
        page.locator("select").first.focus()
        seen = []
        for _ in range(4):
            page.keyboard.press("Tab")
            seen.append(
                page.evaluate(
                    """() => { const e = document.activeElement; const s = getComputedStyle(e);
                    return [e.type, s.outlineStyle]; }"""
                )
            )
        assert seen == [["date", "solid"]] * 4, seen
    finally:
        ctx.close()
