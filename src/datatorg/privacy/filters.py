"""What privacy contributes to the gate's row policy: the subject filter of one read.

``subject_filter`` is called by the gate for every read of a dataset that declares subjects,
and reads the database every time (no cache: a withdrawn consent, a restriction or an
objection takes effect on the next query, DESIGN.md invariant 3):

* legal basis ``Consent`` and a read by someone outside the owning organisation: keep only
  the subjects whose consent for the read's purpose covers this dataset at ``now`` (no
  purpose, no consent: nothing);
* always, for every reader: drop the subjects whose processing is restricted, and those who
  objected (art. 21) to this dataset's processing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.privacy.consents import valid_subject_keys
from datatorg.privacy.models import DatasetDeclaration, Objection, Subject

SubjectFilter = tuple[frozenset[str] | None, frozenset[str]]


def legal_basis(*, session: Session, dataset_id: uuid.UUID) -> str | None:
    """The DPV legal basis a dataset declares (None: it declares no subjects)."""
    decl = session.get(DatasetDeclaration, dataset_id)
    return decl.legal_basis if decl else None


def subject_filter(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    publisher_id: uuid.UUID,
    purpose: str | None,
    owner: bool,
    now: datetime | None = None,
) -> SubjectFilter | None:
    """(keep, drop) over the dataset's subject keys for one read; None when the dataset
    declares no subjects. ``keep`` None means every subject not dropped."""
    decl = session.get(DatasetDeclaration, dataset_id)
    if decl is None:
        return None
    now = now or utcnow()
    keep: frozenset[str] | None = None
    if decl.legal_basis == "Consent" and not owner:
        keep = (
            frozenset(
                valid_subject_keys(
                    session=session,
                    dataset_id=dataset_id,
                    publisher_id=publisher_id,
                    purpose=purpose,
                    now=now,
                )
            )
            if purpose
            else frozenset()
        )
    drop = frozenset(
        session.scalars(select(Subject.subject_key).where(Subject.restricted_at.is_not(None)))
    ) | frozenset(
        session.scalars(
            select(Subject.subject_key)
            .join(Objection, Objection.subject_id == Subject.id)
            .where(Objection.dataset_id == dataset_id)
        )
    )
    return keep, drop
