"""Every role's journey through the Halden demo world, in Chromium, from the front page and
without typing an address: in bokmål and English, at 1280 and 360 px. Every step is
axe-clean (serious and critical), has no sideways scrolling, shows (in bokmål) no code or
English from the label registry, and leaves a screenshot under test-results/journeys/.

Every journey starts at the front page and follows links and forms only. One live server
with the small demo world serves the whole module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from datatorg.demo import world
from tests.browser.journey import Journey, context
from tests.live import LiveServer

pytestmark = pytest.mark.browser

VARIANTS = [("nb", 1280), ("nb", 360), ("en", 1280), ("en", 360)]
WORDS = {
    "nb": {
        "see data": "Se data",
        "ask": "Be om tilgang",
        "sign in to ask": "Logg inn for å be om tilgang",
        "what for": "Hva skal du bruke dataene til?",
        "send": "Send forespørsel",
        "sent": "Forespørselen din er sendt.",
        "my requests": "Mine forespørsler",
        "to decide": "Forespørsler til behandling",
        "approve": "Godkjenn …",
        "confirm": "Bekreft godkjenningen",
        "approved": "Godkjent.",
        "inbox": "Innboks",
        "see the data": "Se dataene",
        "create key": "Lag nøkkel",
        "my datasets": "Mine datasett",
        "upload": "Last opp data",
        "upload and check": "Last opp og kontroller",
        "publish": "Publiser som ny versjon",
        "published": "er publisert",
        "new column": "Ny kolonne",
        "register": "Offentlig register",
        "search register": "Søk i registeret",
        "search": "Søk",
        "search datasets": "Søk i datasett",
        "download csv": "Last ned CSV",
        "which agreement": "Hvilken avtale leser du etter?",
        "academic": "Akademisk forskning",
        "covers": "Den gjelder disse kolonnene:",
        "other language": "English",
        "sign in": "Logg inn",
    },
    "en": {
        "see data": "See data",
        "ask": "Ask for access",
        "sign in to ask": "Sign in to ask for access",
        "what for": "What will you use the data for?",
        "send": "Send request",
        "sent": "Your request is sent.",
        "my requests": "My requests",
        "to decide": "Requests to decide",
        "approve": "Approve…",
        "confirm": "Confirm the approval",
        "approved": "Approved.",
        "inbox": "Inbox",
        "see the data": "See the data",
        "create key": "Create key",
        "my datasets": "My datasets",
        "upload": "Upload data",
        "upload and check": "Upload and check",
        "publish": "Publish as a new version",
        "published": "is published",
        "new column": "New column",
        "register": "Public register",
        "search register": "Search the register",
        "search": "Search",
        "search datasets": "Search datasets",
        "download csv": "Download CSV",
        "which agreement": "Which agreement do you read under?",
        "academic": "Academic Research",
        "covers": "It covers these columns:",
        "other language": "Norsk",
        "sign in": "Sign in",
    },
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server with the small Halden demo world for every journey of this module."""
    from tests.conftest import TEST_SECRET

    server = LiveServer(tmp_path_factory.mktemp("journeys"), TEST_SECRET)
    server.start()
    server.with_session(lambda s: world.load(session=s, settings=server.settings, small=True))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_citizen_finds_previews_charts_and_downloads_open_data(
    site: LiveServer, browser: Any, lang: str, width: int
) -> None:
    w = WORDS[lang]
    ctx = context(browser, lang, width)
    try:
        j = Journey(ctx.new_page(), site.url, "citizen", lang, width)
        page = j.page
        j.go("/")
        j.step("front page")
        page.locator(".theme-grid a[href='/datasets?theme=ENVI']").click()
        assert "theme=ENVI" in page.url
        j.step("environment datasets")
        page.get_by_label(w["search datasets"]).fill("luftkvalitet")
        page.get_by_role("button", name=w["search"], exact=True).click()
        page.locator("a[href='/datasets/luftkvalitet-halden']").first.click()
        j.step("dataset page")
        page.get_by_role("link", name=w["see data"], exact=True).click()
        assert page.url.endswith("/datasets/luftkvalitet-halden/data")
        assert page.locator(".data-table").count() >= 2
        shown = "svg.chart-narrow" if width < 640 else "svg.chart-wide"
        assert page.locator(shown).first.is_visible()
        j.step("data page with preview, statistics and charts")
        page.locator("#chart-y").select_option("pm10")
        page.locator(".chart-choice button").click()
        assert "y=pm10" in page.url
        j.step("another value charted")
        # switching language keeps the page and its query
        before = page.url
        page.get_by_role("link", name=w["other language"]).click()
        assert page.url == before
        page.get_by_role("link", name="Norsk" if lang == "nb" else "English").click()
        assert page.url == before
        with page.expect_download() as download:
            page.get_by_role("link", name=w["download csv"]).first.click()
        path = download.value.path()
        assert path is not None
        header = Path(path).read_text(encoding="utf-8").splitlines()[0]
        assert "stationName" in header and "no2" in header
    finally:
        ctx.close()


