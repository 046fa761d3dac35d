"""What a usability walk of the privacy pages (bokmål, 360 px) found, held as page tests:
each fails on the page as it was before the fix."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.identity.models import Organisation
from datatorg.settings import Settings
from tests.factories import make_org, make_token
from tests.plain import visible_text
from tests.privacy.helpers import citizen, personal_dataset

NB = {"Accept-Language": "nb"}


def test_the_request_form_says_what_is_wrong_next_to_the_field(
    client: TestClient, session: Session
) -> None:
    """A request sent empty or wrong listed the problem only as plain text at the top."""
    personal_dataset(session, make_org(session))
    auth = {**NB, **make_token(session, citizen(session))}
    client.get("/my/requests", headers=auth)
    token = client.cookies.get("datatorg_csrf")
    bad = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "rectification"}
    )
    assert bad.status_code == 422
    select = re.search(r'<select id="dataset"[^>]*>', bad.text)
    assert select and 'aria-invalid="true"' in select.group(0)
    assert 'aria-describedby="dataset-error"' in select.group(0)
    assert re.search(r'<p class="field-error" id="dataset-error">Oppgi datasettet', bad.text)
    assert 'href="#dataset"' in bad.text  # the summary links to the field
    wrong = client.post(
        "/my/requests", headers=auth, data={"csrf_token": token, "type": "nonsense'--"}
    )
    assert wrong.status_code == 422
    assert '<fieldset id="type" aria-describedby="type-error">' in wrong.text
    assert '<p class="field-error" id="type-error">' in wrong.text


def test_my_data_says_how_rows_about_a_newcomer_would_be_found(
    client: TestClient, session: Session
) -> None:
    """A newcomer read only "Ingen datasett har rader om deg." with no word on how the
    platform would come to know which rows are theirs."""
    auth = {**NB, **make_token(session, citizen(session))}
    page = client.get("/my/data", headers=auth)
    assert page.status_code == 200 and "Ingen datasett har rader om deg." in page.text
    assert "Hvordan vi kjenner deg igjen" in page.text and "målernummer" in page.text
    assert "koblet til kontoen din" in page.text


def test_my_data_and_my_donations_name_columns_by_their_titles(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """/my/data headed a donation's rows "time" and "kwh", /my/donations offered "Strømmålinger
    per time (time, kwh)": field codes. The columns now have titles in the reader's language;
    the codes a donated file must use are only a hint, marked as code."""
    from datatorg.privacy import donations
    from datatorg.privacy import service as privacy

    if session.scalar(select(Organisation).where(Organisation.slug == "halden-kommune")) is None:
        make_org(session, slug="halden-kommune")  # the donation datasets' owner
    user = citizen(session)
    donor = privacy.subject_for_user(session=session, settings=settings, user=user)
    donations.donate(
        session=session,
        settings=settings,
        subject=donor,
        kind_name="meter",
        raw=b"time;kwh\n2025-01-01T00:00;0,5\n",
        filename="export.csv",
        purposes=["DataAltruism"],
    )
    auth = make_token(session, user)
    mine = client.get("/my/data", headers={**NB, **auth}).text
    head = mine.split("<thead>")[1].split("</thead>")[0]
    assert "Tidspunkt (starten av timen)" in head and "Strømforbruk" in head, head
    assert ">time<" not in head and ">kwh<" not in head
    english = client.get("/my/data", headers={"Accept-Language": "en", **auth}).text
    assert "Time (start of the hour)" in english.split("<thead>")[1].split("</thead>")[0]
    page = client.get("/my/donations", headers={**NB, **auth}).text
    assert "(time, kwh)" not in page
    assert '<label for="kind-meter">Strømmålinger per time</label>' in page
    assert (
        'Kolonner i filen: <code translate="no">time</code>, <code translate="no">kwh</code>'
        in page
    )


def test_a_purpose_has_one_name_on_every_citizen_page(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """The walk met one purpose as "Klima og energi" (the consent notice's title, on My
    consents and Donate data) and as "Bekjempe klimaendringer" (the DPV term's label, on My
    data and in the inbox): every citizen page now names it by the one purpose label."""
    from datatorg.privacy import consents, vocab
    from datatorg.privacy import service as privacy
    from datatorg.privacy.models import ScopeKind

    org = make_org(session)
    user = citizen(session)
    subject = privacy.subject_for_user(session=session, settings=settings, user=user)
    consents.ensure_notices(session=session)
    consents.give(
        session=session,
        subject=subject,
        purpose="CombatClimateChange",
        scope_kind=ScopeKind.provider,
        scope_ref=str(org.id),
        channel="web",
    )
    titles = {n.purpose: n.title_nb for n in consents.notices(session=session)}
    assert titles["CombatClimateChange"] == "Klima og energi"  # what the walk met
    auth = {**NB, **make_token(session, user)}
    pages = {
        p: client.get(p, headers=auth).text for p in ("/my/consents", "/my/donations", "/my/data")
    }
    name = "Bekjempe klimaendringer"
    assert re.search(rf'<h3 id="notice-CombatClimateChange">{name} <span', pages["/my/consents"])
    assert f'<label for="p-CombatClimateChange">{name}</label>' in pages["/my/donations"]
    assert f"<li>{name} — " in pages["/my/data"]
    for purpose, title in titles.items():
        label = vocab.purpose_label(purpose)
        for path, html in pages.items():
            if title != label:
                assert title not in visible_text(html), (path, title)
