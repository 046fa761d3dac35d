"""Data subject requests (GDPR art. 15–21) as state machines.

::

    (new) --create--> received --verify (identity checked)--> verified --extend--> extended
       received | verified | extended --reject--> rejected      (a reason is required)
       received | verified | extended --withdraw (the subject)--> withdrawn
       verified | extended --complete--> completed              (the request's effect runs)

A request made by a citizen whose subject holds an identity vouched for by a trusted
electronic ID (ID-porten's national identity number) is verified at once; otherwise a
steward checks the identity and names the method. The due date is one month after receipt;
a steward may extend it by two more months while the first month runs, with a reason that
is sent to the subject. Every step is kept in the request's ``history`` (no names) and in
the audit log. Completing runs the effect: access (the export becomes downloadable),
rectification (a steward has published the corrected version), erasure (``erasure``),
restriction (the subject's rows leave every read), objection (the subject's rows leave
every read of the named dataset).
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role
from datatorg.privacy import notify
from datatorg.privacy.models import (
    DatasetDeclaration,
    IdentityKind,
    Objection,
    RequestState,
    RequestType,
    Subject,
    SubjectIdentity,
    SubjectRequest,
)
from datatorg.privacy.vocab import N_
from datatorg.settings import Settings

OPEN = (RequestState.received, RequestState.verified, RequestState.extended)
TRANSITIONS: dict[str, tuple[tuple[RequestState, ...], RequestState]] = {
    "verify": ((RequestState.received,), RequestState.verified),
    "extend": ((RequestState.verified,), RequestState.extended),
    "complete": ((RequestState.verified, RequestState.extended), RequestState.completed),
    "reject": (OPEN, RequestState.rejected),
    "withdraw": (OPEN, RequestState.withdrawn),
}
STEWARD_ACTIONS = ("verify", "extend", "complete", "reject")
TRUSTED_EID = "eID (ID-porten)"


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months (the 31st becomes the month's last day)."""
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def _controller_orgs() -> Select[uuid.UUID]:
    """Organisations that publish datasets with data subjects (as ``notify.steward_ids``)."""
    return select(Dataset.publisher_id).join(
        DatasetDeclaration, DatasetDeclaration.dataset_id == Dataset.id
    )


def can_handle(session: Session, actor: Actor) -> bool:
    """Superusers and the stewards of an organisation that publishes datasets with data
    subjects (those ``notify.steward_ids`` tells of new requests) handle data subject
    requests. A steward of an organisation without personal data (a sensor vendor, a
    startup: any organisation's admin can name one) never sees a citizen's request."""
    if actor.is_superuser:
        return True
    orgs = {org for org, role in actor.roles if role == Role.steward}
    return bool(orgs) and bool(orgs & set(session.scalars(_controller_orgs())))


def next_state(state: RequestState, action: str) -> RequestState:
    """The state after ``action``, or ``Conflict`` naming the state and the action."""
    if action not in TRANSITIONS:
        raise Invalid(N_("Unknown action"), errors=[{"field": "action", "message": "unknown"}])
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise Conflict(
            f"A request that is {state.value} cannot be {action}ed",
            state=state.value,
            event=action,
        )
    return target


def _step(req: SubjectRequest, action: str, by: str, now: datetime, **extra: Any) -> None:
    req.state = next_state(req.state, action)
    req.history = [
        *req.history,
        {"at": now.isoformat(), "event": action, "state": req.state.value, "by": by, **extra},
    ]


def _audit(session: Session, actor: Actor | None, req: SubjectRequest, action: str) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=f"privacy.request.{action}",
        target_type="subject_request",
        target_id=str(req.id),
        details={"type": req.type.value, "state": req.state.value},
    )


def create(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    subject: Subject,
    type: RequestType,
    details: dict[str, Any],
    now: datetime | None = None,
) -> SubjectRequest:
    """Receive a request; verified at once when a trusted eID vouched for the subject."""
    now = now or utcnow()
    open_same = session.scalar(
        select(func.count())
        .select_from(SubjectRequest)
        .where(
            SubjectRequest.subject_id == subject.id,
            SubjectRequest.type == type,
            SubjectRequest.state.in_(OPEN),
        )
    )
    if open_same:
        raise Conflict(N_("You already have an open request of this kind"))
    req = SubjectRequest(
        id=uuid.uuid4(),
        subject_id=subject.id,
        user_id=actor.user_id,
        type=type,
        state=RequestState.received,
        received_at=now,
        due_at=add_months(now, 1),
        details=details,
        history=[{"at": now.isoformat(), "event": "create", "state": "received", "by": "subject"}],
    )
    session.add(req)
    session.flush()
    _audit(session, actor, req, "create")
    eid = session.scalar(
        select(SubjectIdentity.id).where(
            SubjectIdentity.subject_id == subject.id,
            SubjectIdentity.kind == IdentityKind.national_id,
        )
    )
    if eid is not None:
        _step(req, "verify", "platform", now, method=TRUSTED_EID)
        req.identity_checked_at, req.identity_method = now, TRUSTED_EID
        _audit(session, None, req, "verify")
    notify.stewards(session=session, settings=settings, request=req)
    return req


