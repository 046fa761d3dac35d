"""Notifications: an in-app inbox and e-mail for the events of a negotiation and an agreement.

Subjects and bodies are written in the recipient's language and carry no personal data of
anyone but the recipient (no other person's name or address).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.errors import NotFound
from datatorg.identity.models import Membership, Role, User
from datatorg.market.models import Notification
from datatorg.outbox import service as outbox
from datatorg.settings import Settings
from datatorg.web import formatting, i18n, labels
from datatorg.web.urls import base_for

log = logging.getLogger("datatorg.market.notify")


def N_(message: str) -> str:
    """Mark ``message`` for translation; it is translated per recipient in ``notify``."""
    return message


KINDS = (
    "request_received",
    "request_decided",
    "counter_offer",
    "agreement_expiring",
    "agreement_suspended",
    "agreement_revoked",
    "agreement_terminated",
    # the living lab (datatorg.pilots) sends these through market.service.notify
    "idea_answered",
    "idea_ready",
    "evaluation_assigned",
    "pilot_news",
)


def org_deciders(*, session: Session, org_id: uuid.UUID) -> list[uuid.UUID]:
    """Users who decide requests for ``org_id``: its stewards, publishers and admins."""
    rows = session.scalars(
        select(Membership.user_id)
        .where(
            Membership.organisation_id == org_id,
            Membership.role.in_([Role.steward, Role.publisher, Role.admin]),
        )
        .distinct()
    ).all()
    return sorted(set(rows))


def notify(
    *,
    session: Session,
    settings: Settings | None,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    params: dict[str, Any] | None = None,
) -> int:
    """Put a message in each user's inbox and e-mail it; ``subject``/``body`` are msgids.

    Both may hold ``{placeholders}`` filled from ``params`` (titles, dates, reasons: nothing
    about another person's private life). A parameter may be a ``labels.Label`` (words in
    both languages) or a date: each recipient gets them in their own language.
    Returns how many users were notified.
    """
    assert kind in KINDS
    count = 0
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            continue
        locale = user.locale if user.locale in i18n.LOCALES else "nb"
        token = i18n.locale_var.set(locale)
        try:
            said = {k: _say(v, locale) for k, v in (params or {}).items()}
            subj = i18n.gettext(subject).format(**said)
            text = i18n.gettext(body).format(**said)
        finally:
            i18n.locale_var.reset(token)
        session.add(Notification(user_id=user.id, kind=kind, subject=subj, body=text, link=link))
        count += 1
        if settings is not None:
            # Sent after this transaction commits, never if it rolls back (datatorg.outbox);
            # a mail outage delays the mail and cannot undo the decision.
            url = base_for(settings) + link
            outbox.enqueue_mail(
                session=session, kind=kind, to=user.email, subject=subj, body=f"{text}\n\n{url}\n"
            )
    session.flush()
    return count


def dataset_title(session: Session, dataset_id: uuid.UUID) -> labels.Label:
    """The dataset's title in both languages, for a message that names it (each recipient
    reads their own)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        return labels.Label("", "")
    return labels.Label(dataset.title_nb, dataset.title_en or dataset.title_nb)


def _say(value: Any, locale: str) -> str:
    if isinstance(value, labels.Label):
        return value.text(locale)
    if isinstance(value, date):
        return formatting.day(value, locale, fmt="long")
    return str(value)


def inbox(
    *, session: Session, user_id: uuid.UUID, limit: int = 50, offset: int = 0
) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id)
            .limit(limit)
            .offset(offset)
        ).all()
    )


# How many of a person's notifications are unread (parameter ``unread_user``; the menu asks
# it with its other counts).
UNREAD: Select[Any] = (
    select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == bindparam("unread_user"), Notification.read_at.is_(None))
)


def unread_count(*, session: Session, user_id: uuid.UUID) -> int:
    return int(session.scalar(UNREAD, {"unread_user": user_id}) or 0)


def mark_read(*, session: Session, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotFound("No such notification")
    if note.read_at is None:
        note.read_at = utcnow()


def mark_all_read(*, session: Session, user_id: uuid.UUID) -> None:
    session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
