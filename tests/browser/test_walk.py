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


def test_a_wide_tables_caption_stays_on_a_phones_screen(
    live_server: LiveServer, browser: Any
) -> None:
    """At 360 px the caption of a wide (scrolling) table was centred over the whole table,
    so a phone showed "Verdier for Strømforbruk i skolene (kWh" cut at the edge."""
    cells = "".join(f"<td>kolonne {i} med en lang verdi</td>" for i in range(8))
    html = (
        '<!doctype html><html lang="nb"><head><meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{live_server.url}/static/site.css"></head><body><main>'
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Verdier"><table>'
        "<caption>Verdier for Strømforbruk i skolene (kWh), måned for måned</caption>"
        f"<tr>{cells}</tr></table></div></main></body></html>"
    )
    ctx = browser.new_context(locale="nb-NO", viewport={"width": 360, "height": 800})
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/")  # same origin for the stylesheet
        page.set_content(html, wait_until="load")
        box = page.evaluate(
            """() => { const c = document.querySelector('caption').getBoundingClientRect();
            const t = document.querySelector('table').getBoundingClientRect();
            return [c.left, c.right, t.right]; }"""
        )
        assert box[2] > 360, box  # the table itself is wider than the phone
        assert 0 <= box[0] and box[1] <= 360, box  # its caption is not
    finally:
        ctx.close()
