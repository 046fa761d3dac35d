"""The living lab in a real browser: the whole journey idea → support → screening →
evaluation → pilot → data request → KPI computed → result, from the main menu, axe-clean, in
bokmål on a 360 px phone (no page wider than the screen), then the pages in English.

People are signed in with API tokens sent as an ``Authorization`` header by their browser
context (forms still carry their CSRF tokens).
"""

from __future__ import annotations

from typing import Any

import duckdb
import httpx
import pytest

from datatorg.web import formatting
from tests.live import LiveServer, axe_violations
from tests.pilots.conftest import Lab, build_lab, energy_csv

pytestmark = pytest.mark.browser
QUERY = "_agg=sum(kwh)&_bucket=month&category=skole"
# the elements without which the page would fit the screen (the innermost last)
TOO_WIDE = """() => { const out = [], W = window.innerWidth;
  for (const e of document.querySelectorAll('body *')) {
    const d = e.style.display; e.style.display = 'none';
    const fits = document.documentElement.scrollWidth <= W; e.style.display = d;
    if (fits) out.push((e.outerHTML || '').slice(0, 160)); }
  return out.slice(-3); }"""


def _as(browser: Any, lab: Lab, who: str, locale: str = "nb-NO") -> Any:
    """A page for ``who`` on a 360 px phone (the narrowest screen the platform serves)."""
    context = browser.new_context(
        locale=locale, extra_http_headers=lab.h[who], viewport={"width": 360, "height": 740}
    )
    return context.new_page()


def _clean(page: Any) -> None:
    """axe finds nothing, and nothing is wider than the phone's screen."""
    found = axe_violations(page)
    assert found == [], (page.url, found)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:  # name the elements that make it wider
        raise AssertionError((page.url, width, page.evaluate(TOO_WIDE)))


def _menu(page: Any, name: str) -> None:
    """Follow a main-menu link, opening the folded menu on a phone first."""
    page.wait_for_load_state("load")  # the menu script has run (it is deferred)
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    link = page.locator("#main-menu").get_by_role("link", name=name).first
    link.wait_for(state="visible")
    link.click()


