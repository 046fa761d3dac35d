"""The web shell in a real browser: language switch, skip link, axe-clean in nb and en."""

from __future__ import annotations

from typing import Any

import pytest

from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_front_page_is_axe_clean(live_server: LiveServer, page: Any, lang: str) -> None:
    page.goto(f"{live_server.url}/lang/{lang}?next=/")
    assert page.locator("html").get_attribute("lang") == lang
    assert axe_violations(page) == []


def test_skip_link_and_language_switch_work_by_keyboard(live_server: LiveServer, page: Any) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "The data market square of Halden"


def test_usable_at_360_px(live_server: LiveServer, page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
