"""Faceted catalog search in a real browser, without JavaScript; axe-clean in nb and en."""

from __future__ import annotations

from typing import Any

import pytest

from tests.catalog.conftest import load_demo_catalog
from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> LiveServer:
    live_server.with_session(lambda s: load_demo_catalog(s, live_server.settings))
    return live_server


def test_faceted_search_by_keyboard_and_mouse(site: LiveServer, page: Any) -> None:
    page.goto(site.url + "/datasets")
    total = page.locator(".result-count").inner_text()
    page.get_by_label("Søk i datasett").fill("luftkvalitet")
    page.get_by_role("button", name="Søk", exact=True).click()
    assert "luftkvalitet" in page.url
    assert page.get_by_role("link", name="Luftkvalitet i Halden, timesverdier").is_visible()
    page.goto(site.url + "/datasets")
    page.locator("#facet-theme").get_by_label("Transport").check()
    page.get_by_role("button", name="Bruk filtrene").click()
    assert "theme=TRAN" in page.url
    titles = page.locator(".dataset-title").all_inner_texts()
    assert "Trafikktellinger" in titles and "Skolestatistikk" not in titles
    assert page.locator(".result-count").inner_text() != total
    page.get_by_label("Sorter etter").select_option("title")
    page.get_by_role("button", name="Bruk filtrene").click()
    titles = page.locator(".dataset-title").all_inner_texts()
    assert titles == sorted(
        titles, key=lambda t: t.casefold().translate({0xE6: "{", 0xF8: "|", 0xE5: "}"})
    )
    page.get_by_role("link", name="Trafikktellinger").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Trafikktellinger"


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize(
    "path", ["/datasets?theme=ENVI", "/datasets?q=ingenting-her", "/datasets/skolestatistikk"]
)
def test_catalog_pages_are_axe_clean(site: LiveServer, page: Any, lang: str, path: str) -> None:
    page.goto(f"{site.url}/lang/{lang}?next={path.replace('?', '%3F').replace('=', '%3D')}")
    assert page.locator("html").get_attribute("lang") == lang
    assert axe_violations(page) == []


def test_search_page_fits_360_px(site: LiveServer, page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(site.url + "/datasets")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
