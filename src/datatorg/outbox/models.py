"""The outbox table: one row per message to deliver after its transaction commits."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datatorg.db.base import Base, Timestamps, UUIDPk, utcnow


class OutboxStatus(enum.StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    sending = "sending"  # claimed by a deliverer (reclaimed if it vanished)
    delivered = "delivered"
    failed = "failed"  # gave up after MAX_ATTEMPTS


class OutboxMessage(UUIDPk, Timestamps, Base):
    """An e-mail to send once the transaction that wrote it has committed.

    ``kind`` names the event (``request_received``, ...); recipient, subject and body are
    only read by the deliverer and never shown on the admin page or logged."""

    __tablename__ = "outbox_messages"

    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20), default="mail")
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=12), default=OutboxStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")
