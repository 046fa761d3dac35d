"""What a usability walk of the Halden demo (bokmål, 360 px, from the front page) found, held
as page tests: each fails on the page as it was before the fix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.market import service as market_service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Notification
from datatorg.privacy import service as privacy
from datatorg.privacy.models import IdentityKind
from datatorg.settings import Settings
from datatorg.web.csrf import CSRF_COOKIE
from tests.access.test_rows_api import _csv
from tests.factories import actor_of, make_org, make_token, make_user
from tests.lake.helpers import make_dataset, publisher, upload
from tests.market import conftest as market
from tests.plain import visible_text
from tests.privacy.helpers import citizen, meter_csv, personal_dataset, upload_csv
from tests.sensors.helpers import make_stream

NB = {"Accept-Language": "nb", "Accept": "text/html"}
ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def test_a_refused_sensor_stream_links_to_where_access_is_asked(
    client: TestClient, session: Session
) -> None:
    """The sensors overview lists restricted streams; a signed-in researcher without an
    agreement who opens one was told "ask on the dataset's page" with no way there."""
    stream = make_stream(session, devices=1, open_data=False)
    researcher = make_token(session, make_user(session))
    page = client.get(f"/sensors/{stream.slug}", headers={**NB, **researcher})
    assert page.status_code == 403
    assert f'href="/datasets/{stream.slug}"' in page.text and "Be om tilgang" in page.text
    # a refusal that is not about a missing agreement names no dataset page
    missing = client.get("/sensors/no-such-stream", headers={**NB, **researcher})
    assert missing.status_code == 404 and 'href="/datasets/no-such-stream"' not in missing.text


def test_a_steward_finds_the_requests_about_personal_data_in_the_menu(
    client: TestClient, session: Session
) -> None:
    """The queue of data subject requests was reachable only through single inbox entries."""
    org = make_org(session)
    steward = make_token(session, make_user(session, org=org, roles=(Role.steward,)))
    person = make_token(session, make_user(session))
    menu = client.get("/", headers={**NB, **steward}).text
    assert 'href="/privacy/requests"' in menu and "Henvendelser fra registrerte" in menu
    assert 'href="/privacy/requests"' not in client.get("/", headers={**NB, **person}).text


def test_an_evaluator_finds_their_desk_on_the_living_lab_page(
    client: TestClient, session: Session
) -> None:
    """Only coordinators had the link to the desk that lists the ideas to score."""
    org = make_org(session)
    evaluator = make_token(session, make_user(session, org=org, roles=(Role.evaluator,)))
    person = make_token(session, make_user(session))
    assert 'href="/lab/desk"' in client.get("/lab", headers={**NB, **evaluator}).text
    assert 'href="/lab/desk"' not in client.get("/lab", headers={**NB, **person}).text


def test_my_data_and_my_requests_write_times_the_readers_way(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """My data showed "2025-01-01T00:00:00" in the excerpt and the request pages
    "2026-12-01 03:05"; the rest of the site writes "1. jan. 2025 00:00"."""
    ds = personal_dataset(session, make_org(session))
    person = citizen(session)
    upload_csv(session, settings, ds, meter_csv(["M-WALK-1"], hours=2))
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value="M-WALK-1"
    )
    assert subject is not None
    subject.user_id = person.id
    auth = make_token(session, person)
    page = client.get("/my/data", headers={**NB, **auth})
    assert page.status_code == 200
    shown = visible_text(page.text.replace('translate="no"', ""))
    assert "1. jan. 2025 00:00" in shown and not ISO_MOMENT.search(shown)

    client.get("/my/requests", headers=auth)
    token = client.cookies.get("datatorg_csrf")
    sent = client.post(
        "/my/requests",
        headers=auth,
        data={"csrf_token": token, "type": "access"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    for path in (sent.headers["location"].split("?")[0], "/my/requests"):
        text = visible_text(client.get(path, headers={**NB, **auth}).text)
        assert not ISO_MOMENT.search(text), (path, ISO_MOMENT.findall(text))
        assert re.search(r"\d{1,2}\. \w+\.? \d{4} \d\d:\d\d", text), path


def test_the_table_beside_a_time_chart_names_its_days_the_readers_way(
    client: TestClient, session: Session
) -> None:
    """The chart itself said "1. jan. 2024", the table beside it "2024-01-01"."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, _csv().replace(b"=cmd", b"cmd")).status_code == 201
    html = client.get(f"/datasets/{ds.slug}/data", headers=NB).text
    table = html.split('<svg class="chart chart-narrow"')[1].split("</details>")[0]
    assert '<th scope="row">1. jan. 2024</th>' in table and "2024-01-01" not in table


