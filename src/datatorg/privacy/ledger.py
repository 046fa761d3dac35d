"""The disclosure ledger: which agreement received which subjects' rows, in which read.

One row per read under an agreement of a dataset with subjects. The subjects of the read
are packed as sorted 8-byte fingerprints (BLAKE2b of the subject key): about 8 bytes per
subject and read, written in the read's own audit transaction, with no lookup at read time.
Finding a subject's disclosures scans the rows with a binary search in each; an erasure
removes the subject's fingerprint from every row (after telling the recipients).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from datatorg.privacy.models import Disclosure

WIDTH = 8


def fingerprint(subject_key: str) -> bytes:
    return hashlib.blake2b(subject_key.encode(), digest_size=WIDTH).digest()


def pack(subject_keys: Iterable[str]) -> bytes:
    """The sorted, distinct fingerprints of ``subject_keys`` as one byte string."""
    return b"".join(sorted({fingerprint(k) for k in subject_keys if k}))


def contains(blob: bytes, fp: bytes) -> bool:
    lo, hi = 0, len(blob) // WIDTH
    while lo < hi:
        mid = (lo + hi) // 2
        here = blob[mid * WIDTH : (mid + 1) * WIDTH]
        if here == fp:
            return True
        if here < fp:
            lo = mid + 1
        else:
            hi = mid
    return False


def without(blob: bytes, fp: bytes) -> bytes:
    parts = (blob[i : i + WIDTH] for i in range(0, len(blob), WIDTH))
    return b"".join(p for p in parts if p != fp)


@dataclass(frozen=True)
class Entry:
    """A disclosure as a plain value (``record`` writes these)."""

    agreement_id: uuid.UUID
    dataset_id: uuid.UUID
    version: int
    channel: str
    rows: int
    subject_keys: frozenset[str]


def row(entry: Entry, at: datetime) -> dict[str, object]:
    return {
        "at": at,
        "agreement_id": entry.agreement_id,
        "dataset_id": entry.dataset_id,
        "version": entry.version,
        "channel": entry.channel,
        "rows": entry.rows,
        "subjects": pack(entry.subject_keys),
    }


def record(*, session: Session, entries: list[Entry], at: datetime) -> None:
    """Write disclosures in the caller's transaction (the read's audit batch)."""
    if entries:
        session.execute(insert(Disclosure), [row(e, at) for e in entries])


def _scan(session: Session, batch: int = 2000) -> Iterator[Disclosure]:
    last = 0
    while True:
        rows = session.scalars(
            select(Disclosure).where(Disclosure.id > last).order_by(Disclosure.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def for_subject(*, session: Session, subject_key: str) -> list[Disclosure]:
    """Every disclosure that included the subject's rows, oldest first."""
    fp = fingerprint(subject_key)
    return [d for d in _scan(session) if contains(d.subjects, fp)]


def forget_subject(*, session: Session, subject_key: str) -> int:
    """Remove the subject's fingerprint from every disclosure; how many rows changed."""
    fp = fingerprint(subject_key)
    changed = 0
    for d in for_subject(session=session, subject_key=subject_key):
        session.execute(
            update(Disclosure)
            .where(Disclosure.id == d.id)
            .values(subjects=without(d.subjects, fp))
            .execution_options(synchronize_session=False)
        )
        changed += 1
    session.expire_all()
    return changed
