"""Citizen and steward flows of the privacy domain in Chromium, checked with axe-core, in
bokmål and English, also 360 px wide. The browser authenticates with API tokens sent as an
Authorization header (forms still carry CSRF tokens)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind
from tests.live import LiveServer, axe_violations

pytestmark = pytest.mark.browser


def _setup(session: Session, settings: Any) -> dict[str, str]:
    n = uuid.uuid4().hex[:8]
    org = identity.create_organisation(
        session=session, slug=f"halden-{n}", name="Halden kommune", kind=OrgKind.public_sector
    )
    ds = Dataset(
        slug=f"strom-{n}",
        title_nb="Smartmålere i husholdninger",
        title_en="Household smart meters",
        publisher_id=org.id,
        access_rights=AccessRights.non_public,
        classification=Classification.personal,
        has_personal_data=True,
        status=DatasetStatus.published,
    )
    session.add(ds)
    session.flush()
    privacy.declare_dataset(
        session=session,
        actor=None,
        dataset=ds,
        subject_column="meter_id",
        identity_kind=IdentityKind.meter_number,
        legal_basis="Consent",
        categories=["ObservedPersonalData"],
    )
    meter = f"M-{n}"
    folder = Path(lake.new_staging(settings))
    (folder / "s.csv").write_text(
        "meter_id,reading_time,kwh\n"
        + "".join(
            f"{m},2025-01-01T0{h}:00:00,{h}.5\n" for h in range(3) for m in (meter, f"X-{n}")
        ),
        encoding="utf-8",
    )
    lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=folder / "s.csv",
        filename="s.csv",
        mode=WriteMode.replace,
        uploaded_by=None,
    )
    person = identity.create_user(
        session=session,
        email=f"ola.nordmann.kommunalteknisk.forvaltning-{n}@example.no",
        display_name="Ola",
        password=None,
    )
    steward = identity.create_user(
        session=session, email=f"siri-{n}@example.no", display_name="Siri", password=None
    )
    identity.add_membership(session=session, user=steward, organisation=org, role=Role.steward)
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value=meter
    )
    assert subject is not None
    subject.user_id = person.id
    tokens = {}
    for name, user in (("person", person), ("steward", steward)):
        plain, _ = identity.create_token(session=session, user=user, name="browser")
        tokens[name] = plain
    return {**tokens, "title": ds.title_nb}


def _context(browser: Any, token: str, locale: str = "nb-NO") -> Any:
    return browser.new_context(
        locale=locale, extra_http_headers={"Authorization": f"Bearer {token}"}
    )


def test_consents_my_data_and_a_request_in_the_browser(
    live_server: LiveServer, browser: Any
) -> None:
    data = live_server.with_session(lambda s: _setup(s, live_server.settings))
    person = _context(browser, data["person"])
    desk = _context(browser, data["steward"])
    try:
        page = person.new_page()
        page.goto(f"{live_server.url}/my/consents")
        assert axe_violations(page) == []
        page.get_by_role("button", name="Vitenskapelig forskning").click()  # the purpose label
        page.wait_for_url("**/my/consents?done=given")
        assert page.get_by_text("Samtykket ditt er registrert.").is_visible()
        assert axe_violations(page) == []
        page.get_by_role("button", name="Trekk tilbake samtykket").first.click()
        page.wait_for_url("**/my/consents?done=withdrawn")
        assert "Samtykke trukket tilbake" in page.content()

        page.goto(f"{live_server.url}/my/data")
        assert data["title"] in page.content() and "Målernummer" in page.content()
        assert axe_violations(page) == []

        page.goto(f"{live_server.url}/my/requests")
        assert axe_violations(page) == []
        page.get_by_label("Begrensning av behandlingen").check()
        page.get_by_label("Melding (valgfritt)").fill(
            "Stopp bruken av strømdataene mine, takk (æøå)."
        )
        page.get_by_role("button", name="Send forespørsel").click()
        page.wait_for_url("**/my/requests/*")
        request_url = page.url.split("?")[0]
        assert "Mottatt, identiteten skal kontrolleres" in page.content()
        assert axe_violations(page) == []

        steward = desk.new_page()
        steward.goto(f"{live_server.url}/privacy/requests")
        assert axe_violations(steward) == []
        rid = request_url.rsplit("/", 1)[1]
        steward.locator(f"a[href='/privacy/requests/{rid}']").click()
        steward.wait_for_url(f"**/privacy/requests/{rid}")
        assert axe_violations(steward) == []
        steward.get_by_label("Hvordan ble identiteten kontrollert?").fill("BankID")
        steward.get_by_role("button", name="Identiteten er kontrollert").click()
        steward.get_by_role("button", name="Gjennomfør og fullfør").click()
        steward.wait_for_url(f"**/privacy/requests/{rid}")
        assert "Avsluttet" in steward.content()
        page.goto(f"{live_server.url}/my/data")
        assert "Behandlingen av dataene dine er begrenset" in page.content()
    finally:
        person.close()
        desk.close()


def test_english_and_360_px(live_server: LiveServer, browser: Any) -> None:
    data = live_server.with_session(lambda s: _setup(s, live_server.settings))
    ctx = _context(browser, data["person"], locale="en-GB")
    try:
        page = ctx.new_page()
        page.goto(f"{live_server.url}/lang/en?next=/my/consents")
        assert "Purposes you can consent to" in page.content()
        assert axe_violations(page) == []
        for path in ("/my/consents", "/my/data", "/my/requests", "/my/donations"):
            page.set_viewport_size({"width": 360, "height": 740})
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
            assert axe_violations(page) == [], path
        page.goto(f"{live_server.url}/my/donations")
        page.get_by_label("Trip log", exact=True).check()
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "trips.csv",
                    "mimeType": "text/csv",
                    "buffer": b"start,end,mode,km\n2025-03-01T08:00,2025-03-01T08:30,bike,6\n",
                }
            ],
        )
        page.get_by_role("button", name="Donate").click()
        page.wait_for_url("**/my/donations?done=given")
        assert "Thank you. Your data is donated." in page.content()
        assert axe_violations(page) == []
    finally:
        ctx.close()
