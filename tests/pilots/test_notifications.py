"""The living lab's notices leave through the outbox after commit: an inbox entry and an e-mail
in the recipient's language, never for a transition that was rolled back."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.market.models import Notification
from datatorg.outbox import service as outbox
from datatorg.outbox.models import OutboxMessage
from datatorg.pilots import review
from datatorg.pilots.models import Idea, IdeaState
from datatorg.pilots.schemas import Decision
from datatorg.settings import Settings
from tests.factories import actor_of
from tests.mailserver import Inbox
from tests.pilots import helpers
from tests.pilots.conftest import Lab


def _queued(session: Session, to: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == to)
        )
        or 0
    )


def _answers(session: Session, user_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.kind == "idea_answered")
        )
        or 0
    )


def test_a_rolled_back_answer_sends_nothing_and_a_kept_one_is_mailed(
    client: TestClient, session: Session, lab: Lab, smtp: tuple[Inbox, Settings]
) -> None:
    mailbox, live = smtp
    idea_id = uuid.UUID(helpers.evaluating(client, lab)["id"])
    coordinator = actor_of(session, lab.coordinator)
    rejection = Decision(decision="reject", answer="Ikke i denne runden.")
    outbox.deliver_due(session=session, settings=live)  # what the earlier steps sent
    mailbox.messages.clear()

    attempt = session.begin_nested()
    review.decide(
        session=session, settings=live, actor=coordinator, idea_id=idea_id, data=rejection
    )
    assert _queued(session, lab.citizen.email) == 1 and _answers(session, lab.citizen.id) == 1
    attempt.rollback()  # a later step of the same request failed
    assert _queued(session, lab.citizen.email) == 0 and _answers(session, lab.citizen.id) == 0
    assert outbox.deliver_due(session=session, settings=live) == outbox.Delivery()
    assert mailbox.messages == []
    idea = session.get(Idea, idea_id)
    assert idea is not None and idea.state == IdeaState.evaluating and idea.answer == ""

    # the same answer, kept: one inbox entry and one e-mail, in bokmål, linking the idea
    review.decide(
        session=session, settings=live, actor=coordinator, idea_id=idea_id, data=rejection
    )
    assert outbox.deliver_due(session=session, settings=live).delivered == 1
    [mail] = mailbox.messages
    assert mail["To"] == lab.citizen.email and mail["Subject"] == "Idéen din har fått svar"
    body = mail.get_content()
    assert "Smartere energi i skolebygg" in body and f"/ideas/{idea_id}" in body
    assert _answers(session, lab.citizen.id) == 1