def _direct_monthly_school_kwh() -> dict[str, str]:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (date DATE, building VARCHAR, category VARCHAR, "
                    "area_m2 INTEGER, kwh DOUBLE)")  # fmt: skip
        rows = [line.split(",") for line in energy_csv().decode().strip().split("\n")[1:]]
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
        got = con.execute(
            "SELECT date_trunc('month', date), round(sum(kwh), 6) FROM t "
            "WHERE category = 'skole' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return {formatting.day(d, "nb"): formatting.num(round(v, 3), locale="nb") for d, v in got}


def test_the_living_lab_journey_in_the_browser(live_server: LiveServer, browser: Any) -> None:
    lab: Lab = live_server.with_session(build_lab)
    r = httpx.post(
        f"{live_server.url}/api/v1/datasets/{lab.dataset.slug}/versions",
        files={"file": ("energi.csv", energy_csv())},
        headers=lab.h["publisher"],
        timeout=30,
    )
    assert r.status_code == 201, r.text
    citizen = _as(browser, lab, "citizen")
    coord = _as(browser, lab, "coordinator")
    try:
        # a citizen finds the living lab in the main menu (folded on the phone) and submits an
        # idea from its front page
        citizen.goto(f"{live_server.url}/")
        _menu(citizen, "Levende laboratorium")
        citizen.wait_for_url("**/lab")
        _clean(citizen)
        citizen.get_by_role("link", name="Send inn en idé").first.click()
        citizen.wait_for_url("**/ideas/new")
        _clean(citizen)
        citizen.get_by_label("Tittel").fill("Energistyring i skolene – æøå")
        citizen.get_by_label("Problemet").fill("Skolene bruker mye strøm om natta og i feriene.")
        citizen.get_by_label("Forslaget ditt til løsning").fill(
            "Styre ventilasjon og lys etter timeplanen."
        )
        citizen.get_by_label("Innbygger", exact=True).check()
        citizen.get_by_label("Område").select_option("energy")
        citizen.get_by_label("Sted i Halden").select_option("os")
        citizen.get_by_label("Mål 7: Ren energi for alle").check()
        citizen.locator("#datasets summary").click()  # the catalog's datasets, as checkboxes
        citizen.locator(f"#dataset-{lab.dataset.slug}").check()
        citizen.get_by_role("button", name="Send inn idéen").click()
        citizen.wait_for_url("**/ideas/*?submitted=1")
        assert "Sendt inn" in citizen.content() and "Energi" in citizen.content()
        _clean(citizen)
        idea_url = citizen.url.split("?")[0]

        # a neighbour supports it
        neighbour = _as(browser, lab, "supporter0")
        neighbour.goto(idea_url)
        neighbour.get_by_role("button", name="Støtt denne idéen").click()
        neighbour.wait_for_url(idea_url + "#support")
        assert "Du støtter denne idéen" in neighbour.content()
        neighbour.context.close()

        # the coordinator screens it and asks an evaluator
        coord.goto(idea_url)
        coord.get_by_role("button", name="Start vurderingen").click()
        coord.wait_for_url(idea_url + "#review")
        _clean(coord)
        coord.get_by_label("Nei", exact=True).check()
        coord.get_by_label(lab.evaluators[0].display_name).check()
        coord.get_by_role("button", name="Send til evaluering").click()
        coord.wait_for_url(idea_url + "#review")
        assert "Til evaluering" in coord.content()

        # the evaluator scores it
        evaluator = _as(browser, lab, "evaluator0")
        evaluator.goto(idea_url + "/evaluate")
        _clean(evaluator)
        for criterion, score in (("impact", 5), ("feasibility", 4), ("sustainability", 4),
                                 ("citizen_involvement", 3), ("data_availability", 5),
                                 ("privacy_risk", 5)):  # fmt: skip
            evaluator.locator(f"#score-{criterion}-{score}").check()
        evaluator.get_by_label("Samlet kommentar").fill("Godt begrunnet.")
        evaluator.get_by_role("button", name="Lagre poengene mine").click()
        evaluator.wait_for_url("**/evaluate?saved=1")
        assert "Poengene dine er lagret" in evaluator.content()
        evaluator.context.close()

        # the coordinator accepts with a published answer, and starts a pilot
        coord.goto(idea_url)
        coord.get_by_label("Godta", exact=True).check()
        coord.get_by_label("Svar til innsenderen", exact=False).fill(
            "Vi prøver det ut på fem skoler."
        )
        coord.get_by_role("button", name="Publiser avgjørelsen").click()
        coord.wait_for_url(idea_url + "#answer")
        assert "Vi prøver det ut på fem skoler." in coord.content()
        _clean(coord)
        coord.get_by_role("link", name="Start en pilot fra denne idéen").click()
        coord.wait_for_url("**/pilots/new?idea=*")
        _clean(coord)
        coord.get_by_role("button", name="Start piloten").click()
        coord.wait_for_url("**/pilots/*")
        pilot_url = coord.url
        _clean(coord)

        # the submitter leads it: asks for data through the marketplace …
        citizen.goto(pilot_url)
        citizen.get_by_role("link", name="Be om data til piloten").click()
        citizen.wait_for_url("**/data-requests/new")
        _clean(citizen)
        citizen.get_by_role("button", name="Send forespørselen").click()
        citizen.wait_for_url(pilot_url + "#data")
        assert "Venter på dataeieren" in citizen.content()
        steward = _as(browser, lab, "steward")
        link = citizen.locator("#data a[href^='/market/requests/']").get_attribute("href")
        steward.goto(live_server.url + link)
        steward.get_by_role("link", name="Godkjenn …").click()  # approving is confirmed
        steward.wait_for_url("**/approve")
        steward.get_by_role("button", name="Bekreft godkjenningen").click()
        steward.wait_for_url("**/market/agreements/*")
        steward.context.close()
        citizen.goto(pilot_url)
        assert "Gjelder" in citizen.locator("#data").inner_text()

        # … and adds a KPI computed from the dataset through the gate
        citizen.get_by_role("link", name="Legg til en KPI").click()
        _clean(citizen)
        citizen.get_by_label("Navn", exact=True).fill("Strøm i skolene")
        citizen.get_by_label("Enhet", exact=False).fill("kWh")
        citizen.get_by_label("Lavere er bedre").check()
        citizen.get_by_label("Beregnet fra et datasett").check()
        citizen.get_by_label("Datasett (kortnavnet", exact=False).fill(lab.dataset.slug)
        citizen.locator("#query").fill(QUERY)
        citizen.get_by_role("button", name="Legg til KPI-en").click()
        citizen.wait_for_url("**/kpis/*")
        _clean(citizen)
        table = citizen.locator("#values table").inner_text()
        for month, value in _direct_monthly_school_kwh().items():
            assert month in table and value in table, (month, value)

        # the final evaluation, by the coordinator
        coord.goto(pilot_url)
        coord.get_by_label("Skaler opp").check()
        coord.locator("#final #summary").fill("Strømforbruket gikk ned; vi skalerer.")
        coord.get_by_role("button", name="Publiser sluttevalueringen").click()
        coord.wait_for_url(pilot_url + "#result")
        assert "Skaler opp" in coord.locator("#result").inner_text()
        _clean(coord)

        # the same pages in English; the menu names the living lab in English too
        path = pilot_url.removeprefix(live_server.url)
        coord.goto(f"{live_server.url}/lang/en?next={path}")
        assert coord.locator("html").get_attribute("lang") == "en"
        menu_link = coord.locator('#main-menu a[href="/lab"]').first  # folded on the phone
        assert menu_link.text_content() == "Living lab"
        assert "Scale up" in coord.locator("#result").inner_text()
        assert "In force" in coord.locator("#data").inner_text()
        _clean(coord)
        coord.goto(citizen.url)  # the KPI page
        assert "Lower is better" in coord.content()
        _clean(coord)
        coord.goto(idea_url)
        assert "Affordable and clean energy" in coord.content() and "Accepted" in coord.content()
        _clean(coord)
    finally:
        citizen.context.close()
        coord.context.close()


@pytest.mark.parametrize("path", ["/lab", "/ideas", "/pilots", "/portfolio", "/calls"])
def test_living_lab_pages_in_english_on_a_phone(
    live_server: LiveServer, browser: Any, path: str
) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/lang/en?next={path}")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").count() == 1
        _clean(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_an_idea_and_a_pilot_in_english_on_a_phone(live_server: LiveServer, browser: Any) -> None:
    lab: Lab = live_server.with_session(build_lab)
    h = lab.h["citizen"]
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        from tests.pilots.conftest import idea_body

        idea = api.post("/api/v1/ideas", json=idea_body(), headers=h).json()
    page = _as(browser, lab, "coordinator", "en-GB")
    page.set_viewport_size({"width": 360, "height": 740})
    try:
        page.goto(f"{live_server.url}/lang/en?next=/ideas/{idea['id']}")
        assert "Affordable and clean energy" in page.content()
        _clean(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        page.context.close()
