"""Append to and verify the hash-linked audit log (DESIGN.md, invariant 6).

Each event's hash covers its content and the previous event's hash, so changing or deleting
any past event breaks every later link; ``verify_chain`` finds the first broken one.
Details must hold no personal data beyond pseudonyms.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.db.base import utcnow
from datatorg.identity.actor import Actor

GENESIS = "0" * 64


def _digest(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str,
    outcome: str,
    details: dict[str, Any],
) -> str:
    payload = json.dumps(
        [
            prev_hash,
            seq,
            at.isoformat(),
            str(actor_id) if actor_id else None,
            action,
            target_type,
            target_id,
            outcome,
            details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    target_type: str,
    target_id: str,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    actor_org_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append one event; it commits or rolls back with the caller's transaction."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    at = utcnow().replace(microsecond=utcnow().microsecond // 1000 * 1000)
    seq = head.seq + 1
    clean = json.loads(json.dumps(details or {}, default=str))
    actor_id = actor.user_id if actor else None
    digest = _digest(head.hash, seq, at, actor_id, action, target_type, target_id, outcome, clean)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor_org_id=actor_org_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        details=clean,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq, head.hash = seq, digest
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_seq: int | None = None


def _events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(*, session: Session) -> ChainReport:
    """Recompute every link; report the first event whose hash or link does not hold."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for ev in _events(session):
        digest = _digest(
            prev,
            ev.seq,
            ev.at,
            ev.actor_id,
            ev.action,
            ev.target_type,
            ev.target_id,
            ev.outcome,
            ev.details,
        )
        if ev.seq != expected_seq or ev.prev_hash != prev or ev.hash != digest:
            return ChainReport(ok=False, checked=checked, first_bad_seq=ev.seq)
        prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return ChainReport(ok=False, checked=checked, first_bad_seq=checked + 1)
    return ChainReport(ok=True, checked=checked)


def count(*, session: Session, action: str | None = None, target_id: str | None = None) -> int:
    """How many events match (for tests and dashboards)."""
    stmt = select(func.count()).select_from(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if target_id:
        stmt = stmt.where(AuditEvent.target_id == target_id)
    return int(session.scalar(stmt) or 0)
