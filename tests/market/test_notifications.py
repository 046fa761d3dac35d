"""Notifications: inbox entries and real e-mail through an SMTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.market import notify, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Notification
from datatorg.market.schemas import CounterOffer
from datatorg.outbox import service as outbox
from datatorg.settings import Settings
from tests.factories import actor_of
from tests.market.conftest import World, request_data


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _subjects(inbox: Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


def test_every_event_reaches_inbox_and_mail(
    session: Session, world: World, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    mailbox, port = smtp
    live = settings.model_copy(update={"mail_enabled": True, "smtp_port": port})
    consumer, steward = actor_of(session, world.consumer), actor_of(session, world.steward)
    world.steward.locale = "en"
    req = service.create_request(
        session=session, settings=live, actor=consumer, data=request_data(world.offer)
    )
    service.counter_offer(
        session=session,
        settings=live,
        actor=steward,
        request_id=req.id,
        data=CounterOffer(columns=["kwh"]),
    )
    a = service.accept(session=session, settings=live, actor=consumer, request_id=req.id)
    service.suspend(
        session=session, settings=live, actor=steward, agreement_id=a.id, reason="Audit"
    )
    service.revoke(
        session=session, settings=live, actor=steward, agreement_id=a.id, reason="Misuse"
    )
    req2 = service.create_request(
        session=session, settings=live, actor=consumer, data=request_data(world.offer)
    )
    service.reject(
        session=session,
        settings=live,
        actor=steward,
        request_id=req2.id,
        reason="Not enough detail",
    )
    assert mailbox.messages == []  # e-mail leaves through the outbox, after commit
    assert outbox.deliver_due(session=session, settings=live).delivered == 9

    def kinds(user_id: object) -> list[str]:
        return [
            n.kind
            for n in session.scalars(
                select(Notification)
                .where(Notification.user_id == user_id)
                .order_by(Notification.created_at)
            )
        ]

    assert kinds(world.consumer.id) == [
        "counter_offer",
        "request_decided",
        "agreement_suspended",
        "agreement_revoked",
        "request_decided",
    ]
    # stewards and publishers of the owning organisation both hear of new requests
    assert kinds(world.steward.id) == kinds(world.publisher.id) == ["request_received"] * 2
    recipients = [str(m["To"]) for m in mailbox.messages]
    assert recipients.count(world.steward.email) == 2
    assert recipients.count(world.consumer.email) == 5
    subjects = _subjects(mailbox)
    assert "New access request" in subjects  # the steward reads English
    assert "Du har fått et motbud" in subjects  # the consumer reads bokmål
    body = mailbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes) and b"Not enough detail" in body
    assert (
        world.consumer.email.encode() not in body
        and world.consumer.display_name.encode() not in mailbox.messages[0].get_payload(decode=True)
    )  # type: ignore[operator]


def test_expiry_notice_is_sent_once(
    session: Session, world: World, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    mailbox, port = smtp
    live = settings.model_copy(update={"mail_enabled": True, "smtp_port": port})
    today = utc_today()
    req = service.create_request(
        session=session,
        settings=None,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer, period_end=today + timedelta(days=5)),
    )
    service.approve(
        session=session, settings=None, actor=actor_of(session, world.steward), request_id=req.id
    )
    assert service.notify_expiring(session=session, settings=live, within_days=3) == 0
    assert service.notify_expiring(session=session, settings=live, within_days=14) == 1
    assert service.notify_expiring(session=session, settings=live, within_days=14) == 0
    outbox.deliver_due(session=session, settings=live)
    assert _subjects(mailbox) == ["Avtalen din utløper snart"]


def test_mail_outage_does_not_undo_the_decision(
    session: Session, world: World, settings: Settings
) -> None:
    dead = settings.model_copy(update={"mail_enabled": True, "smtp_port": _port()})
    req = service.create_request(
        session=session,
        settings=dead,
        actor=actor_of(session, world.consumer),
        data=request_data(world.offer),
    )
    assert req.state.value == "REQUESTED"
    assert notify.unread_count(session=session, user_id=world.steward.id) == 1
    sent = outbox.deliver_due(session=session, settings=dead)
    assert (sent.delivered, sent.retried) == (0, 2)  # kept, to be tried again


def test_cli_notify_expiring_runs(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    from datatorg import cli

    monkeypatch.setattr(cli, "_settings", lambda: settings)
    result = CliRunner().invoke(cli.main, ["market", "notify-expiring", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "agreements notified" in result.output
