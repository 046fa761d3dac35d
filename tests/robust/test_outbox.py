"""The outbox: e-mail leaves after commit (never for a rolled-back decision), is retried with
growing pauses, gives up after ``MAX_ATTEMPTS``, and administrators see the outcome (page and
JSON twin) without recipients or contents."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.db.writes import write_sessionmaker
from datatorg.market import service as market
from datatorg.outbox import service as outbox
from datatorg.outbox import worker
from datatorg.outbox.models import OutboxMessage, OutboxStatus
from datatorg.settings import Settings
from tests.factories import actor_of, make_token, make_user
from tests.mailserver import Inbox, free_port
from tests.market.conftest import World, request_data


def test_a_rolled_back_decision_sends_nothing(
    session: Session, world: World, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, live = smtp
    consumer = actor_of(session, world.consumer)
    attempt = session.begin_nested()
    market.create_request(
        session=session, settings=live, actor=consumer, data=request_data(world.offer)
    )
    queued = session.scalars(select(OutboxMessage)).all()
    assert len(queued) == 2  # the steward and the publisher would hear of it
    attempt.rollback()  # e.g. a later step of the same request failed
    assert outbox.deliver_due(session=session, settings=live) == outbox.Delivery()
    assert inbox.messages == []
    # the same decision, committed, is delivered
    market.create_request(
        session=session, settings=live, actor=consumer, data=request_data(world.offer)
    )
    assert outbox.deliver_due(session=session, settings=live).delivered == 2
    assert len(inbox.messages) == 2


def test_an_outage_is_retried_with_growing_pauses_then_given_up(
    session: Session, settings: Settings, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, live = smtp
    dead = settings.model_copy(update={"mail_enabled": True, "smtp_port": free_port()})
    outbox.enqueue_mail(
        session=session, kind="request_received", to="a@example.no", subject="S", body="B"
    )
    session.flush()
    now = utcnow()
    pauses = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        sent = outbox.deliver_due(session=session, settings=dead, now=now)
        msg = session.scalars(select(OutboxMessage)).one()
        assert msg.attempts == attempt
        if attempt < outbox.MAX_ATTEMPTS:
            assert sent.retried == 1 and msg.status == OutboxStatus.pending
            assert msg.last_error in ("ConnectionRefusedError", "SMTPServerDisconnected")
            pauses.append(round((msg.next_attempt_at - utcnow()).total_seconds() / 60))
            assert outbox.deliver_due(session=session, settings=dead, now=now) == outbox.Delivery()
            now = msg.next_attempt_at + timedelta(seconds=1)
        else:
            assert sent.failed == 1 and msg.status == OutboxStatus.failed
    assert pauses == [2**i for i in range(outbox.MAX_ATTEMPTS - 1)]
    assert outbox.deliver_due(session=session, settings=live, now=now + timedelta(days=9)) == (
        outbox.Delivery()
    )  # failed for good: no loop
    assert outbox.retry(session=session, message_id=msg.id)  # an administrator may retry
    assert outbox.deliver_due(session=session, settings=live).delivered == 1
    assert len(inbox.messages) == 1


def test_administrators_see_the_outcome_without_contents(
    client: TestClient, session: Session, settings: Settings
) -> None:
    for i, status in enumerate(("delivered", "failed", "pending")):
        msg = OutboxMessage(
            kind="request_received",
            recipient=f"secret{i}@example.no",
            subject="Hemmelig emne",
            body="Hemmelig tekst",
            status=OutboxStatus(status),
            attempts=i,
        )
        session.add(msg)
    session.flush()
    admin = make_token(session, make_user(session, superuser=True))
    plain = make_token(session, make_user(session))
    assert client.get("/api/v1/admin/outbox", headers=plain).status_code == 404
    assert client.get("/admin/outbox", headers=plain).status_code == 404
    body = client.get("/api/v1/admin/outbox", headers=admin).json()
    assert body["counts"] == {"pending": 1, "sending": 0, "delivered": 1, "failed": 1}
    failed = client.get("/api/v1/admin/outbox?status=failed", headers=admin).json()
    assert [m["status"] for m in failed["items"]] == ["failed"]
    page = client.get("/admin/outbox", headers=admin | {"Accept-Language": "nb"})
    assert page.status_code == 200
    for text in (page.text, str(body)):
        assert "secret" not in text and "Hemmelig" not in text
    assert (
        "Levert" in page.text
        and "Mislyktes" in page.text
        and "Ny forespørsel om tilgang" in page.text
    )
    assert client.get("/api/v1/admin/outbox?status=nonsense", headers=admin).status_code == 422


def test_the_server_delivers_right_after_the_commit(
    tmp_path: Any, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, live = smtp
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    slow = live.model_copy(update={"outbox_poll_seconds": 60.0})
    deliverer = worker.start(make_sessionmaker(engine), slow)
    try:
        with write_sessionmaker(engine)() as s:
            outbox.enqueue_mail(
                session=s, kind="counter_offer", to="b@example.no", subject="Hei", body="x"
            )
            s.commit()  # wakes the deliverer: no waiting for the next poll
        deadline = time.monotonic() + 10
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [str(m["Subject"]) for m in inbox.messages] == ["Hei"]
    finally:
        worker.stop(deliverer)
        engine.dispose()
