"""The outbox: enqueue side effects inside the caller's transaction; deliver after commit.

``enqueue_mail`` adds a row to the caller's session, so the message exists exactly when the
transaction that caused it commits: a rolled-back decision sends nothing. ``deliver_due``
claims due messages (a short write transaction), sends them with no transaction open, and
records each outcome: delivered (its body is then cleared: it is not needed any more and
may hold a one-time link, such as a password reset's), or tried again after 1, 2, 4 …
minutes (at most ``MAX_ATTEMPTS`` tries, then failed). A message claimed by a deliverer that
vanished is claimed again after ``RECLAIM_AFTER``. The server delivers in a background thread
(``outbox.worker``); ``datatorg outbox deliver`` does it once from the command line.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.db.base import utcnow
from datatorg.mail import send_mail
from datatorg.outbox.models import OutboxMessage, OutboxStatus
from datatorg.settings import Settings

log = logging.getLogger("datatorg.outbox")

MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(minutes=1)
RECLAIM_AFTER = timedelta(minutes=10)
PENDING_KEY = "datatorg_outbox_pending"  # session.info flag: this transaction enqueued


def enqueue_mail(*, session: Session, kind: str, to: str, subject: str, body: str) -> None:
    """Send this e-mail once the session's transaction commits (never if it rolls back)."""
    session.add(OutboxMessage(kind=kind[:60], recipient=to, subject=subject[:300], body=body))
    session.info[PENDING_KEY] = True


@dataclass(frozen=True)
class Delivery:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _claim(session: Session, now: datetime, limit: int) -> list[OutboxMessage]:
    writes.begin(session)
    stmt = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == OutboxStatus.pending)
                & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == OutboxStatus.sending)
                & (OutboxMessage.claimed_at < now - RECLAIM_AFTER),
            )
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.scalars(stmt))
    for msg in claimed:
        msg.status = OutboxStatus.sending
        msg.claimed_at = now
    session.commit()
    return claimed


def deliver_due(
    *, session: Session, settings: Settings, limit: int = 50, now: datetime | None = None
) -> Delivery:
    """Deliver the messages that are due; the counts of each outcome."""
    now = now or utcnow()
    due = session.scalar(  # a read first: an idle outbox never takes the write turn
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
        .where(OutboxMessage.next_attempt_at <= now)
        .limit(1)
    )
    if due is None:
        return Delivery()
    claimed = _claim(session, now, limit)
    if not claimed:
        return Delivery()
    outcomes: dict[uuid.UUID, str | None] = {}
    for msg in claimed:
        try:
            send_mail(settings=settings, to=msg.recipient, subject=msg.subject, body=msg.body)
            outcomes[msg.id] = None
        except (OSError, smtplib.SMTPException) as exc:
            outcomes[msg.id] = f"{type(exc).__name__}"[:200]
            log.warning(
                "outbox delivery failed", extra={"kind": msg.kind, "error": outcomes[msg.id]}
            )
    writes.begin(session)
    done = delivered = failed = 0
    for msg in claimed:
        error = outcomes[msg.id]
        msg.attempts += 1
        msg.claimed_at = None
        if error is None:
            msg.status, msg.delivered_at = OutboxStatus.delivered, utcnow()
            msg.body = ""  # no longer needed, and it may hold a one-time link (a reset's)
            delivered += 1
        elif msg.attempts >= MAX_ATTEMPTS:
            msg.status, msg.last_error = OutboxStatus.failed, error
            failed += 1
        else:
            msg.status, msg.last_error = OutboxStatus.pending, error
            msg.next_attempt_at = utcnow() + RETRY_BASE * 2 ** (msg.attempts - 1)
            done += 1
    session.commit()
    return Delivery(delivered=delivered, retried=done, failed=failed)


@dataclass(frozen=True)
class OutboxSummary:
    counts: dict[str, int]
    messages: list[OutboxMessage]
    total: int


def summary(
    *, session: Session, status: OutboxStatus | None = None, limit: int = 50, offset: int = 0
) -> OutboxSummary:
    """Counts per status and a page of messages, newest first (for administrators)."""
    counts = {s.value: 0 for s in OutboxStatus}
    for status_value, n in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[OutboxStatus(status_value).value] = int(n)
    stmt = select(OutboxMessage)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    page = list(
        session.scalars(
            stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
            .limit(limit)
            .offset(offset)
        )
    )
    total = counts[status.value] if status is not None else sum(counts.values())
    return OutboxSummary(counts=counts, messages=page, total=total)


def retry(*, session: Session, message_id: uuid.UUID) -> bool:
    """Send a failed message again at the next delivery round; whether it was failed."""
    msg = session.get(OutboxMessage, message_id)
    if msg is None or msg.status != OutboxStatus.failed:
        return False
    msg.status, msg.attempts, msg.next_attempt_at = OutboxStatus.pending, 0, utcnow()
    return True
