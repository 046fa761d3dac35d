"""The marketplace in a real browser: a consumer requests, a steward counters and approves.

Sign-in pages are built elsewhere; here the browser authenticates with an API token sent as
an ``Authorization`` header on every request of its context (forms still carry CSRF tokens).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.catalog.models import (
    AccessRights,
    Classification,
    Dataset,
    DatasetStatus,
    SchemaField,
)
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.market import service
from datatorg.market.metering import today as utc_today
from datatorg.market.schemas import OfferCreate
from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser


def _setup(session: Session) -> dict[str, Any]:
    n = uuid.uuid4().hex[:8]
    city = identity.create_organisation(
        session=session, slug=f"by-{n}", name="Halden kommune", kind=OrgKind.public_sector
    )
    school = identity.create_organisation(
        session=session, slug=f"hs-{n}", name="Høgskolen i Østfold", kind=OrgKind.education
    )
    publisher = identity.create_user(
        session=session, email=f"p{n}@example.no", display_name="P", password=None
    )
    steward = identity.create_user(
        session=session, email=f"s{n}@example.no", display_name="S", password=None
    )
    consumer = identity.create_user(
        session=session, email=f"c{n}@example.no", display_name="C", password=None
    )
    identity.add_membership(session=session, user=publisher, organisation=city, role=Role.publisher)
    identity.add_membership(session=session, user=steward, organisation=city, role=Role.steward)
    identity.add_membership(session=session, user=consumer, organisation=school, role=Role.consumer)
    ds = Dataset(
        slug=f"energi-{n}",
        title_nb="Energibruk i kommunale bygg",
        publisher_id=city.id,
        access_rights=AccessRights.restricted,
        classification=Classification.restricted,
        status=DatasetStatus.published,
        fields=[SchemaField(name=c, position=i) for i, c in enumerate(["bygg", "maaned", "kwh"])],
    )
    session.add(ds)
    session.flush()
    offer = service.create_offer(
        session=session,
        actor=identity.actor_for_user(session=session, user=publisher),
        data=OfferCreate(
            dataset=ds.slug,
            title="Forskning",
            purposes=["AcademicResearch", "ScientificResearch"],
            consumer_kinds=["education"],
            columns=["bygg", "maaned", "kwh"],
            calls_per_day=10,
        ),
    )
    tokens = {}
    for name, user in (("consumer", consumer), ("steward", steward), ("publisher", publisher)):
        plain, _ = identity.create_token(session=session, user=user, name="browser")
        tokens[name] = plain
    return {"offer_id": str(offer.id), "slug": ds.slug, **tokens}


def _context(browser: Any, token: str) -> Any:
    return browser.new_context(
        locale="nb-NO", extra_http_headers={"Authorization": f"Bearer {token}"}
    )


def test_request_and_steward_decision_in_the_browser(live_server: LiveServer, browser: Any) -> None:
    data = live_server.with_session(_setup)
    consumer = _context(browser, data["consumer"])
    steward = _context(browser, data["steward"])
    try:
        page = consumer.new_page()
        page.goto(f"{live_server.url}/market/offers/{data['offer_id']}")
        assert axe_violations(page) == []
        page.get_by_label("Akademisk forskning").check()  # nothing is chosen for the person
        page.get_by_label("Hva skal du bruke dataene til?").fill(
            "Bacheloroppgave om energibruk i skolebygg, med æøå."
        )
        page.get_by_label("Siste dag", exact=True).fill(
            (utc_today() + timedelta(days=60)).isoformat()
        )
        page.get_by_role("button", name="Send forespørsel").click()
        page.wait_for_url("**/market/requests/*")
        assert "Forespørselen din er sendt" in page.content()
        assert "Sendt – venter på svar" in page.content()
        assert axe_violations(page) == []
        request_url = page.url.split("?")[0]

        desk = steward.new_page()
        desk.goto(f"{live_server.url}/market/queue")
        assert axe_violations(desk) == []
        desk.locator(f"a[href='{request_url.removeprefix(live_server.url)}']").click()
        desk.wait_for_url(request_url)
        assert axe_violations(desk) == []
        desk.locator("#counter-maaned").uncheck()
        desk.get_by_label("Melding til mottakeren").fill("Vi tilbyr uten måned.")
        desk.get_by_role("button", name="Send motbud").click()
        desk.wait_for_url(request_url + "?done=countered")
        assert "Motbud – venter på deg" in desk.content()

        page.goto(request_url)
        page.get_by_role("button", name="Godta motbudet").click()
        page.wait_for_url("**/market/agreements/*")
        terms = page.locator("dl.terms").inner_text()
        assert "bygg" in terms and "kwh" in terms and "maaned" not in terms
        assert axe_violations(page) == []
        agreement_url = page.url.split("?")[0]
        page.get_by_role("button", name="Lag nøkkel").click()
        assert page.locator("code.token").inner_text().startswith("dtg_")

        desk.goto(agreement_url)
        desk.locator("#reason-revoke").fill("Avsluttet etter revisjon.")
        desk.get_by_role("button", name="Trekk tilbake").click()
        desk.wait_for_url(agreement_url)
        assert "Trukket tilbake av tilbyderen" in desk.content()

        public = browser.new_context(locale="nb-NO").new_page()
        public.goto(f"{live_server.url}/register")
        assert "Høgskolen i Østfold" in public.content()
        assert axe_violations(public) == []
        public.context.close()
    finally:
        consumer.close()
        steward.close()


@pytest.mark.parametrize("path", ["/register", "/market/offers"])
def test_public_market_pages_are_axe_clean_in_english(
    live_server: LiveServer, page: Any, path: str
) -> None:
    page.goto(f"{live_server.url}/lang/en?next={path}")
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []


def test_offer_form_is_axe_clean_and_works(live_server: LiveServer, browser: Any) -> None:
    data = live_server.with_session(_setup)
    context = _context(browser, data["publisher"])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/market/offers/new")
        assert axe_violations(page) == []
        page.select_option("#dataset-choice", data["slug"])
        page.get_by_role("button", name="Velg dette datasettet").click()  # the schema's columns
        page.wait_for_url("**/market/offers/new?dataset=*")
        assert axe_violations(page) == []
        page.get_by_label("Tittel på tilbudet").fill("Åpen for studenter")
        page.get_by_label("Akademisk forskning").check()
        page.get_by_label("Utdanning").check()
        page.get_by_label("Bare kolonnene som er krysset av her:").check()
        page.locator("#col-kwh").check()
        page.get_by_role("button", name="Publiser tilbudet").click()
        page.wait_for_url("**/market/offers/*?published=1")
        assert "Tilbudet er publisert" in page.content()
        assert page.locator("p.lead").inner_text().endswith("Åpen for studenter")
    finally:
        context.close()


def _chart_text_px(page: Any) -> list[float]:
    """The size on screen of every label of the charts the page shows (its font size times
    the drawing's scale)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('svg.chart')]
                .filter(svg => svg.getBoundingClientRect().width > 0)
                .flatMap(svg => [...svg.querySelectorAll('text')].map(
                    t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"""
        )
    )


@pytest.mark.parametrize("width", [360, 660, 1280])
def test_register_chart_labels_are_readable_at_every_width(
    live_server: LiveServer, page: Any, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/register")
    sizes = _chart_text_px(page)
    assert sizes, "the register shows its chart"
    assert min(sizes) >= 12, sizes
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("svg.chart:visible").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