# The research journey: a consumer asks for a restricted dataset, a steward approves, the
# consumer reads exactly what the agreement allows and makes a key. Each variant asks for a
# dataset of its own, so no variant meets another's agreement.
RESEARCH = {
    ("nb", 1280): ("consumer@demo.datatorg.no", "legevakt-henvendelser", "legevakten"),
    ("nb", 360): ("consumer@demo.datatorg.no", "brannvesen-utrykninger", "brannvesenets"),
    ("en", 1280): ("forsker@ife.demo.datatorg.no", "legevakt-henvendelser", "legevakten"),
    ("en", 360): ("forsker@ife.demo.datatorg.no", "brannvesen-utrykninger", "brannvesenets"),
}


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_research_journey_request_approve_read_and_key(
    site: LiveServer, browser: Any, lang: str, width: int
) -> None:
    w = WORDS[lang]
    email, slug, word = RESEARCH[(lang, width)]
    who, desk = context(browser, lang, width), context(browser, lang, width)
    try:
        j = Journey(who.new_page(), site.url, "research-consumer", lang, width)
        page = j.page
        j.go("/")
        page.get_by_label(w["search datasets"]).fill(word)
        page.get_by_role("button", name=w["search"], exact=True).click()
        page.locator(f"a[href='/datasets/{slug}']").first.click()
        j.step("restricted dataset page")
        page.get_by_role("link", name=w["ask"]).first.click()
        j.step("offer page, signed out")
        page.get_by_role("link", name=w["sign in to ask"]).click()
        j.step("sign in")
        j.sign_in(email)
        assert "/market/offers/" in page.url  # back where the person was
        j.step("request form")
        page.locator("#purpose input[type=radio]").first.check()  # none is chosen beforehand
        page.get_by_label(w["what for"]).fill("Masteroppgave om pågang og responstid i Halden.")
        boxes = page.locator("#columns input[type=checkbox]")
        offered = boxes.count()
        dropped = boxes.nth(1).get_attribute("value")
        boxes.nth(1).uncheck()
        page.get_by_role("button", name=w["send"]).click()
        assert w["sent"] in page.content()
        j.step("request sent")
        j.menu(w["my requests"])
        assert page.locator("a[href^='/market/requests/']").count() >= 1
        j.step("my requests")

        s = Journey(desk.new_page(), site.url, "research-steward", lang, width)
        s.go("/")
        s.menu(w["sign in"])
        s.sign_in("steward@demo.datatorg.no")
        s.menu(w["to decide"])
        s.step("request queue")
        s.page.locator(
            "a[href^='/market/requests/']", has_text=_title(site, slug, lang)
        ).first.click()
        body = s.page.content()
        assert "pågang og responstid" in body and "risk-facts" in body
        s.step("the request with who, what, why and the risks")
        s.page.get_by_role("link", name=w["approve"]).click()
        s.step("confirm the approval")
        s.page.get_by_role("button", name=w["confirm"]).click()
        assert w["approved"] in s.page.content()
        s.step("agreement made")

        j.menu(w["inbox"])
        j.step("inbox")
        page.locator("a[href^='/market/agreements/']").first.click()
        j.step("agreement page")
        page.get_by_role("link", name=w["see the data"]).click()
        assert w["covers"] in page.content()
        # exactly the agreed columns: the offered ones but the one taken away
        assert page.locator(".data-table").first.locator("thead th").count() == offered - 1
        j.step("the data the agreement allows")
        page.go_back()
        page.get_by_role("button", name=w["create key"]).click()
        key = page.locator("#new-key").inner_text()
        assert key.startswith("dtg_") and page.locator("button[data-copy='new-key']").is_visible()
        example = page.locator("#curl-example").inner_text()
        assert key in example and "curl" in example
        j.step("a key shown once, with examples")
        url = example.split('"')[-2]
        rows = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert rows.status_code == 200, rows.text
        assert dropped not in rows.json()["columns"] and rows.json()["rows"]
    finally:
        who.close()
        desk.close()


