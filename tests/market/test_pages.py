"""The HTML pages: request form, steward queue and decisions, agreement, statement, inbox."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.market import service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import AccessRequest, NegotiationState
from datatorg.web.csrf import CSRF_COOKIE
from tests.factories import actor_of, make_token, make_user
from tests.market.conftest import World, request_data


def csrf(client: TestClient) -> str:
    client.get("/register")
    return client.cookies[CSRF_COOKIE]


def test_request_form_to_steward_decision(
    client: TestClient, session: Session, world: World
) -> None:
    consumer, steward = make_token(session, world.consumer), make_token(session, world.steward)
    page = client.get(f"/market/offers/{world.offer.id}", headers=consumer)
    assert page.status_code == 200 and 'name="purpose"' in page.text
    token = csrf(client)
    today = utc_today()
    form = {
        "csrf_token": token,
        "offer_id": str(world.offer.id),
        "purpose": "AcademicResearch",
        "description": "Studentoppgave om energibruk i skolebygg — æøå.",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=30)).isoformat(),
        "columns": ["building", "kwh"],
    }
    r = client.post(
        f"/market/offers/{world.offer.id}/request",
        data=form,
        headers=consumer,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    req_url, _sep, notice = r.headers["location"].partition("?")
    assert notice == "sent=1"  # the request page confirms the request was sent
    req = session.get(AccessRequest, uuid.UUID(req_url.rsplit("/", 1)[1]))
    assert req is not None and req.columns == ["building", "kwh"]
    assert "æøå" in req.description

    queue = client.get("/market/queue", headers=steward)
    assert queue.status_code == 200 and req_url in queue.text
    detail = client.get(req_url, headers=steward)
    assert "/approve" in detail.text and "/counter" in detail.text

    r = client.post(
        req_url + "/counter",
        headers=steward,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "columns": ["kwh"],
            "period_end": (today + timedelta(days=10)).isoformat(),
            "reason": "Only kWh.",
        },
    )
    assert r.status_code == 303
    assert req.state == NegotiationState.offered and req.columns == ["kwh"]
    assert "/accept" in client.get(req_url, headers=consumer).text
    r = client.post(
        req_url + "/accept", headers=consumer, data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/market/agreements/")
    agreement = client.get(r.headers["location"], headers=consumer)
    assert agreement.status_code == 200 and "<svg" in agreement.text and "<table>" in agreement.text
    r = client.post(
        r.headers["location"].split("?")[0] + "/token",
        headers=consumer,
        data={"csrf_token": token, "name": "notebook", "days": "7"},
    )
    assert r.status_code == 200 and re.search(r"dtg_[A-Za-z0-9_-]{20,}", r.text)


def test_forms_refuse_without_csrf(client: TestClient, session: Session, world: World) -> None:
    consumer = make_token(session, world.consumer)
    r = client.post(
        f"/market/offers/{world.offer.id}/request",
        headers=consumer,
        data={"purpose": "AcademicResearch"},
    )
    assert r.status_code == 403
    assert session.query(AccessRequest).count() == 0


def test_bad_form_is_shown_again_with_errors_and_nothing_stored(
    client: TestClient, session: Session, world: World
) -> None:
    consumer = make_token(session, world.consumer)
    token = csrf(client)
    r = client.post(
        f"/market/offers/{world.offer.id}/request",
        headers=consumer,
        data={
            "csrf_token": token,
            "offer_id": str(world.offer.id),
            "purpose": "Advertising",
            "description": '=HYPERLINK("http://evil")',
            "period_start": "2020-01-01",
            "period_end": "not a date",
            "columns": ["../../etc/passwd"],
        },
    )
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert session.query(AccessRequest).count() == 0


def test_steward_queue_sorts_paginates_and_has_an_empty_state(
    client: TestClient, session: Session, world: World
) -> None:
    steward = make_token(session, world.steward)
    empty = client.get("/market/queue", headers=steward)
    assert "No requests are waiting" in empty.text or "Ingen forespørsler venter" in empty.text
    consumer = actor_of(session, world.consumer)
    ids = []
    for i in range(22):
        r = service.create_request(
            session=session,
            settings=None,
            actor=consumer,
            data=request_data(
                world.offer, description=f"Request number {i:02d} x", pilot_ref=f"/pilots/{i}"
            ),
        )
        ids.append(str(r.id))
    first = client.get("/market/queue?sort=-age", headers=steward).text
    second = client.get("/market/queue?sort=-age&page=2", headers=steward).text
    on_first = [i for i in ids if i in first]
    on_second = [i for i in ids if i in second]
    assert len(on_first) == 20 and len(on_second) == 2
    assert set(on_first).isdisjoint(on_second)
    assert client.get("/market/queue?sort=evil", headers=steward).status_code == 422
    # a consumer sees no one's queue
    assert (
        ids[0] not in client.get("/market/queue", headers=make_token(session, world.consumer)).text
    )


def test_statement_page_and_csv(client: TestClient, session: Session, world: World) -> None:
    consumer = make_token(session, world.consumer)
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    a = service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )
    service.record_usage(session=session, agreement_id=a.id, rows=3, nbytes=30)
    month = utc_today().strftime("%Y-%m")
    html = client.get(f"/market/agreements/{a.id}/statement?month={month}", headers=consumer)
    assert html.status_code == 200 and "0,00 kr" in html.text  # written the Norwegian way
    csv_ = client.get(f"/market/agreements/{a.id}/statement.csv?month={month}", headers=consumer)
    assert csv_.headers["content-type"].startswith("text/csv")
    assert csv_.text.splitlines()[0].startswith("agreement,month,dataset")
    assert (
        client.get(
            f"/market/agreements/{a.id}/statement?month=2026-13", headers=consumer
        ).status_code
        == 422
    )
    provider = make_token(session, world.steward)  # the provider reads statements too
    assert client.get(f"/market/agreements/{a.id}/statement", headers=provider).status_code == 200
    stranger = make_token(session, make_user(session))
    assert client.get(f"/market/agreements/{a.id}/statement", headers=stranger).status_code == 404


def test_inbox_lists_and_marks_read(client: TestClient, session: Session, world: World) -> None:
    steward = make_token(session, world.steward)
    service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    page = client.get("/market/inbox", headers=steward)
    assert page.status_code == 200 and "(1 " in page.text
    token = csrf(client)
    r = client.post(
        "/market/inbox/read-all",
        headers=steward,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/v1/notifications/unread-count", headers=steward).json() == {"unread": 0}


def test_offer_page_for_the_public_and_withdrawn_offers(
    client: TestClient, session: Session, world: World
) -> None:
    page = client.get(f"/market/offers/{world.offer.id}")
    # signed out: a way to sign in that comes back to the form
    back = f"/login?next=/market/offers/{world.offer.id}%23request"
    assert page.status_code == 200 and back in page.text
    assert 'name="purpose"' not in page.text
    assert str(world.offer.id) in client.get("/market/offers").text
    publisher = make_token(session, world.publisher)
    assert (
        client.post(f"/api/v1/offers/{world.offer.id}/withdraw", headers=publisher).status_code
        == 200
    )
    assert client.get(f"/market/offers/{world.offer.id}").status_code == 404
    assert client.get(f"/market/offers/{uuid.uuid4()}").status_code == 404
    assert client.get("/market/offers/not-a-uuid").status_code == 422


def test_hostile_decision_and_agreement_forms(
    client: TestClient, session: Session, world: World
) -> None:
    consumer, steward = make_token(session, world.consumer), make_token(session, world.steward)
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    token = csrf(client)
    url = f"/market/requests/{req.id}"
    bad = [
        ("reject", {"reason": ""}),
        ("reject", {"reason": "x" * 2001}),
        ("reject", {"reason": "nul\x00byte"}),
        ("counter", {"columns": ["area"]}),
        ("counter", {"columns": ["kwh'; DROP TABLE market_requests;--"]}),
        ("counter", {"period_end": "2099-01-01"}),
        ("counter", {"period_end": "31/12/2026"}),
    ]
    for action, data in bad:
        r = client.post(f"{url}/{action}", headers=steward, data={"csrf_token": token, **data})
        assert r.status_code == 422, (action, data, r.status_code)
        assert 'role="alert"' in r.text
    assert req.state == NegotiationState.requested and req.columns == ["building", "month", "kwh"]
    assert (
        client.post(f"{url}/explode", headers=steward, data={"csrf_token": token}).status_code
        == 404
    )
    # the consumer cannot decide; the steward cannot accept for the consumer
    assert (
        client.post(f"{url}/approve", headers=consumer, data={"csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(f"{url}/accept", headers=steward, data={"csrf_token": token}).status_code == 403
    )

    r = client.post(
        f"{url}/approve", headers=steward, data={"csrf_token": token}, follow_redirects=False
    )
    assert r.headers["location"] == f"{url}/approve"  # approving takes a confirmation step
    confirm = client.get(f"{url}/approve", headers=steward)
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.text
    r = client.post(
        f"{url}/approve",
        headers=steward,
        data={"csrf_token": token, "confirmed": "yes"},
        follow_redirects=False,
    )
    agreement_url = r.headers["location"].split("?")[0]
    for data in ({"name": "x" * 101}, {"days": "0"}, {"days": "ten"}, {"name": "a\nb"}):
        r = client.post(
            f"{agreement_url}/token", headers=consumer, data={"csrf_token": token, **data}
        )
        assert r.status_code == 422, data
        assert "dtg_" not in r.text
    for reason in ("", "x" * 2001):
        r = client.post(
            f"{agreement_url}/revoke", headers=steward, data={"csrf_token": token, "reason": reason}
        )
        assert r.status_code == 422
    assert (
        client.post(
            f"{agreement_url}/explode", headers=steward, data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
    r = client.post(
        f"{agreement_url}/revoke",
        headers=steward,
        follow_redirects=False,
        data={"csrf_token": token, "reason": "Æ, ø og å i begrunnelsen"},
    )
    assert r.status_code == 303
    assert "Æ, ø og å i begrunnelsen" in client.get(agreement_url, headers=consumer).text


def test_consumer_withdraws_a_request_on_the_page(
    client: TestClient, session: Session, world: World
) -> None:
    consumer = make_token(session, world.consumer)
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    token = csrf(client)
    page = client.get(f"/market/requests/{req.id}", headers=consumer).text
    assert "/withdraw" in page and "/approve" not in page
    r = client.post(
        f"/market/requests/{req.id}/withdraw",
        headers=consumer,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and req.state == NegotiationState.terminated
    assert str(req.id) in client.get("/market/requests", headers=consumer).text


def test_publisher_sets_an_offer_with_the_form(
    client: TestClient, session: Session, world: World
) -> None:
    publisher = make_token(session, world.publisher)
    assert "/market/offers/new" in client.get("/market/offers", headers=publisher).text
    form_page = client.get(f"/market/offers/new?dataset={world.dataset.slug}", headers=publisher)
    assert form_page.status_code == 200 and world.dataset.slug in form_page.text
    token = csrf(client)
    base = {
        "csrf_token": token,
        "dataset": world.dataset.slug,
        "title": "Skoleprosjekter",
        "purposes": ["AcademicResearch"],
        "consumer_kinds": ["education"],
        "all_columns": "no",
        "columns": ["building", "kwh"],
        "max_period_days": "90",
        "calls_per_day": "50",
        "price_model": "free",
        "price_nok": "0",
        "legal_basis": "PublicInterest",
        "aggregate_only": "on",
        "attribution_required": "on",
    }
    r = client.post("/market/offers/new", headers=publisher, data=base, follow_redirects=False)
    assert r.status_code == 303, r.text
    offer = service.get_offer(
        session=session,
        offer_id=uuid.UUID(r.headers["location"].split("?")[0].rsplit("/", 1)[1]),
    )
    assert offer.columns == ["building", "kwh"] and offer.aggregate_only
    assert offer.attribution_required and not offer.redistribution_prohibited
    assert offer.legal_basis == "PublicInterest" and offer.rows_per_month is None
    before = len(service.list_offers(session=session)[0])
    for change in (
        {"purposes": []},
        {"columns": "a b, =1+1"},
        {"columns": ["bygg_id", "kwh"]},  # not a column of the dataset
        {"price_nok": "abc"},
        {"title": "x" * 201},
        {"licence": "javascript:alert(1)"},
        {"dataset": "../../etc"},
        {"title": "\x00"},
    ):
        r = client.post("/market/offers/new", headers=publisher, data=base | change)
        assert r.status_code in (404, 422), change
    assert len(service.list_offers(session=session)[0]) == before
    # a consumer gets no form
    consumer = make_token(session, world.consumer)
    assert client.get("/market/offers/new", headers=consumer).status_code == 403
    assert client.post("/market/offers/new", headers=consumer, data=base).status_code == 403
