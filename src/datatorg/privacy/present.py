"""Consents and notices as the API and the pages show them: words, not codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy import consents, requests, scopes, vocab
from datatorg.privacy.models import (
    VALID_STATES,
    Consent,
    Notice,
    RequestState,
    Subject,
    SubjectRequest,
)
from datatorg.privacy.schemas import (
    ConsentEventRead,
    ConsentPage,
    ConsentRead,
    NoticeRead,
    RequestRead,
)
from datatorg.web.i18n import current_locale


def notice_read(notice: Notice) -> NoticeRead:
    nb = current_locale() == "nb"
    return NoticeRead(
        id=notice.id,
        purpose=notice.purpose,
        purpose_label=vocab.purpose_label(notice.purpose),
        version=notice.version,
        title=notice.title_nb if nb else notice.title_en,
        text=notice.text_nb if nb else notice.text_en,
        retention=notice.retention,
    )


def consent_read(session: Session, consent: Consent, now: datetime | None = None) -> ConsentRead:
    now = now or utcnow()
    info = scopes.scope_info(session, consent)
    state = consents.state_at(consent, now)
    events = consents.events_of(session=session, consent=consent)
    versions = dict(
        session.execute(
            select(Notice.id, Notice.version).where(Notice.id.in_({e.notice_id for e in events}))
        ).all()
    )
    newest = session.scalar(
        select(func.max(Notice.version)).where(Notice.purpose == consent.purpose)
    )
    mine = versions.get(consent.notice_id) or 1
    return ConsentRead(
        id=consent.id,
        purpose=consent.purpose,
        purpose_label=vocab.purpose_label(consent.purpose),
        scope_kind=consent.scope_kind,
        scope_ref=consent.scope_ref,
        scope_label=info.label,
        controller=info.controller,
        state=state.value,
        state_label=vocab.label(vocab.STATE_LABELS, state.value),
        in_force=state in VALID_STATES,
        expires_at=consent.expires_at,
        notice_version=mine,
        newer_notice=bool(newest and newest > mine),
        receipt_url=f"/api/v1/me/consents/{consent.id}/receipt",
        withdraw_url=f"/api/v1/me/consents/{consent.id}/withdraw",
        history=[
            ConsentEventRead(
                at=e.at,
                state=e.state.value,
                state_label=vocab.label(vocab.STATE_LABELS, e.state.value),
                notice_version=versions.get(e.notice_id),
                channel=e.channel,
                channel_label=vocab.label(vocab.CHANNEL_LABELS, e.channel),
                expires_at=e.expires_at,
            )
            for e in events
        ],
    )


def consent_page(session: Session, subject: Subject) -> ConsentPage:
    now = utcnow()
    return ConsentPage(
        items=[
            consent_read(session, c, now)
            for c in consents.list_for(session=session, subject=subject)
        ],
        notices=[notice_read(n) for n in consents.notices(session=session)],
    )


EVENT_LABELS = {
    "create": vocab.N_("Received"),
    "verify": vocab.N_("Identity checked"),
    "extend": vocab.N_("Deadline extended"),
    "complete": vocab.N_("Completed"),
    "reject": vocab.N_("Rejected"),
    "withdraw": vocab.N_("Withdrawn"),
    "lift": vocab.N_("Restriction lifted"),
}


def request_read(req: SubjectRequest) -> RequestRead:
    """A request with words for its type, state and steps (no names)."""
    export = None
    if req.type.value == "access" and req.state == RequestState.completed:
        export = f"/api/v1/me/requests/{req.id}/export.zip"
    return RequestRead(
        id=req.id,
        type=req.type,
        type_label=vocab.label(vocab.REQUEST_TYPE_LABELS, req.type.value),
        state=req.state.value,
        state_label=vocab.label(vocab.REQUEST_STATE_LABELS, req.state.value),
        received_at=req.received_at,
        due_at=req.due_at,
        overdue=requests.overdue(req),
        identity_checked_at=req.identity_checked_at,
        extension_reason=req.extension_reason,
        outcome=req.outcome,
        history=[
            {
                **h,
                "event_label": vocab.label(EVENT_LABELS, str(h.get("event"))),
                "state_label": vocab.label(vocab.REQUEST_STATE_LABELS, str(h.get("state"))),
            }
            for h in req.history
        ],
        export_url=export,
    )