def act(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    req: SubjectRequest,
    action: str,
    reason: str = "",
    method: str = "",
    effects: dict[RequestType, Callable[[SubjectRequest], dict[str, Any]]] | None = None,
    now: datetime | None = None,
) -> SubjectRequest:
    """A steward's (or, for ``withdraw``, the subject's) step; ``effects`` run on completion."""
    now = now or utcnow()
    if action in STEWARD_ACTIONS and not can_handle(session, actor):
        raise Forbidden(N_("Only stewards handle data subject requests"))
    if action == "withdraw" and (actor.user_id is None or actor.user_id != req.user_id):
        raise Forbidden(N_("Only the person who made the request may withdraw it"))
    if action == "verify" and not method.strip():
        raise Invalid(N_("Say how the identity was checked"), errors=[_field("method")])
    if action in ("reject", "extend") and not reason.strip():
        raise Invalid(N_("Give a reason"), errors=[_field("reason")])
    if action == "extend" and now >= add_months(req.received_at, 1):
        raise Conflict(N_("The deadline can only be extended within the first month"))
    target = next_state(req.state, action)
    if action == "complete":
        effect = (effects or {}).get(req.type)
        req.outcome = effect(req) if effect else {}
    by = "subject" if action == "withdraw" else "steward"
    _step(req, action, by, now, **({"reason": reason} if reason else {}))
    assert req.state == target
    if action == "verify":
        req.identity_checked_at, req.identity_method = now, method.strip()[:40]
    if action == "extend":
        req.due_at = add_months(req.received_at, 3)
        req.extension_reason = reason.strip()
    if action in STEWARD_ACTIONS:
        req.decided_by = actor.user_id
    session.flush()
    _audit(session, actor, req, action)
    if action in ("extend", "complete", "reject"):
        notify.subject(session=session, settings=settings, request=req)
    return req


def _field(name: str) -> dict[str, str]:
    return {"field": name, "message": "required"}


def get_own(*, session: Session, actor: Actor, request_id: uuid.UUID) -> SubjectRequest:
    req = session.get(SubjectRequest, request_id)
    if req is None or req.user_id is None or req.user_id != actor.user_id:
        raise NotFound(N_("No such request"))
    return req


def get_for_steward(*, session: Session, actor: Actor, request_id: uuid.UUID) -> SubjectRequest:
    if not can_handle(session, actor):
        raise NotFound(N_("No such request"))
    req = session.get(SubjectRequest, request_id)
    if req is None:
        raise NotFound(N_("No such request"))
    return req


def list_own(*, session: Session, actor: Actor) -> list[SubjectRequest]:
    return list(
        session.scalars(
            select(SubjectRequest)
            .where(SubjectRequest.user_id == actor.user_id)
            .order_by(SubjectRequest.received_at.desc())
        )
    )


def queue(
    *,
    session: Session,
    actor: Actor,
    open_only: bool = True,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[SubjectRequest], int]:
    """The stewards' queue, the most urgent first."""
    if not actor.is_superuser and not actor.has_any_role(Role.steward):
        raise Forbidden(N_("Only stewards handle data subject requests"))
    if not can_handle(session, actor):
        return [], 0  # a steward of an organisation without personal data has no requests
    where = [SubjectRequest.state.in_(OPEN)] if open_only else []
    total = int(session.scalar(select(func.count()).select_from(SubjectRequest).where(*where)) or 0)
    rows = session.scalars(
        select(SubjectRequest)
        .where(*where)
        .order_by(SubjectRequest.due_at, SubjectRequest.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def objected_subject_ids(*, session: Session, dataset_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(select(Objection.subject_id).where(Objection.dataset_id == dataset_id))
    )


def overdue(req: SubjectRequest, now: datetime | None = None) -> bool:
    return req.state in OPEN and (now or utcnow()) > req.due_at
