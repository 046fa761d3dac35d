"""What completing a data subject request does, per type (``requests.act`` runs these)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Invalid
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.privacy import erasure
from datatorg.privacy.models import (
    Objection,
    RequestState,
    RequestType,
    Subject,
    SubjectRequest,
)
from datatorg.privacy.vocab import N_
from datatorg.settings import Settings

Effect = Callable[[SubjectRequest], dict[str, Any]]


def _subject(session: Session, req: SubjectRequest) -> Subject:
    subject = session.get(Subject, req.subject_id) if req.subject_id else None
    if subject is None:
        raise Conflict(N_("The request's data subject no longer exists"))
    return subject


def effects(*, session: Session, settings: Settings) -> dict[RequestType, Effect]:
    def access(req: SubjectRequest) -> dict[str, Any]:
        _subject(session, req)
        return {"export": f"/api/v1/me/requests/{req.id}/export.zip"}

    def rectification(req: SubjectRequest) -> dict[str, Any]:
        ref = str(req.details.get("dataset") or "")
        if not ref:
            return {"note": "no dataset named"}
        try:
            head = lake.head(session=session, dataset_id=uuid.UUID(ref))
        except ValueError:
            head = None
        return {"dataset": ref, "version": head.number if head else None}

    def erase(req: SubjectRequest) -> dict[str, Any]:
        subject = _subject(session, req)
        return erasure.erase_subject(
            session=session,
            settings=settings,
            subject_id=subject.id,
            subject_key=subject.subject_key,
            request_id=req.id,
        )

    def restrict(req: SubjectRequest) -> dict[str, Any]:
        subject = _subject(session, req)
        subject.restricted_at = subject.restricted_at or utcnow()
        return {"restricted": True}

    def object_(req: SubjectRequest) -> dict[str, Any]:
        subject = _subject(session, req)
        ref = str(req.details.get("dataset") or "")
        try:
            dataset_id = uuid.UUID(ref)
        except ValueError:
            raise Invalid(N_("An objection names one dataset")) from None
        if session.get(Objection, (subject.id, dataset_id)) is None:
            session.add(Objection(subject_id=subject.id, dataset_id=dataset_id))
        return {"dataset": ref, "objection": True}

    return {
        RequestType.access: access,
        RequestType.rectification: rectification,
        RequestType.erasure: erase,
        RequestType.restriction: restrict,
        RequestType.objection: object_,
    }


def lift_restriction(*, session: Session, actor: Actor, req: SubjectRequest) -> None:
    """End a completed restriction (a steward): the subject's rows are read again."""
    if req.type != RequestType.restriction or req.state != RequestState.completed:
        raise Conflict(N_("Only a completed restriction can be lifted"))
    subject = _subject(session, req)
    if subject.restricted_at is None:
        return
    subject.restricted_at = None
    now = utcnow()
    req.history = [
        *req.history,
        {"at": now.isoformat(), "event": "lift", "state": req.state.value, "by": "steward"},
    ]
    req.outcome = {**req.outcome, "restricted": False, "lifted_at": now.isoformat()}
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="privacy.request.lift",
        target_type="subject_request",
        target_id=str(req.id),
        details={"type": req.type.value},
    )
