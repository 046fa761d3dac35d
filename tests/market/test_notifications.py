"""Notifications: inbox entries and real e-mail through an SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.market import notify, service
from datatorg.market.metering import today as utc_today
from datatorg.market.models import Notification
from datatorg.market.schemas import CounterOffer
from datatorg.outbox import service as outbox
from datatorg.outbox.models import OutboxMessage
from datatorg.settings import Settings
from tests.factories import actor_of, make_token
from tests.mailserver import Inbox, free_port
from tests.market.conftest import World, request_data


def _subjects(inbox: Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


def test_every_event_reaches_inbox_and_mail(
    session: Session, world: World, settings: Settings, smtp: tuple[Inbox, Settings]
) -> None:
    mailbox, live = smtp
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
    title = world.dataset.title_nb  # no English title: the English reader gets bokmål's
    assert f"New access request: {title}" in subjects  # the steward reads English
    assert f"Du har fått et motbud på {title}" in subjects  # the consumer reads bokmål
    body = mailbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes) and b"Not enough detail" in body
    assert (
        world.consumer.email.encode() not in body
        and world.consumer.display_name.encode() not in mailbox.messages[0].get_payload(decode=True)
    )  # type: ignore[operator]


def test_expiry_notice_is_sent_once(
    session: Session, world: World, settings: Settings, smtp: tuple[Inbox, Settings]
) -> None:
    mailbox, live = smtp
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
    assert _subjects(mailbox) == [f"Avtalen din om {world.dataset.title_nb} utløper snart"]


def test_mail_outage_does_not_undo_the_decision(
    session: Session, world: World, settings: Settings
) -> None:
    dead = settings.model_copy(update={"mail_enabled": True, "smtp_port": free_port()})
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


def test_mail_links_use_the_public_address(
    client: TestClient, session: Session, world: World
) -> None:
    """A notice's mail links to DATATORG_BASE_URL when set, else to the address the request
    came to (web.urls), never to a fixed default."""
    consumer = make_token(session, world.consumer)
    app_settings = client.app.state.settings  # type: ignore[attr-defined]
    today = utc_today()

    def ask(purpose: str) -> str:
        body = {
            "offer_id": str(world.offer.id),
            "purpose": purpose,
            "description": "Master thesis on energy use in school buildings.",
            "period_start": today.isoformat(),
            "period_end": (today + timedelta(days=30)).isoformat(),
            "columns": ["building", "kwh"],
        }
        mails = select(OutboxMessage).where(OutboxMessage.recipient == world.steward.email)
        before = {m.id for m in session.scalars(mails)}
        r = client.post("/api/v1/access-requests", json=body, headers=consumer)
        assert r.status_code == 201, r.text
        new = [m.body for m in session.scalars(mails) if m.id not in before]
        assert len(new) == 1
        return new[0]

    assert f"{client.base_url}/market/requests/" in ask("AcademicResearch")
    client.app.state.settings = app_settings.model_copy(  # type: ignore[attr-defined]
        update={"base_url": "https://data.halden.example"}
    )
    try:
        body = ask("ScientificResearch")
    finally:
        client.app.state.settings = app_settings  # type: ignore[attr-defined]
    assert "https://data.halden.example/market/" in body and "testserver" not in body
