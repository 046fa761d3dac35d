"""Agreements: made from a finished negotiation, frozen, hashed; suspended, revoked, ended."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, NotFound
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import ApiToken, Role, User
from datatorg.market import policies
from datatorg.market.models import AccessRequest, Agreement, AgreementState, Offer
from datatorg.market.notify import N_, dataset_title, notify, org_deciders
from datatorg.settings import Settings
from datatorg.web import labels


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=UTC)


def canonical_content(agreement: Agreement) -> dict[str, Any]:
    """What the content hash covers: parties, target, purpose, every term, the time agreed."""
    return {
        "id": str(agreement.id),
        "assigner": str(agreement.assigner_org_id),
        "assignee_org": str(agreement.assignee_org_id) if agreement.assignee_org_id else None,
        "assignee_user": str(agreement.assignee_user_id),
        "target": str(agreement.dataset_id),
        "purpose": agreement.purpose,
        "legal_basis": agreement.legal_basis,
        "columns": sorted(agreement.columns) if agreement.columns is not None else None,
        "aggregate_only": agreement.aggregate_only,
        "calls_per_day": agreement.calls_per_day,
        "rows_per_month": agreement.rows_per_month,
        "price_model": agreement.price_model.value,
        "price_nok": f"{agreement.price_nok:.2f}",
        "licence": agreement.licence,
        "attribution_required": agreement.attribution_required,
        "redistribution_prohibited": agreement.redistribution_prohibited,
        "valid_from": agreement.valid_from.astimezone(UTC).isoformat(),
        "valid_until": agreement.valid_until.astimezone(UTC).isoformat(),
        "agreed_at": agreement.agreed_at.astimezone(UTC).isoformat(),
    }


def content_hash(agreement: Agreement) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the content."""
    payload = json.dumps(
        canonical_content(agreement), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def verify_hash(agreement: Agreement) -> bool:
    """Whether the stored content still matches the hash taken when it was agreed."""
    return content_hash(agreement) == agreement.content_hash


def make_agreement(*, session: Session, request: AccessRequest, offer: Offer) -> Agreement:
    """The agreement for a negotiation that reached AGREED (terms taken from both)."""
    now = utcnow().replace(microsecond=0)
    agreement = Agreement(
        id=uuid.uuid4(),
        request_id=request.id,
        offer_id=offer.id,
        dataset_id=request.dataset_id,
        assigner_org_id=request.provider_org_id,
        assignee_org_id=request.consumer_org_id,
        assignee_user_id=request.consumer_user_id,
        purpose=request.purpose,
        legal_basis=offer.legal_basis,
        columns=list(request.columns) if request.columns is not None else None,
        aggregate_only=offer.aggregate_only,
        calls_per_day=offer.calls_per_day,
        rows_per_month=offer.rows_per_month,
        price_model=offer.price_model,
        price_nok=offer.price_nok,
        licence=offer.licence,
        attribution_required=offer.attribution_required,
        redistribution_prohibited=offer.redistribution_prohibited,
        valid_from=day_start(request.period_start),
        valid_until=day_start(request.period_end) + timedelta(days=1),
        agreed_at=now,
        state=AgreementState.active,
        content_hash="",
    )
    agreement.content_hash = content_hash(agreement)
    session.add(agreement)
    session.flush()
    return agreement


def effective_state(agreement: Agreement, now: datetime | None = None) -> str:
    """The state as shown: ``expired`` once the period is over, else the stored state."""
    now = now or utcnow()
    if agreement.state == AgreementState.active and agreement.valid_until <= now:
        return "expired"
    if agreement.state == AgreementState.active and agreement.valid_from > now:
        return "pending"
    return agreement.state.value


def get_agreement(*, session: Session, agreement_id: uuid.UUID) -> Agreement:
    found = session.get(Agreement, agreement_id)
    if found is None:
        raise NotFound("No such agreement")
    return found


def get_visible_agreement(*, session: Session, actor: Actor, agreement_id: uuid.UUID) -> Agreement:
    agreement = get_agreement(session=session, agreement_id=agreement_id)
    if not policies.reaches_agreement(actor, agreement.id) or not policies.can_view_agreement(
        actor, agreement.assignee_user_id, agreement.assignee_org_id, agreement.assigner_org_id
    ):
        raise NotFound("No such agreement")  # do not reveal that it exists
    return agreement


def list_agreements(
    *, session: Session, actor: Actor, as_provider: bool, limit: int = 50, offset: int = 0
) -> tuple[list[Agreement], int]:
    """The actor's agreements as consumer, or its organisations' as provider (a key made for
    one agreement: that one, when it is on the side asked for)."""
    cond: ColumnElement[bool]
    if as_provider:
        orgs = actor.org_ids(Role.steward, Role.publisher)
        cond = Agreement.assigner_org_id.in_(orgs) if not actor.is_superuser else true()
    else:
        cond = or_(
            Agreement.assignee_user_id == actor.user_id,
            Agreement.assignee_org_id.in_(actor.org_ids(Role.consumer)),
        )
    if actor.agreement_id is not None:
        cond = and_(cond, Agreement.id == actor.agreement_id)
    stmt = select(Agreement).where(cond)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(Agreement.agreed_at.desc(), Agreement.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def _title(session: Session, agreement: Agreement) -> labels.Label:
    """The dataset's title in both languages (each recipient reads their own)."""
    return dataset_title(session, agreement.dataset_id)


def _change_state(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    agreement: Agreement,
    to: AgreementState,
    reason: str,
    action: str,
) -> Agreement:
    if agreement.state in (AgreementState.revoked, AgreementState.terminated):
        raise Conflict(f"The agreement is already {agreement.state.value}")
    if agreement.state == to:
        raise Conflict(f"The agreement is already {to.value}")
    agreement.state = to
    agreement.state_reason = reason
    agreement.state_changed_at = utcnow()
    audit.record(
        session=session,
        actor=actor,
        action=action,
        target_type="agreement",
        target_id=str(agreement.id),
        details={"state": to.value, "dataset_id": str(agreement.dataset_id)},
    )
    session.flush()
    return agreement


def suspend(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    agreement_id: uuid.UUID,
    reason: str,
) -> Agreement:
    """The provider pauses an agreement; reads are refused until it is resumed."""
    agreement = get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if not policies.can_suspend_or_revoke(actor, agreement.assigner_org_id):
        raise Forbidden("Only the provider's stewards suspend an agreement")
    _change_state(
        session=session,
        settings=settings,
        actor=actor,
        agreement=agreement,
        to=AgreementState.suspended,
        reason=reason,
        action="agreement.suspend",
    )
    notify(
        session=session,
        settings=settings,
        user_ids=[agreement.assignee_user_id],
        kind="agreement_suspended",
        subject=N_("Your agreement on {dataset} was suspended"),
        body=N_("Your agreement on {dataset} was suspended. Reason: {reason}"),
        link=f"/market/agreements/{agreement.id}",
        params={"dataset": _title(session, agreement), "reason": reason},
    )
    return agreement


def resume(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    agreement_id: uuid.UUID,
    reason: str,
) -> Agreement:
    """The provider lifts a suspension."""
    agreement = get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if not policies.can_suspend_or_revoke(actor, agreement.assigner_org_id):
        raise Forbidden("Only the provider's stewards resume an agreement")
    if agreement.state != AgreementState.suspended:
        raise Conflict("Only a suspended agreement can be resumed")
    return _change_state(
        session=session,
        settings=settings,
        actor=actor,
        agreement=agreement,
        to=AgreementState.active,
        reason=reason,
        action="agreement.resume",
    )


def revoke(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    agreement_id: uuid.UUID,
    reason: str,
) -> Agreement:
    """The provider ends an agreement for good; the next read is refused."""
    agreement = get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if not policies.can_suspend_or_revoke(actor, agreement.assigner_org_id):
        raise Forbidden("Only the provider's stewards revoke an agreement")
    _change_state(
        session=session,
        settings=settings,
        actor=actor,
        agreement=agreement,
        to=AgreementState.revoked,
        reason=reason,
        action="agreement.revoke",
    )
    _revoke_tokens(session, agreement.id)
    notify(
        session=session,
        settings=settings,
        user_ids=[agreement.assignee_user_id],
        kind="agreement_revoked",
        subject=N_("Your agreement on {dataset} was revoked"),
        body=N_("Your agreement on {dataset} was revoked. Reason: {reason}"),
        link=f"/market/agreements/{agreement.id}",
        params={"dataset": _title(session, agreement), "reason": reason},
    )
    return agreement


def terminate(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    agreement_id: uuid.UUID,
    reason: str,
) -> Agreement:
    """The consumer ends its own agreement."""
    agreement = get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if not policies.can_terminate(actor, agreement.assignee_user_id, agreement.assignee_org_id):
        raise Forbidden("Only the consumer ends an agreement this way")
    _change_state(
        session=session,
        settings=settings,
        actor=actor,
        agreement=agreement,
        to=AgreementState.terminated,
        reason=reason,
        action="agreement.terminate",
    )
    _revoke_tokens(session, agreement.id)
    notify(
        session=session,
        settings=settings,
        user_ids=org_deciders(session=session, org_id=agreement.assigner_org_id),
        kind="agreement_terminated",
        subject=N_("The agreement on {dataset} was ended by the consumer"),
        body=N_("The agreement on {dataset} was ended by the consumer."),
        link=f"/market/agreements/{agreement.id}",
        params={"dataset": _title(session, agreement)},
    )
    return agreement


def _revoke_tokens(session: Session, agreement_id: uuid.UUID) -> None:
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(ApiToken.agreement_id == agreement_id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now


def create_agreement_token(
    *, session: Session, actor: Actor, agreement_id: uuid.UUID, name: str, days: int
) -> tuple[str, ApiToken]:
    """An API token that reads through this one agreement only (shown once)."""
    agreement = get_visible_agreement(session=session, actor=actor, agreement_id=agreement_id)
    if not policies.can_create_agreement_token(actor, agreement.assignee_user_id):
        raise Forbidden("Only the consumer the agreement was made with creates its tokens")
    state = effective_state(agreement)
    if state in ("revoked", "terminated", "expired"):
        raise Conflict("The agreement is no longer in force", code="agreement_ended")
    if state == "pending":
        # a key that cannot read yet invites the wrong conclusion; make it on the first day
        raise Conflict("The agreement has not started yet", code="agreement_not_started")
    user = session.get(User, agreement.assignee_user_id)
    assert user is not None
    expires = min(utcnow() + timedelta(days=days), agreement.valid_until)
    plaintext, record = identity.create_token(
        session=session, user=user, name=name, expires_at=expires, agreement_id=agreement.id
    )
    audit.record(
        session=session,
        actor=actor,
        action="agreement.token",
        target_type="agreement",
        target_id=str(agreement.id),
        details={"token_id": str(record.id)},
    )
    return plaintext, record


def notify_expiring(
    *,
    session: Session,
    settings: Settings | None,
    within_days: int = 14,
    now: datetime | None = None,
) -> int:
    """Tell consumers (once) that an active agreement ends within ``within_days``."""
    now = now or utcnow()
    due = session.scalars(
        select(Agreement).where(
            Agreement.state == AgreementState.active,
            Agreement.valid_until > now,
            Agreement.valid_until <= now + timedelta(days=within_days),
            Agreement.expiry_notified_at.is_(None),
        )
    ).all()
    for agreement in due:
        notify(
            session=session,
            settings=settings,
            user_ids=[agreement.assignee_user_id],
            kind="agreement_expiring",
            subject=N_("Your agreement on {dataset} ends soon"),
            body=N_("Your agreement on {dataset} ends on {date}. Ask for a new one in time."),
            link=f"/market/agreements/{agreement.id}",
            params={
                "dataset": _title(session, agreement),
                "date": (agreement.valid_until - timedelta(days=1)).date(),
            },
        )
        agreement.expiry_notified_at = now
    session.flush()
    return len(due)