def _title(site: LiveServer, slug: str, lang: str) -> str:
    from sqlalchemy import select

    from datatorg.catalog.models import Dataset

    def find(session: Any) -> str:
        ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
        return str(ds.title_en if lang == "en" and ds.title_en else ds.title_nb)

    return str(site.with_session(find))


PUBLISHED = {
    ("nb", 1280): "kommunale-eiendommer",
    ("nb", 360): "idrettsanlegg",
    ("en", 1280): "ladestasjoner",
    ("en", 360): "reguleringsplaner",
}


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_publisher_uploads_reviews_and_publishes(
    site: LiveServer, browser: Any, lang: str, width: int, tmp_path: Path
) -> None:
    w = WORDS[lang]
    slug = PUBLISHED[(lang, width)]
    current = httpx.get(f"{site.url}/api/v1/datasets/{slug}/download.csv", timeout=30).text
    rows = list(csv.reader(io.StringIO(current)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*rows[0], "merknad"])
    for row in rows[1:]:
        writer.writerow([*row, "kontrollert 2026"])
    file = tmp_path / f"{slug}.csv"
    file.write_text(out.getvalue(), encoding="utf-8")
    ctx = context(browser, lang, width)
    try:
        j = Journey(ctx.new_page(), site.url, "publisher", lang, width)
        page = j.page
        j.go("/")
        j.menu(w["sign in"])
        j.sign_in("publisher@demo.datatorg.no")
        j.menu(w["my datasets"])
        j.step("my datasets")
        page.locator(f"a[href='/datasets/{slug}/upload']").first.click()
        j.step("upload form")
        page.set_input_files("#file", str(file))
        page.get_by_role("button", name=w["upload and check"]).click()
        page.wait_for_url("**/uploads/*")
        body = page.content()
        assert w["new column"] in body and "kontrollert 2026" in body  # changes and sample rows
        j.step("review: sample rows and what changes")
        page.get_by_role("button", name=w["publish"]).click()
        page.wait_for_url("**/data?published=*")
        assert w["published"] in page.content()
        j.step("published")
    finally:
        ctx.close()


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_anyone_searches_the_register_by_norwegian_names(
    site: LiveServer, browser: Any, lang: str, width: int
) -> None:
    w = WORDS[lang]
    ctx = context(browser, lang, width)
    try:
        j = Journey(ctx.new_page(), site.url, "register", lang, width)
        j.go("/")
        j.menu(w["register"])
        j.step("public register")
        query = "høgskolen i østfold" if lang == "nb" else "HØGSKOLEN I ØSTFOLD"
        j.page.get_by_label(w["search register"]).fill(query)
        j.page.get_by_role("button", name=w["search"], exact=True).click()
        table = j.page.locator("main table").first.inner_text()
        assert "Høgskolen i Østfold" in table
        j.step("found by a Norwegian name in any letter case")
    finally:
        ctx.close()


@pytest.mark.parametrize(("lang", "width"), VARIANTS)
def test_a_consumer_with_several_agreements_picks_one(
    site: LiveServer, browser: Any, lang: str, width: int
) -> None:
    w = WORDS[lang]
    ctx = context(browser, lang, width)
    try:
        j = Journey(ctx.new_page(), site.url, "several-agreements", lang, width)
        page = j.page
        j.go("/")
        page.get_by_label(w["search datasets"]).fill("energibruk")
        page.get_by_role("button", name=w["search"], exact=True).click()
        page.locator("a[href='/datasets/energibruk-kommunale-bygg']").first.click()
        j.menu(w["sign in"])
        j.sign_in("consumer@demo.datatorg.no")
        assert page.url.endswith("/datasets/energibruk-kommunale-bygg")  # back where she was
        page.get_by_role("link", name=w["see data"], exact=True).click()
        assert w["which agreement"] in page.content()
        j.step("which agreement")
        page.get_by_role("link", name=w["academic"]).click()
        assert w["covers"] in page.content()
        assert page.locator(".data-table").first.locator("thead th").count() == 4
        j.step("reading under the chosen agreement")
    finally:
        ctx.close()
