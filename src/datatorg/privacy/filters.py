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
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy.consents import valid_subject_keys
from datatorg.privacy.models import (
    VALID_STATES,
    Consent,
    ConsentEvent,
    DatasetDeclaration,
    Objection,
    PrivacyState,
    Subject,
)

SubjectFilter = tuple[frozenset[str] | None, frozenset[str]]
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[Any, ...], tuple[str, datetime | None, SubjectFilter]] = OrderedDict()
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
    decl = session.get(DatasetDeclaration, dataset_id)
    if decl is None:
        return None
    now = now or utcnow()
    consent_based = decl.legal_basis == "Consent" and not owner
    key = (
        dataset_id,
        publisher_id,
        purpose if consent_based else None,
        agreement_id if consent_based else None,
        consent_based,
    )
    current = version(session)  # first the version, then the rows (see the module docstring)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == current and (hit[1] is None or now < hit[1]):
        return hit[2]
    keep: frozenset[str] | None = None
    expiry: datetime | None = None
    if consent_based:
        if purpose:
            keep = frozenset(
                valid_subject_keys(
                    session=session,
                    dataset_id=dataset_id,
                    publisher_id=publisher_id,
                    purpose=purpose,
                    now=now,
                    agreement_id=agreement_id,
                )
            )
            expiry = _earliest_expiry(session, dataset_id, purpose, now)
        else:
            keep = frozenset()
    drop = frozenset(
        session.scalars(select(Subject.subject_key).where(Subject.restricted_at.is_not(None)))
    ) | frozenset(
        session.scalars(
            select(Subject.subject_key)
            .join(Objection, Objection.subject_id == Subject.id)
            .where(Objection.dataset_id == dataset_id)
        )
    )
    found: SubjectFilter = (keep, drop)
    with _lock:
        _cache[key] = (current, expiry, found)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found
