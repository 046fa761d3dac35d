"""What the browser walk at 360 px (bokmål, a new user) found about layout, held as browser
tests: each fails on the page as it was before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.web import charts
from tests.factories import make_org
from tests.lake.helpers import make_dataset
from tests.live import LiveServer, axe_violations
from tests.privacy.helpers import research_agreement

pytestmark = pytest.mark.browser


def _an_agreement(session: Session) -> None:
    research_agreement(session, make_dataset(session, make_org(session), open_data=False))


def test_the_public_register_is_a_card_per_agreement_on_a_phone(
    live_server: LiveServer, browser: Any
) -> None:
    """The register (who gets which data for what) was a six-column table that a 360 px phone
    showed as a sideways-scrolling strip; below 600 px each agreement is now a card whose
    lines name their column, and wide screens keep the table."""
    live_server.with_session(_an_agreement)
    ctx = browser.new_context(locale="nb-NO", viewport={"width": 360, "height": 740})
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/register")
        row = page.locator("table.stacked-table tbody tr").first
        row.wait_for()
        box = row.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        cells = row.locator("td")
        tops = [cells.nth(i).bounding_box()["y"] for i in range(cells.count())]  # type: ignore[index]
        assert tops == sorted(tops) and len(set(tops)) == 6, tops  # one line per column
        first = page.evaluate(
            """() => getComputedStyle(document.querySelector('.stacked-table td'), '::before')
            .content"""
        )
        assert "Mottaker" in first, first  # each line names its column
        assert page.locator(".stacked-table thead").bounding_box()["height"] <= 1  # type: ignore[index]
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.get_by_role("columnheader").count() == 6  # still a table to assistive tech
        assert axe_violations(page) == []

        page.set_viewport_size({"width": 1024, "height": 740})
        assert (
            page.evaluate(
                "getComputedStyle(document.querySelector('.stacked-table tbody tr')).display"
            )
            == "table-row"
        )
        assert page.locator(".stacked-table thead").bounding_box()["height"] > 10  # type: ignore[index]
    finally:
        ctx.close()


STATIONS = [
    ("Halden storsenter, parkeringshuset", 42.6),
    ("Høgskolen i Østfold, Remmen", 36.5),
    ("Sykehuset Østfold Halden, hovedinngangen ved Svinesundsparken", 30.2),
    ("Idd", 24.1),
]


def test_a_bar_charts_station_names_are_not_cut_on_a_phone(
    live_server: LiveServer, browser: Any
) -> None:
    """At 360 px the bars of the data page had 110 of 340 units for their labels: "Halden
    storsen…" ran past the drawing's left edge and no name longer than 15 letters was
    readable. The names now have a line of their own; one still too long ends in "…" and
    keeps the whole name in a <title>."""
    svg = charts.bar_chart(STATIONS, title="NO₂ per stasjon", value_title="Gjennomsnitt, NO₂")
    html = (
        '<!doctype html><html lang="nb"><head><meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{live_server.url}/static/site.css"></head><body>'
        f'<main class="wrap"><figure class="chart-figure">{svg}</figure></main></body></html>'
    )
    ctx = browser.new_context(locale="nb-NO", viewport={"width": 360, "height": 740})
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/")  # same origin for the stylesheet
        page.set_content(html, wait_until="load")
        found = page.evaluate(
            """() => { const svg = [...document.querySelectorAll('svg.chart')]
                .find(s => s.getBoundingClientRect().width > 0);
            const box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].map(t => { const r = t.getBoundingClientRect();
              const title = t.querySelector('title');
              return {text: t.firstChild.textContent, title: title ? title.textContent : null,
                      inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5
                              && r.left >= 0 && r.right <= 360}; }); }"""
        )
        assert all(t["inside"] for t in found), [t for t in found if not t["inside"]]
        shown = {t["text"]: t["title"] for t in found}
        for name, _ in STATIONS[:2] + STATIONS[3:]:
            assert name in shown, sorted(shown)  # whole, as written
        long_name = STATIONS[2][0]
        cut = [t for t, title in shown.items() if title == long_name]
        assert len(cut) == 1 and cut[0].endswith("…") and len(cut[0]) >= 30, shown
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        ctx.close()


SMALL_TARGETS = """() => [...document.querySelectorAll(
      'input[type=checkbox], input[type=radio], .lang-switch a')]
    .map(e => [e.id || e.textContent.trim(), e.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0)
    .filter(([, r]) => r.width < 24 || r.height < 24)
    .map(([name, r]) => [name, Math.round(r.width), Math.round(r.height)])"""


@pytest.mark.parametrize("path", ["/signup", "/datasets"])
def test_checkboxes_and_the_language_links_are_big_enough_to_tap(
    live_server: LiveServer, browser: Any, path: str
) -> None:
    """At 360 px Chromium drew checkboxes 13 × 13 px and "Norsk"/"English" were 19 px high
    text links: under the 24 × 24 CSS px of WCAG 2.5.8 (target size)."""
    live_server.with_session(lambda s: make_dataset(s, make_org(s)))  # the search has facets
    ctx = browser.new_context(locale="nb-NO", viewport={"width": 360, "height": 740})
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}{path}")
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert page.locator(".lang-switch a").count() == 2
        boxes = page.locator("input[type=checkbox]:visible").count()
        assert boxes >= 1
        assert page.evaluate(SMALL_TARGETS) == []
    finally:
        ctx.close()
