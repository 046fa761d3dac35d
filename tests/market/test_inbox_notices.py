"""The inbox after the browser walk at 360 px (bokmål, a new user): each notice names the
dataset it is about, in the reader's language, and links to its agreement or request."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.market import notify, service
from datatorg.market.schemas import CounterOffer
from tests.factories import actor_of, make_token
from tests.market.conftest import World, request_data
from tests.plain import visible_text

NB = {"Accept-Language": "nb", "Accept": "text/html"}


def test_each_inbox_notice_names_its_dataset_and_links_to_its_agreement(
    client: TestClient, session: Session, world: World
) -> None:
    """ "Du har fått et motbud", "Avtalen din er suspendert": the inbox named neither the
    dataset nor the agreement a notice was about."""
    world.dataset.title_en = "Energy use in municipal buildings"
    consumer, steward = actor_of(session, world.consumer), actor_of(session, world.steward)
    world.steward.locale = "en"
    req = service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer)
    )
    service.counter_offer(
        session=session,
        settings=None,
        actor=steward,
        request_id=req.id,
        data=CounterOffer(columns=["kwh"]),
    )
    agreement = service.accept(session=session, settings=None, actor=consumer, request_id=req.id)
    service.suspend(
        session=session, settings=None, actor=steward, agreement_id=agreement.id, reason="Revisjon"
    )
    page = client.get("/market/inbox", headers={**NB, **make_token(session, world.consumer)})
    notices = page.text.split('<li class="')[1:]
    assert len(notices) == 3  # counter-offer, approved (by accepting it), suspended
    for notice in notices:  # the subject line itself names the dataset
        subject = visible_text(notice.split("</h2>")[0])
        assert "Energibruk i kommunale bygg" in subject, subject
    assert f'<a href="/market/agreements/{agreement.id}">Åpne avtalen</a>' in page.text
    assert f'<a href="/market/requests/{req.id}">Åpne forespørselen</a>' in page.text
    english = client.get("/market/inbox", headers={**NB, **make_token(session, world.steward)})
    assert "New access request: Energy use in municipal buildings" in english.text


def test_a_living_lab_notice_links_to_its_idea_by_name(
    client: TestClient, session: Session, world: World
) -> None:
    """A notice about an idea linked "Åpne siden" (open the page); it says what it opens."""
    notify.notify(
        session=session,
        settings=None,
        user_ids=[world.consumer.id],
        kind="idea_answered",
        subject="Your idea was answered",
        body="",
        link="/ideas/00000000-0000-0000-0000-000000000001",
    )
    page = client.get("/market/inbox", headers={**NB, **make_token(session, world.consumer)})
    assert '<a href="/ideas/00000000-0000-0000-0000-000000000001">Åpne idéen</a>' in page.text
