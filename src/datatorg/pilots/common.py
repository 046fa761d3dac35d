"""Small helpers the living lab's services share: paging, names, notices, the timeline."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.identity.models import Membership, Role, User
from datatorg.market import service as market
from datatorg.settings import Settings

T = TypeVar("T")
MAX_PAGE = 10_000


def page_of(session: Session, stmt: Select[T], page: int, per_page: int) -> tuple[list[T], int]:
    """One page of ``stmt`` (already ordered) and the total count."""
    total = int(
        session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of users, by id (a deleted account has no entry)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {r[0]: r[1] for r in rows}


def holders_of(session: Session, *roles: Role) -> list[uuid.UUID]:
    """Users holding any of ``roles`` in any organisation."""
    rows = session.scalars(
        select(Membership.user_id).where(Membership.role.in_(roles)).distinct()
    ).all()
    return sorted(set(rows))


def notify(
    session: Session,
    settings: Settings | None,
    user_ids: Iterable[uuid.UUID | None],
    kind: str,
    subject: str,
    body: str,
    link: str,
    params: dict[str, str] | None = None,
) -> None:
    """A message in each user's inbox and an e-mail through the outbox, in their language;
    ``subject`` and ``body`` are msgids (marked with ``N_``). Both are written in ``session``'s
    transaction: the mail leaves after it commits, never if it rolls back."""
    ids = [i for i in user_ids if i is not None]
    if ids:
        market.notify(
            session=session,
            settings=settings,
            user_ids=ids,
            kind=kind,
            subject=subject,
            body=body,
            link=link,
            params=params,
        )


def history_entry(event: str, state: str, actor_id: uuid.UUID | None, note: str = "") -> Any:
    entry: dict[str, Any] = {"event": event, "state": state, "at": utcnow().isoformat()}
    if actor_id is not None:
        entry["by"] = str(actor_id)
    if note:
        entry["note"] = note[:500]
    return entry
