"""The read pipeline's quota and record steps (``access.pipeline``): take the quota before
the read runs, give it back when it fails, record the read (audit, usage, disclosures)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from datatorg.access import decision, journal, query
from datatorg.db import writes
from datatorg.db.base import utcnow
from datatorg.errors import TooManyRequests
from datatorg.market import service as market

if TYPE_CHECKING:
    from datatorg.access.pipeline import Read

log = logging.getLogger("datatorg.access.pipeline")


def reserve(session: Session, r: Read, q: query.Query | None, rows: int | None = None) -> None:
    """Take this read's share of the agreement's quotas before it runs: one call and up to
    ``rows`` rows (default: the query's page size), in a transaction of its own committed
    at once. The query's size is cut to the rows granted; none left is a 429 (audited)."""
    d = r.decision
    if d.agreement_id is None or not d.quota:
        hold(r)
        return
    want = rows if rows is not None else (q.size if q is not None else 0)
    writes.begin(session)  # a write transaction of its own (SQLite: the writer's turn first)
    got = market.reserve_quota(
        session=session,
        agreement_id=d.agreement_id,
        calls_per_day=d.calls_per_day,
        rows_per_month=d.rows_per_month,
        rows=want,
    )
    if isinstance(got, market.Exhausted):
        session.rollback()
        raise decision.deny(
            session,
            r.actor,
            r.dataset,
            r.channel,
            f"quota: {got.reason}",
            TooManyRequests(got.reason, retry_after=got.retry_after, failed_term="quota"),
        )
    session.commit()
    r.reservation = got
    if q is not None and got.rows is not None:
        q.size = min(q.size, got.rows)


def hold(r: Read) -> None:
    """The reservation of a read under an agreement without quotas: nothing is taken, the
    read is billed on the day it started."""
    if r.decision.agreement_id is not None:
        r.reservation = market.Reservation(r.decision.agreement_id, utcnow(), None, None, None)


def holds_quota(r: Read) -> bool:
    """Whether the read took a share of a quota (that ``release`` would give back)."""
    res = r.reservation
    return res is not None and (res.day is not None or res.month is not None)


def release(session: Session, r: Read) -> None:
    """The read failed: give back its quota (a transaction of its own)."""
    res = r.reservation
    if res is None or (res.day is None and res.month is None):
        return
    r.reservation = None
    try:
        session.rollback()
        writes.begin(session)
        market.release_quota(session=session, reservation=res)
        session.commit()
    except Exception:  # the read's own error is what the caller reports
        log.exception("could not give back a reservation", extra={"channel": r.channel})


def record(
    session: Session,
    r: Read,
    rows: int,
    nbytes: int,
    aggregate: bool,
    subject_keys: frozenset[str] | None = None,
) -> None:
    """Record the read (and bill it under an agreement), committed before this returns;
    concurrent reads share one transaction (``journal``: group commit). If the record
    cannot be committed the quota is given back and the read fails."""
    try:
        journal.append(session, r.item(rows, nbytes, aggregate, subject_keys))
    except BaseException:
        release(session, r)
        raise
