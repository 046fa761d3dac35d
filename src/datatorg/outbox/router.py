"""The outbox for administrators: counts, recent messages and their outcome (JSON and page).

Recipient, subject and body are never shown: a message is described by its kind, status,
attempts and times. Only superusers may look (404 for everyone else: the page does not
exist for them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from datatorg.errors import NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.outbox import service
from datatorg.outbox.models import OutboxMessage, OutboxStatus
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(tags=["outbox"])

PAGE_SIZE = 50


def N_(message: str) -> str:
    return message


STATUS_LABELS = {
    "pending": N_("Waiting to be sent"),
    "sending": N_("Being sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
}
KIND_LABELS = {
    "request_received": N_("New access request"),
    "request_decided": N_("Access request decided"),
    "counter_offer": N_("Counter-offer"),
    "agreement_expiring": N_("Agreement ends soon"),
    "agreement_suspended": N_("Agreement suspended"),
    "agreement_revoked": N_("Agreement revoked"),
    "agreement_terminated": N_("Agreement ended"),
    # the living lab's messages (pilots.po)
    "idea_answered": N_("Answer to an idea"),
    "idea_ready": N_("Idea ready for a decision"),
    "evaluation_assigned": N_("Evaluation assigned"),
    "pilot_news": N_("News from a pilot"),
    # privacy (datatorg.privacy.notify.KINDS)
    "privacy_request": N_("Data subject request"),
    "privacy_erasure": N_("Data erased"),
    # identity: a password reset link (its body is cleared once delivered)
    "password_reset": N_("Password reset link"),
    "membership_invitation": N_("Invitation to a role"),
}


class OutboxMessageRead(BaseModel):
    id: uuid.UUID
    kind: str
    channel: str
    status: OutboxStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str


class OutboxPage(BaseModel):
    counts: dict[str, int]
    total: int
    limit: int
    offset: int
    items: list[OutboxMessageRead]


def _admin(actor: Actor) -> None:
    if not actor.is_superuser:
        raise NotFound("Not found")


def _page(session: SessionDep, status: OutboxStatus | None, offset: int) -> OutboxPage:
    found = service.summary(session=session, status=status, limit=PAGE_SIZE, offset=offset)
    return OutboxPage(
        counts=found.counts,
        total=found.total,
        limit=PAGE_SIZE,
        offset=offset,
        items=[_read(m) for m in found.messages],
    )


def _read(m: OutboxMessage) -> OutboxMessageRead:
    return OutboxMessageRead(
        id=m.id,
        kind=m.kind,
        channel=m.channel,
        status=m.status,
        attempts=m.attempts,
        created_at=m.created_at,
        next_attempt_at=m.next_attempt_at,
        delivered_at=m.delivered_at,
        last_error=m.last_error,
    )


Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/api/v1/admin/outbox", dependencies=[perm.SUPERUSER_HIDDEN])
def outbox_api(
    session: SessionDep, actor: ActorDep, status: OutboxStatus | None = None, offset: Offset = 0
) -> OutboxPage:
    """Messages waiting, delivered and failed (superusers only; no recipients or contents)."""
    _admin(actor)
    return _page(session, status, offset)


@router.get("/admin/outbox", dependencies=[perm.SUPERUSER_HIDDEN])
def outbox_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: OutboxStatus | None = None,
    offset: Offset = 0,
) -> Response:
    """The outbox page (the same service as the JSON twin)."""
    _admin(actor)
    page = _page(session, status, offset)
    return render(
        request,
        "outbox/outbox.html",
        {
            "page": page,
            "status": status,
            "status_labels": {k: _(v) for k, v in STATUS_LABELS.items()},
            "kind_labels": {k: _(v) for k, v in KIND_LABELS.items()},
        },
    )
