"""Append to and verify the hash-linked audit log (DESIGN.md, invariant 6).

Each event's hash covers its content and the previous event's hash, so changing or deleting
any past event breaks every later link; ``verify_chain`` finds the first broken one.
Details must hold no personal data beyond pseudonyms.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Update, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.db import waits
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


@dataclass(frozen=True)
class NewEvent:
    """One event to append; ``record_many`` gives it its place in the chain."""

    action: str
    target_type: str
    target_id: str
    outcome: str = "ok"
    details: dict[str, Any] | None = None
    actor_id: uuid.UUID | None = None
    actor_org_id: uuid.UUID | None = None


_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]


# Built once: appends are on every read's path.
_TOUCH_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_EVENTS = insert(_EVENTS)
_SET_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


# The largest batch appended with its head in one statement (11 parameters a row); a read
# journal's batch is mostly a handful of reads.
ONE_STATEMENT_ROWS = 64
_APPEND_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_org_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "details",
    "prev_hash",
    "hash",
)


@functools.lru_cache(maxsize=ONE_STATEMENT_ROWS)
def _append_statement(rows: int) -> Update:
    """PostgreSQL: ``rows`` events and the new head in one statement (a data-modifying WITH
    of one single-row insert per event), built once per batch size from named parameters
    (``r{i}_{column}``, ``new_seq``, ``new_hash``). A multi-row ``VALUES`` has no cache key in
    SQLAlchemy: it was compiled anew for every append, a third of a download's CPU."""
    statement = _SET_HEAD
    for i in range(rows):
        values = {c: bindparam(f"r{i}_{c}", type_=_EVENTS.c[c].type) for c in _APPEND_COLUMNS}
        statement = statement.add_cte(insert(_EVENTS).values(values).cte(f"appended_{i}"))
    return statement


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row and read it in one statement (``UPDATE … RETURNING``).

    Starting with a write also makes a SQLite transaction wait its turn for the write lock
    instead of failing on a read-to-write upgrade. A missing head (a fresh database) is
    created once, even by two writers at the same moment.
    """
    touch = _TOUCH_HEAD
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The row lock may be held elsewhere (another worker's append, a long transaction of
        # the command line): a wait that lasts gives the request's admission place on.
        with waits.Wait() as wait:
            wait.begin()
            row = session.execute(touch).first()
    else:  # SQLite: the writer turn, taken before, is the lock (db.writes)
        row = session.execute(touch).first()
    if row is None:
        insert = pg_insert if postgres else sqlite_insert
        session.execute(insert(_HEAD).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
        row = session.execute(touch).one()
    return int(row[0]), str(row[1])


def record_many(*, session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append ``events`` in order with one head lock, one multi-row insert, one head update.

    Each hash chains on the previous one exactly as ``record`` does, so ``verify_chain``
    cannot tell a batch from single appends. The rows commit or roll back with the caller's
    transaction. Returns the appended events (not attached to the session).
    """
    return [AuditEvent(**r) for r in append_rows(session=session, events=events)]


def append_rows(*, session: Session, events: Sequence[NewEvent]) -> list[dict[str, Any]]:
    """``record_many`` returning the appended rows as plain dicts (no ORM objects): the
    read journal's path, which needs none."""
    if not events:
        return []
    seq, prev = _lock_head(session)
    now = utcnow()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    rows: list[dict[str, Any]] = []
    for ev in events:
        seq += 1
        clean = json.loads(json.dumps(ev.details or {}, default=str))
        digest = _digest(
            prev, seq, at, ev.actor_id, ev.action, ev.target_type, ev.target_id, ev.outcome, clean
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor_id": ev.actor_id,
                "actor_org_id": ev.actor_org_id,
                "action": ev.action,
                "target_type": ev.target_type,
                "target_id": ev.target_id,
                "outcome": ev.outcome,
                "details": clean,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if len(rows) <= ONE_STATEMENT_ROWS and session.get_bind().dialect.name == "postgresql":
        # The events and the new head in one statement (a data-modifying WITH): the head row
        # stays locked one round trip less, and every audited write of every worker queues
        # for it. A larger batch is inserted as before, in as many statements as its bound
        # parameters need (PostgreSQL takes at most 65,535 in one).
        params: dict[str, Any] = {"new_seq": seq, "new_hash": prev}
        for i, row in enumerate(rows):
            params.update({f"r{i}_{c}": row[c] for c in _APPEND_COLUMNS})
        session.execute(_append_statement(len(rows)), params)
    else:
        session.execute(_INSERT_EVENTS, rows)
        session.execute(_SET_HEAD, {"new_seq": seq, "new_hash": prev})
    return rows


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
    event = NewEvent(
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        details=details,
        actor_id=actor.user_id if actor else None,
        actor_org_id=actor_org_id,
    )
    return record_many(session=session, events=[event])[0]


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
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
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


def most_read(*, session: Session, since: datetime, limit: int = 5) -> list[tuple[str, int]]:
    """The datasets read most since ``since``: (dataset id, granted reads), most first."""
    n = func.count().label("n")
    rows = session.execute(
        select(AuditEvent.target_id, n)
        .where(
            AuditEvent.action == "data.read",
            AuditEvent.outcome == "ok",
            AuditEvent.at >= since,
        )
        .group_by(AuditEvent.target_id)
        .order_by(n.desc(), AuditEvent.target_id)
        .limit(limit)
    ).all()
    return [(str(t), int(c)) for t, c in rows]
