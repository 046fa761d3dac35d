"""Calls for ideas: a coordinator opens one with a theme, a period, criteria and a threshold."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, NotFound
from datatorg.identity.actor import Actor
from datatorg.pilots import policies
from datatorg.pilots.common import page_of
from datatorg.pilots.models import Call, Idea
from datatorg.pilots.schemas import CallCreate, CallRead, Labelled
from datatorg.pilots.vocab import CRITERIA, DEFAULT_WEIGHTS, label
from datatorg.web.i18n import gettext as _

CallState = Literal["upcoming", "open", "closed"]


def today() -> date:
    return utcnow().date()


def call_state(call: Call, on: date | None = None) -> CallState:
    on = on or today()
    if on < call.opens_on:
        return "upcoming"
    return "open" if on <= call.closes_on else "closed"


def weights_of(call: Call | None) -> dict[str, int]:
    """The criteria weights of ``call`` (the defaults without a call)."""
    if call is None or not call.weights:
        return dict(DEFAULT_WEIGHTS)
    return {c: int(call.weights.get(c, 0)) for c in CRITERIA}


def create_call(*, session: Session, actor: Actor, data: CallCreate) -> Call:
    """Open a call for ideas (coordinators)."""
    if not policies.can_open_call(actor):
        raise Forbidden(_("Only living-lab coordinators open calls for ideas."))
    call = Call(
        title=data.title,
        theme=data.theme,
        description=data.description,
        criteria=data.criteria,
        weights=dict(data.weights) if data.weights else dict(DEFAULT_WEIGHTS),
        domains=[d.value for d in data.domains],
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        support_threshold=data.support_threshold,
        created_by=actor.user_id,
    )
    session.add(call)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="pilots.call.create",
        target_type="call",
        target_id=str(call.id),
    )
    return call


def get_call(*, session: Session, call_id: uuid.UUID) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(_("No such call for ideas."))
    return call


def list_calls(
    *,
    session: Session,
    state: CallState | None = None,
    page: int = 1,
    per_page: int = 20,
    on: date | None = None,
) -> tuple[list[Call], int]:
    """Calls: open ones first (closing soonest), then upcoming, then closed (newest first)."""
    on = on or today()
    is_open = and_(Call.opens_on <= on, Call.closes_on >= on)
    stmt = select(Call)
    if state == "open":
        stmt = stmt.where(is_open)
    elif state == "upcoming":
        stmt = stmt.where(Call.opens_on > on)
    elif state == "closed":
        stmt = stmt.where(Call.closes_on < on)
    rank = case((is_open, 0), (Call.opens_on > on, 1), else_=2)
    stmt = stmt.order_by(
        rank, case((is_open, Call.closes_on), else_=None), Call.closes_on.desc(), Call.id
    )
    return page_of(session, stmt, page, per_page)


def open_calls(*, session: Session, on: date | None = None) -> list[Call]:
    on = on or today()
    return list(
        session.scalars(
            select(Call)
            .where(Call.opens_on <= on, Call.closes_on >= on)
            .order_by(Call.closes_on, Call.id)
        ).all()
    )


def idea_counts(session: Session, call_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not call_ids:
        return {}
    rows = session.execute(
        select(Idea.call_id, func.count()).where(Idea.call_id.in_(call_ids)).group_by(Idea.call_id)
    )
    return {r[0]: int(r[1]) for r in rows if r[0] is not None}


def call_read(call: Call, idea_count: int) -> CallRead:
    weights = weights_of(call)
    state = call_state(call)
    return CallRead(
        id=call.id,
        title=call.title,
        theme=call.theme,
        description=call.description,
        criteria=call.criteria,
        weights=[
            {"criterion": c, "label": label("criterion", c), "weight": w}
            for c, w in weights.items()
        ],
        domains=[Labelled(code=d, label=label("domain", d)) for d in call.domains],
        opens_on=call.opens_on,
        closes_on=call.closes_on,
        support_threshold=call.support_threshold,
        state=Labelled(code=state, label=label("call_state", state)),
        idea_count=idea_count,
        url=f"/calls/{call.id}",
    )
