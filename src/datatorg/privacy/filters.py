"""What privacy contributes to the gate's row policy: the subject filter of one read.

``subject_filter`` is called by the gate for every read of a dataset that declares subjects:

* legal basis ``Consent`` and a read by someone outside the owning organisation: keep only
  the subjects whose consent for the read's purpose covers this dataset at ``now`` (no
  purpose, no consent: nothing);
* always, for every reader: drop the subjects whose processing is restricted, and those who
  objected (art. 21) to this dataset's processing.

**Live, with a cache that cannot be stale.** Every change that can change a filter (a consent
event, a restriction or its lifting, an objection, an erasure) writes a new
``privacy_state.version`` in its own transaction (``bump``; a flush hook does it for ORM
changes). Each read first reads that version (one primary-key lookup), then reuses a key set
computed under the same version, as long as no consent in it has expired since (the set
remembers its earliest expiry). A different version, or an expiry passed, recomputes the set
from the consent records. The version is read *before* the consents, so a set can only be
fresher than its version, never older: a withdrawn consent takes effect on the next query.

**Keys and numbers.** ``read_filter`` gives the same subjects twice: as subject keys (what
the lake's subject column holds) and as subject numbers (``privacy.numbers``; what the hidden
number column of a numbered version holds), so the gate can test an integer instead of a
40-character key. If one subject of either set has no number, the numbers are left out and
the gate uses the keys.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy.consents import valid_subjects
from datatorg.privacy.models import (
    VALID_STATES,
    Consent,
    ConsentEvent,
    DatasetDeclaration,
    Objection,
    PrivacyState,
    Subject,
    SubjectNumber,
)

SubjectFilter = tuple[frozenset[str] | None, frozenset[str]]


@dataclass(frozen=True)
class Found:
    """One read's subject filter: ``keep`` (None: every subject not dropped) and ``drop``
    as subject keys, and the same subjects as subject numbers (None when a subject in them
    has no number); the dataset's legal basis (DPV term) for the read's record."""

    legal_basis: str
    keep: frozenset[str] | None
    drop: frozenset[str]
    numbers: tuple[frozenset[int] | None, frozenset[int]] | None


_CACHE_SIZE = 256
_cache: OrderedDict[tuple[Any, ...], tuple[str, datetime | None, Found | None]] = OrderedDict()
_lock = threading.Lock()


def bump(session: Session) -> None:
    """A new filter version, in the caller's transaction (call after Core-level writes)."""
    conn = session.connection()
    new = str(uuid.uuid4())
    done = conn.execute(update(PrivacyState).where(PrivacyState.id == 1).values(version=new))
    if done.rowcount == 0:
        conn.execute(insert(PrivacyState).values(id=1, version=new))


@event.listens_for(Session, "before_flush")
def _bump_on_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(
        isinstance(o, Consent | ConsentEvent | Objection | DatasetDeclaration) for o in changed
    ) or any(isinstance(o, Subject) for o in (*session.dirty, *session.deleted)):
        bump(session)


def version(session: Session) -> str:
    return session.scalar(select(PrivacyState.version).where(PrivacyState.id == 1)) or "-"


def legal_basis(*, session: Session, dataset_id: uuid.UUID) -> str | None:
    """The DPV legal basis a dataset declares (None: it declares no subjects)."""
    decl = session.get(DatasetDeclaration, dataset_id)
    return decl.legal_basis if decl else None


def _earliest_expiry(
    session: Session, dataset_id: uuid.UUID, purpose: str, now: datetime
) -> datetime | None:
    found = session.scalar(
        select(func.min(Consent.expires_at)).where(
            Consent.purpose == purpose,
            Consent.state.in_(list(VALID_STATES)),
            Consent.expires_at > now,
        )
    )
    return found


def subject_filter(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    publisher_id: uuid.UUID,
    purpose: str | None,
    owner: bool,
    now: datetime | None = None,
    agreement_id: uuid.UUID | None = None,
) -> SubjectFilter | None:
    """(keep, drop) over the dataset's subject keys for one read; None when the dataset
    declares no subjects. ``keep`` None means every subject not dropped."""
    found = read_filter(
        session=session,
        dataset_id=dataset_id,
        publisher_id=publisher_id,
        purpose=purpose,
        owner=owner,
        now=now,
        agreement_id=agreement_id,
    )
    return None if found is None else (found.keep, found.drop)


def read_filter(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    publisher_id: uuid.UUID,
    purpose: str | None,
    owner: bool,
    now: datetime | None = None,
    agreement_id: uuid.UUID | None = None,
) -> Found | None:
    """``subject_filter`` with the same subjects as subject numbers, and the dataset's legal
    basis (see the module docstring); None when the dataset declares no subjects. On a cache
    hit this is one primary-key lookup (the state version): declarations are cached too, and
    changing one writes a new version."""
    now = now or utcnow()
    key = (
        dataset_id,
        publisher_id,
        None if owner else purpose,
        None if owner else agreement_id,
        owner,
    )
    current = version(session)  # first the version, then the rows (see the module docstring)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == current and (hit[1] is None or now < hit[1]):
        return hit[2]
    decl = session.get(DatasetDeclaration, dataset_id)
    found, expiry = (None, None) if decl is None else _compute(session, decl, key, owner, now)
    with _lock:
        _cache[key] = (current, expiry, found)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def _compute(
    session: Session, decl: DatasetDeclaration, key: tuple[Any, ...], owner: bool, now: datetime
) -> tuple[Found, datetime | None]:
    """The filter of one read from the consent records, and when it expires first."""
    dataset_id, publisher_id, purpose, agreement_id, _owner = key
    consent_based = decl.legal_basis == "Consent" and not owner
    keep: dict[str, int | None] | None = None
    expiry: datetime | None = None
    if consent_based:
        if purpose:
            keep = valid_subjects(
                session=session,
                dataset_id=dataset_id,
                publisher_id=publisher_id,
                purpose=purpose,
                now=now,
                agreement_id=agreement_id,
            )
            expiry = _earliest_expiry(session, dataset_id, purpose, now)
        else:
            keep = {}
    restricted = select(Subject.subject_key, SubjectNumber.number).outerjoin(
        SubjectNumber, SubjectNumber.subject_id == Subject.id
    )
    drop: dict[str, int | None] = {
        k: n for k, n in session.execute(restricted.where(Subject.restricted_at.is_not(None)))
    }
    drop |= {
        k: n
        for k, n in session.execute(
            restricted.join(Objection, Objection.subject_id == Subject.id).where(
                Objection.dataset_id == dataset_id
            )
        )
    }
    numbered = all(n is not None for n in drop.values()) and (
        keep is None or all(n is not None for n in keep.values())
    )
    found = Found(
        legal_basis=decl.legal_basis,
        keep=None if keep is None else frozenset(keep),
        drop=frozenset(drop),
        numbers=(
            (
                None if keep is None else frozenset(int(n) for n in keep.values() if n is not None),
                frozenset(int(n) for n in drop.values() if n is not None),
            )
            if numbered
            else None
        ),
    )
    return found, expiry
