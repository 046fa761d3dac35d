"""Erasure of a data subject everywhere the platform keeps them (DESIGN.md, invariant 5).

In this order, in the caller's transaction:

1. the recipients: every agreement the disclosure ledger shows received the subject's rows;
   each assignee gets a notice naming the dataset and the erasure, never the person;
2. the lake: for every dataset that declares subjects, the subject's rows leave every file of
   every version (``lake.service.erase_rows``: files rewritten in place, row counts fixed, a
   new head version, row indexes dropped); a dataset under a legal hold keeps them and the
   exception is recorded with its basis;
3. the control plane: consents and their events, identities, donations, objections, the
   subject's fingerprint in the ledger, the text of their requests, and the subject itself
   with its number (kept, without identities, only while a legal hold keeps rows under their
   key; a number is never given to anyone else);
4. tombstones: keyed digests of each identity's lookup hash and of the key, so the same
   person is recognised (and refused) if a later upload brings them back.

Erasing again finds nothing and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.lake import service as lake
from datatorg.market.models import Agreement
from datatorg.privacy import filters, ledger, notify
from datatorg.privacy.models import (
    Consent,
    ConsentEvent,
    DatasetDeclaration,
    Donation,
    Objection,
    Subject,
    SubjectIdentity,
    SubjectNumber,
    SubjectRequest,
    Tombstone,
)
from datatorg.privacy.subjects import keys_of
from datatorg.settings import Settings


def _recipients(
    session: Session, subject_key: str
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str]]:
    """(recipient user, agreement) → the titles (bokmål, English) of the dataset it covers."""
    notices: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, str]] = {}
    for d in ledger.for_subject(session=session, subject_key=subject_key):
        agreement = session.get(Agreement, d.agreement_id)
        dataset = session.get(Dataset, d.dataset_id)
        if agreement is None or dataset is None:
            continue
        notices[(agreement.assignee_user_id, agreement.id)] = (dataset.title_nb, dataset.title_en)
    return notices


def erase_subject(
    *,
    session: Session,
    settings: Settings,
    subject_id: uuid.UUID,
    subject_key: str,
    request_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Erase the subject everywhere; the report (counts, legal-hold exceptions).

    Takes the id and key rather than the entity so that repeating an erasure after the
    subject row is gone still works (and finds nothing)."""
    key = subject_key
    k = keys_of(settings)
    notices = _recipients(session, key)
    report: dict[str, Any] = {
        "datasets": [],
        "exceptions": [],
        "rows_removed": 0,
        "recipients_notified": 0,
    }
    store = lake.storage(settings)
    for decl in session.scalars(select(DatasetDeclaration)):
        if decl.legal_hold.strip():
            held = lake.count_rows(
                session=session,
                storage=store,
                dataset_id=decl.dataset_id,
                column=decl.subject_column,
                values=[key],
            )
            if held:
                report["exceptions"].append(
                    {"dataset": str(decl.dataset_id), "rows": held, "basis": decl.legal_hold}
                )
            continue
        done = lake.erase_rows(
            session=session,
            storage=store,
            dataset_id=decl.dataset_id,
            column=decl.subject_column,
            values=[key],
        )
        if done.rows_removed:
            report["rows_removed"] += done.rows_removed
            report["datasets"].append(
                {
                    "dataset": str(decl.dataset_id),
                    "rows": done.rows_removed,
                    "files": done.files_rewritten,
                    "versions": done.versions_corrected,
                    "indexes": done.indexes_removed,
                    "new_version": done.new_version,
                }
            )
    report["recipients_notified"] = notify.erasure_recipients(
        session=session, settings=settings, notices=notices
    )
    lookups = list(
        session.scalars(
            select(SubjectIdentity.lookup).where(SubjectIdentity.subject_id == subject_id)
        )
    )
    digests = {k.tombstone(lk) for lk in lookups} | {k.tombstone(key)}
    ledger.forget_subject(session=session, subject_key=key)
    consent_ids = select(Consent.id).where(Consent.subject_id == subject_id)
    session.execute(delete(ConsentEvent).where(ConsentEvent.consent_id.in_(consent_ids)))
    for model in (Consent, SubjectIdentity, Donation, Objection):
        session.execute(delete(model).where(model.subject_id == subject_id))
    session.execute(
        update(SubjectRequest)
        .where(SubjectRequest.subject_id == subject_id)
        .values(details={}, subject_id=None if not report["exceptions"] else subject_id)
        .execution_options(synchronize_session=False)
    )
    if not report["exceptions"]:  # (a held subject keeps its number: its rows carry it)
        session.execute(delete(SubjectNumber).where(SubjectNumber.subject_id == subject_id))
        session.execute(delete(Subject).where(Subject.id == subject_id))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Tombstone)
        .values([{"digest": d, "erased_at": utcnow()} for d in sorted(digests)])
        .on_conflict_do_nothing()
    )
    filters.bump(session)  # cached subject filters of every dataset are stale now
    session.expire_all()
    audit.record(
        session=session,
        actor=None,
        action="privacy.erasure",
        target_type="subject_request",
        target_id=str(request_id) if request_id else "-",
        details={
            "rows_removed": report["rows_removed"],
            "datasets": len(report["datasets"]),
            "exceptions": len(report["exceptions"]),
            "recipients_notified": report["recipients_notified"],
        },
    )
    return report