def test_the_inbox_pages_back_to_the_oldest_message(client: TestClient, session: Session) -> None:
    """The inbox showed the newest 50 messages and no way to older ones: a steward, who gets a
    message for every request, lost sight of the rest."""
    user = make_user(session)
    auth = make_token(session, user)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(53):
        session.add(
            Notification(
                user_id=user.id,
                kind="request_created",
                subject=f"Melding {n:02d}",
                created_at=start + timedelta(minutes=n),
            )
        )
    session.flush()
    first = client.get("/market/inbox", headers={**NB, **auth}).text
    assert "Melding 52" in first and "Melding 02" not in first
    assert 'href="/market/inbox?page=2"' in first and "Eldre meldinger" in first
    second = client.get("/market/inbox?page=2", headers={**NB, **auth}).text
    assert "Melding 02" in second and "Melding 00" in second and "Melding 52" not in second
    assert 'href="/market/inbox"' in second and "Nyere meldinger" in second
    assert "?page=3" not in second
    assert client.get("/market/inbox?page=0", headers={**NB, **auth}).status_code == 422


def test_asking_twice_for_the_same_offer_says_so_in_bokmal(
    client: TestClient, session: Session
) -> None:
    """The second identical request answered "Noen andre har endret dette samtidig. Last siden
    på nytt og prøv igjen." — wrong, and retrying could never help."""
    provider = make_org(session)
    publisher_user = market.quick_user(session, provider, Role.publisher)
    offer = market_service.create_offer(
        session=session,
        actor=actor_of(session, publisher_user),
        data=market.offer_data(market.make_dataset(session, provider)),
    )
    consumer = make_token(session, market.quick_user(session, make_org(session), Role.consumer))
    client.get(f"/market/offers/{offer.id}", headers=consumer)
    today = utc_today()
    form = {
        "csrf_token": client.cookies[CSRF_COOKIE],
        "offer_id": str(offer.id),
        "purpose": "AcademicResearch",
        "description": "Masteroppgave om energibruk i skolebygg.",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=30)).isoformat(),
        "columns": ["building", "kwh"],
    }
    url = f"/market/offers/{offer.id}/request"
    first = client.post(url, data=form, headers={**NB, **consumer}, follow_redirects=False)
    assert first.status_code == 303
    again = client.post(url, data=form, headers={**NB, **consumer}, follow_redirects=False)
    assert again.status_code == 409
    text = visible_text(again.text)
    assert "Du har allerede bedt om dette tilbudet" in text and "Mine forespørsler" in text
    assert "Noen andre har endret dette samtidig" not in text


def test_the_inbox_counts_one_unread_message_in_the_singular_at_oslo_time(
    client: TestClient, session: Session
) -> None:
    """The inbox said "Innboks (1 uleste)" and wrote 22:54 UTC as if it were Halden's time."""
    user = make_user(session)
    auth = make_token(session, user)
    at = datetime(2026, 12, 1, 22, 54, tzinfo=UTC)
    session.add(Notification(user_id=user.id, kind="request_created", subject="En", created_at=at))
    session.flush()
    page = client.get("/market/inbox", headers={**NB, **auth}).text
    assert "(1 ulest)" in page and 'aria-label="1 ulest"' in page
    assert "1. des. 2026 23:54" in page and "22:54" not in page
    session.add(Notification(user_id=user.id, kind="request_created", subject="To", created_at=at))
    session.flush()
    assert "(2 uleste)" in client.get("/market/inbox", headers={**NB, **auth}).text


def test_a_form_error_for_a_question_has_no_full_stop_after_its_question_mark() -> None:
    """The request form listed "Fyll ut Hva skal du bruke dataene til?."."""
    from datatorg.web import forms
    from datatorg.web.i18n import locale_var

    reset = locale_var.set("nb")
    try:
        found = forms.explain(
            [{"loc": ("body", "purpose_text"), "type": "missing"}],
            {"purpose_text": "Hva skal du bruke dataene til?"},
        )
    finally:
        locale_var.reset(reset)
    assert [e.text for e in found] == ["Fyll ut Hva skal du bruke dataene til?"]


def test_my_data_groups_the_thousands_of_rows_about_me(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """My data said "Rader om deg 2160"; the rest of the site writes "2 160"."""
    ds = personal_dataset(session, make_org(session))
    person = citizen(session)
    upload_csv(session, settings, ds, meter_csv(["M-WALK-K"], hours=1001))
    subject = privacy.find_by_identity(
        session=session, settings=settings, kind=IdentityKind.meter_number, value="M-WALK-K"
    )
    assert subject is not None
    subject.user_id = person.id
    page = client.get("/my/data", headers={**NB, **make_token(session, person)}).text
    assert "<dd>1\xa0001</dd>" in page
