"""What a new person sees when they look at an offer or a dataset and think of asking for it:
columns by their titles, no purpose chosen for them, the licence by its name, and, for a
person in no organisation, that they cannot ask (and what to do) before they try."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role, User
from datatorg.market import service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest
from datatorg.web.csrf import CSRF_COOKIE
from tests.factories import actor_of, make_token
from tests.lake.helpers import upload
from tests.market.conftest import World, offer_data, quick_user


def _csrf(client: TestClient) -> str:
    client.get("/register")
    return client.cookies[CSRF_COOKIE]


def _english(client: TestClient) -> None:
    client.get("/lang/en?next=/")


def test_columns_are_shown_by_title_and_unit_not_by_code(
    client: TestClient, session: Session, world: World
) -> None:
    kwh = next(f for f in world.dataset.fields if f.name == "kwh")
    kwh.title, kwh.unit = "Energibruk", "kWh"
    session.flush()
    page = client.get(
        f"/market/offers/{world.offer.id}", headers=make_token(session, world.consumer)
    )
    label = re.search(r'<label for="col-kwh">(.*?)</label>', page.text, re.S)
    assert label is not None and label.group(1) == "Energibruk (kWh)"
    assert '<code translate="no">kwh</code>' not in page.text  # neither in the form nor the terms
    # a column without a title has only its name to show
    assert re.search(r'<label for="col-month"><code translate="no">month</code></label>', page.text)


def test_no_purpose_is_chosen_until_the_person_chooses(
    client: TestClient, session: Session, world: World
) -> None:
    consumer = make_token(session, world.consumer)
    page = client.get(f"/market/offers/{world.offer.id}", headers=consumer)
    radios = re.findall(r'<input type="radio"[^>]*name="purpose"[^>]*>', page.text)
    assert len(radios) == 3 and not any("checked" in r for r in radios)


def test_a_request_without_a_purpose_comes_back_whole_with_the_error(
    client: TestClient, session: Session, world: World
) -> None:
    consumer = make_token(session, world.consumer)
    today = utc_today()
    form = {
        "csrf_token": _csrf(client),
        "offer_id": str(world.offer.id),
        "description": "Masteroppgave om energibruk i skolebygg — æøå.",
        "pilot_ref": "Pilot Øst",
        "period_start": (today + timedelta(days=2)).isoformat(),
        "period_end": (today + timedelta(days=40)).isoformat(),
        "columns": ["building", "kwh"],
    }
    url = f"/market/offers/{world.offer.id}/request"
    words = {"nb": "Velg et formål", "en": "Choose a purpose"}
    for lang in ("nb", "en"):
        if lang == "en":
            _english(client)
        r = client.post(url, data=form | {"purpose": ""}, headers=consumer)
        assert r.status_code == 422, r.text
        summary = r.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
        assert words[lang] in summary
        assert f'<p class="field-error" id="purpose-error">{words[lang]}' in r.text
        # nothing the person typed or chose is lost
        assert "Masteroppgave om energibruk i skolebygg — æøå.</textarea>" in r.text
        assert 'value="Pilot Øst"' in r.text
        assert f'value="{form["period_start"]}"' in r.text
        assert f'value="{form["period_end"]}"' in r.text
        checked = set(re.findall(r'name="columns" value="(\w+)" checked', r.text))
        assert checked == {"building", "kwh"}
    assert session.query(AccessRequest).count() == 0


def test_the_licence_is_named_and_linked(
    client: TestClient, session: Session, world: World
) -> None:
    page = client.get(f"/market/offers/{world.offer.id}")
    assert (
        '<a href="http://data.norge.no/nlod/no/2.0">Norsk lisens for offentlige data (NLOD) 2.0</a>'
        in page.text
    )
    assert ">https://data.norge.no/nlod/no/2.0<" not in page.text
    _english(client)
    page = client.get(f"/market/offers/{world.offer.id}")
    assert ">Norwegian Licence for Open Government Data (NLOD) 2.0</a>" in page.text


def test_an_offer_without_a_licence_of_its_own_names_the_datasets(
    client: TestClient, session: Session, world: World
) -> None:
    world.dataset.license = "CC-BY-4.0"
    session.flush()
    offer = service.create_offer(
        session=session,
        actor=actor_of(session, world.publisher),
        data=offer_data(world.dataset, title="Med datasettets lisens", licence=""),
    )
    page = client.get(f"/market/offers/{offer.id}")
    assert ">Creative Commons Navngivelse 4.0</a>" in page.text
    assert 'href="CC-BY-4.0"' not in page.text


def test_an_unknown_licence_address_is_shown_as_it_is(
    client: TestClient, session: Session, world: World
) -> None:
    offer = service.create_offer(
        session=session,
        actor=actor_of(session, world.publisher),
        data=offer_data(
            world.dataset, title="Egne vilkår", licence="https://halden.kommune.no/vilkar"
        ),
    )
    page = client.get(f"/market/offers/{offer.id}")
    assert (
        '<a href="https://halden.kommune.no/vilkar" class="wrap-anywhere">'
        "https://halden.kommune.no/vilkar</a>" in page.text
    )


def _with_contents(client: TestClient, session: Session, world: World) -> None:
    csv = b"building,month,kwh,area\nRaadhuset,2026-01,1250.5,900\n"
    r = upload(client, world.dataset, make_token(session, world.publisher), csv)
    assert r.status_code in (200, 201), r.text


def _dataset_page(client: TestClient, session: Session, world: World, user: User) -> str:
    r = client.get(f"/datasets/{world.dataset.slug}", headers=make_token(session, user))
    assert r.status_code == 200
    return r.text.split('id="use-h"', 1)[1].split("</section>", 1)[0]


def test_a_person_in_no_organisation_learns_on_the_dataset_page_that_they_cannot_ask(
    client: TestClient, session: Session, world: World
) -> None:
    world.offer.consumer_kinds = ["research", "education"]  # organisations only
    session.flush()
    _with_contents(client, session, world)
    loner = quick_user(session)
    part = _dataset_page(client, session, world, loner)
    assert "/market/offers/" not in part or "#request" not in part  # no way into a dead end
    assert "Be om tilgang" not in part
    assert "Du er ikke med i noen organisasjon" in part
    assert 'href="/account"' in part and 'href="/organisations"' in part
    _english(client)
    part = _dataset_page(client, session, world, loner)
    assert "You are not in any organisation" in part and "Ask for access" not in part

    # a consumer of an organisation the offer admits is offered the form as before
    part = _dataset_page(client, session, world, world.consumer)
    assert "Ask for access" in part and "You are not in any organisation" not in part


def test_a_person_in_no_organisation_may_still_ask_where_private_persons_may(
    client: TestClient, session: Session, world: World
) -> None:
    assert "private_person" in world.offer.consumer_kinds
    _with_contents(client, session, world)
    loner = quick_user(session)
    part = _dataset_page(client, session, world, loner)
    assert "Be om tilgang" in part and "Du er ikke med i noen organisasjon" not in part
    # someone in an organisation of another kind is told about the kinds the offers admit
    world.offer.consumer_kinds = ["research"]
    session.flush()
    part = _dataset_page(client, session, world, world.consumer)
    assert "Be om tilgang" not in part and "Forskning" in part
    other = quick_user(session, world.consumer_org, Role.publisher)
    assert "Be om tilgang" not in _dataset_page(client, session, world, other)


def test_the_offer_page_tells_a_person_in_no_organisation_what_to_do(
    client: TestClient, session: Session, world: World
) -> None:
    world.offer.consumer_kinds = ["education"]
    session.flush()
    loner = quick_user(session)
    page = client.get(f"/market/offers/{world.offer.id}", headers=make_token(session, loner))
    assert 'name="purpose"' not in page.text
    assert "Du er ikke med i noen organisasjon" in page.text
    assert "Be en administrator i organisasjonen din om å invitere deg" in page.text
    assert "Du er ikke databruker i en organisasjon av den typen" not in page.text
