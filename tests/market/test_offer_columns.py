"""Offers name the dataset's real columns: checked in the API and the form; stale offers are
flagged; a key is made only while the agreement is in force."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.errors import Conflict, Invalid
from datatorg.market import offers, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Offer
from tests.factories import actor_of, make_token
from tests.market.conftest import World, make_dataset, offer_data, request_data


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Offer)) or 0)


def test_api_refuses_columns_the_dataset_does_not_have(
    client: TestClient, session: Session, world: World
) -> None:
    publisher = make_token(session, world.publisher)
    before = _count(session)
    body = offer_data(world.dataset, columns=["building", "bygg_id", "maaned"]).model_dump(
        mode="json"
    )
    r = client.post("/api/v1/offers", json=body, headers=publisher)
    assert r.status_code == 422
    [problem] = [e for e in r.json()["errors"] if e["field"] == "columns"]
    assert problem["code"] == "unknown_columns"
    assert problem["params"]["columns"] == "bygg_id, maaned"
    assert _count(session) == before
    good = offer_data(world.dataset, columns=["building", "kwh"]).model_dump(mode="json")
    assert client.post("/api/v1/offers", json=good, headers=publisher).status_code == 201


def test_a_dataset_without_known_columns_takes_only_all_columns_offers(
    session: Session, world: World
) -> None:
    bare = make_dataset(session, world.provider, columns=())
    actor = actor_of(session, world.publisher)
    with pytest.raises(Invalid) as caught:
        offers.create_offer(session=session, actor=actor, data=offer_data(bare))
    assert caught.value.extra["errors"][0]["code"] == "no_columns_yet"
    made = offers.create_offer(session=session, actor=actor, data=offer_data(bare, columns=None))
    assert made.columns is None


def test_an_offer_naming_dropped_columns_is_flagged(
    client: TestClient, session: Session, world: World
) -> None:
    # the dataset's schema loses "area", which the fixture's offer names
    world.dataset.fields = [f for f in world.dataset.fields if f.name != "area"]
    session.flush()
    read = offers.offer_read(session=session, offer=world.offer)
    assert read.unknown_columns == ["area"]
    assert client.get(f"/api/v1/offers/{world.offer.id}").json()["unknown_columns"] == ["area"]
    flagged = service.offers_needing_attention(session=session, dataset_ids=[world.dataset.id])
    assert flagged[world.dataset.id] == [(world.offer, ["area"])]
    page = client.get(
        f"/market/offers/{world.offer.id}", headers=make_token(session, world.publisher)
    )
    assert "area" in page.text.split("notice error")[1][:400]  # shown to the publisher


def test_requests_under_an_all_columns_offer_are_checked_against_the_dataset(
    session: Session, world: World
) -> None:
    actor = actor_of(session, world.publisher)
    open_offer = offers.create_offer(
        session=session, actor=actor, data=offer_data(world.dataset, columns=None)
    )
    with pytest.raises(Invalid) as caught:
        service.create_request(
            session=session,
            settings=None,
            actor=actor_of(session, world.consumer),
            data=request_data(open_offer, columns=["kwh", "personnummer"]),
        )
    [problem] = caught.value.extra["errors"]
    assert (
        problem["code"] == "columns_not_offered" and problem["params"]["columns"] == "personnummer"
    )


def test_no_key_for_an_agreement_that_has_not_started(
    client: TestClient, session: Session, world: World
) -> None:
    start = utc_today() + timedelta(days=5)
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer, period_start=start, period_end=start + timedelta(days=30)),
    )
    agreement = service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )
    with pytest.raises(Conflict):
        service.create_agreement_token(
            session=session,
            actor=actor_of(session, world.consumer),
            agreement_id=agreement.id,
            name="early",
            days=7,
        )
    page = client.get(
        f"/market/agreements/{agreement.id}", headers=make_token(session, world.consumer)
    )
    assert page.status_code == 200
    assert 'action="/market/agreements/' + str(agreement.id) + '/token"' not in page.text
    assert "Avtalen begynner" in page.text  # and says from when a key can be made
