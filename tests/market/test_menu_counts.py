"""The menu's numbers: requests to decide, counter-offers to answer, unread messages; asked
for in one statement per page (``web.menu``)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from datatorg.market import notify, service
from datatorg.market.schemas import CounterOffer
from datatorg.web import menu
from tests.factories import make_token
from tests.market.conftest import World, request_data
from tests.statements import recorded


def _counts(state: object, actor: object) -> dict[str, int]:
    """``menu.counts`` from a thread of its own, as a page's handler calls it (it gives no
    numbers on a thread running an event loop, and the browser tests leave one running in
    the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(menu.counts, state, actor).result()


def _badges(html: str) -> dict[str, int]:
    """The menu's numbers by link: ``{"/market/queue": 1, …}``."""
    badge = r'<a href="(/market/[a-z]+)">[^<]*<span class="count-badge"[^>]*>(\d+)<'
    return {href: int(n) for href, n in re.findall(badge, html)}


def test_the_menu_shows_what_waits_for_each_person(
    client: TestClient, session: Session, world: World
) -> None:
    consumer, steward = world.actor(session, world.consumer), world.actor(session, world.steward)
    consumer_h, steward_h = make_token(session, world.consumer), make_token(session, world.steward)
    assert _badges(client.get("/datasets", headers=steward_h).text) == {}  # nothing waits yet

    req = service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer)
    )
    told = notify.unread_count(session=session, user_id=world.steward.id)
    assert told >= 1  # the new request was told to the steward
    assert _badges(client.get("/datasets", headers=steward_h).text) == {
        "/market/queue": 1,
        "/market/inbox": told,
    }

    service.counter_offer(
        session=session,
        settings=None,
        actor=steward,
        request_id=req.id,
        data=CounterOffer(period_end=req.period_end - (req.period_end - req.period_start) / 2),
    )
    unread = notify.unread_count(session=session, user_id=world.consumer.id)
    assert unread >= 1  # the counter-offer was told to the consumer
    assert _badges(client.get("/datasets", headers=consumer_h).text) == {
        "/market/requests": 1,
        "/market/inbox": unread,
    }
    assert _badges(client.get("/datasets", headers=steward_h).text) == {"/market/inbox": told}


def test_the_counts_are_one_statement(session: Session, world: World) -> None:
    """A steward's three numbers are one round trip, not three."""
    steward = world.actor(session, world.steward)
    state = SimpleNamespace(sessionmaker=sessionmaker(bind=session.connection()))
    with recorded(session) as statements:
        counts = _counts(state, steward)
    assert set(counts) == {"queue", "my_requests", "inbox"}
    asked = [s for s in statements if "SAVEPOINT" not in s]  # the test's own transaction
    assert len(asked) == 1, statements


def test_a_failing_count_loses_only_its_own_number(session: Session, world: World) -> None:
    """A counter that raises, or whose statement fails in the database, loses its number; the
    menu keeps the others (asked for one by one after the statement of all failed)."""
    from sqlalchemy import func, select, table

    steward = world.actor(session, world.steward)
    expected = _counts(
        SimpleNamespace(sessionmaker=sessionmaker(bind=session.connection())), steward
    )
    assert set(expected) == {"queue", "my_requests", "inbox"}

    def broken(actor: object) -> None:
        raise RuntimeError("boom")

    def failing(actor: object) -> tuple[object, dict[str, object]]:
        return select(func.count()).select_from(table("no_such_table")), {}

    # each session in a savepoint of the test's transaction: on PostgreSQL a failed statement
    # spoils the transaction it runs in (in production each session has a connection of its own)
    state = SimpleNamespace(
        sessionmaker=sessionmaker(
            bind=session.connection(), join_transaction_mode="create_savepoint"
        )
    )
    menu.register_count("broken", broken)  # type: ignore[arg-type]
    try:
        assert _counts(state, steward) == expected
    finally:
        menu._COUNTERS.pop("broken")
    menu.register_count("failing", failing)  # type: ignore[arg-type]
    try:
        assert _counts(state, steward) == expected
    finally:
        menu._COUNTERS.pop("failing")


def test_a_superuser_counts_every_request_waiting(session: Session, world: World) -> None:
    from sqlalchemy import func, select

    from datatorg.market.models import AccessRequest, NegotiationState
    from tests.factories import actor_of, make_user

    consumer = world.actor(session, world.consumer)
    service.create_request(
        session=session, settings=None, actor=consumer, data=request_data(world.offer)
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(AccessRequest)
        .where(AccessRequest.state == NegotiationState.requested)
    )
    admin = actor_of(session, make_user(session, superuser=True))
    state = SimpleNamespace(sessionmaker=sessionmaker(bind=session.connection()))
    assert waiting and _counts(state, admin)["queue"] == waiting
    nobody = actor_of(session, make_user(session))  # no organisation, no role
    assert _counts(state, nobody) == {"queue": 0, "my_requests": 0, "inbox": 0}
