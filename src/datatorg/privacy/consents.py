"""Consent: versioned notices, give and withdraw per purpose and scope, the append-only
history (ISO/IEC TS 27560 as DPV expresses it), its derived state and signed receipts.

Giving and withdrawing are one call each with the same arguments, so withdrawing is exactly
as easy as giving. A record's state is the state of its latest event; a given consent whose
expiry has passed counts as ``ConsentExpired`` from that instant (``state_at``), whether or
not ``expire_due`` has written the event yet.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import Dataset
from datatorg.db.base import utcnow
from datatorg.errors import Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.privacy import vocab
from datatorg.privacy.models import (
    VALID_STATES,
    Consent,
    ConsentEvent,
    ConsentState,
    DatasetDeclaration,
    Notice,
    ScopeKind,
    Subject,
    SubjectNumber,
)
from datatorg.privacy.pilot_facts import pilot_title, pilots_of_agreement
from datatorg.privacy.vocab import N_

NOTICES = Path(__file__).with_name("data") / "notices.json"
METHOD = "ExplicitlyExpressedConsent"
CHANNELS = ("web", "api", "demo", "system")


def ensure_notices(*, session: Session) -> int:
    """Version 1 of each bundled notice, where the purpose has none yet; how many added.

    On a fresh installation the first requests may seed them at the same moment: on
    PostgreSQL the later ones meet the unique key, roll back their savepoint and use the
    notices the first one committed (the 500 this gave before)."""
    have = set(session.scalars(select(Notice.purpose).distinct()))
    rows = [r for r in json.loads(NOTICES.read_text(encoding="utf-8")) if r["purpose"] not in have]
    if not rows:
        return 0
    try:
        with session.begin_nested():
            session.add_all([Notice(version=1, **row) for row in rows])
    except IntegrityError:  # another transaction seeded them first
        return 0
    return len(rows)


def current_notice(*, session: Session, purpose: str) -> Notice:
    """The newest notice of ``purpose``; ``NotFound`` when the purpose has none."""
    found = session.scalar(
        select(Notice).where(Notice.purpose == purpose).order_by(Notice.version.desc()).limit(1)
    )
    if found is None:
        ensure_notices(session=session)
        found = session.scalar(
            select(Notice).where(Notice.purpose == purpose).order_by(Notice.version.desc()).limit(1)
        )
    if found is None:
        raise NotFound(N_("There is no notice for this purpose; consent cannot be asked for it"))
    return found


def notices(*, session: Session) -> list[Notice]:
    """The newest notice of every purpose, by purpose."""
    ensure_notices(session=session)
    newest = (
        select(Notice.purpose, func.max(Notice.version).label("v"))
        .group_by(Notice.purpose)
        .subquery()
    )
    return list(
        session.scalars(
            select(Notice)
            .join(newest, and_(Notice.purpose == newest.c.purpose, Notice.version == newest.c.v))
            .order_by(Notice.purpose)
        )
    )


def publish_notice(
    *, session: Session, actor: Actor, purpose: str, texts: dict[str, str], retention: str
) -> Notice:
    """A new version of a purpose's notice (stewards); consents keep the version they got."""
    if purpose not in vocab.purpose_terms():
        raise Invalid(N_("Unknown purpose"), errors=[{"field": "purpose", "message": "unknown"}])
    last = session.scalar(select(func.max(Notice.version)).where(Notice.purpose == purpose)) or 0
    notice = Notice(purpose=purpose, version=last + 1, retention=retention, **texts)
    session.add(notice)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="privacy.notice.publish",
        target_type="notice",
        target_id=str(notice.id),
        details={"purpose": purpose, "version": notice.version},
    )
    return notice


def check_scope(session: Session, scope_kind: ScopeKind, scope_ref: str) -> str:
    """The canonical scope reference, or ``Invalid`` naming the field."""
    bad = Invalid(N_("Unknown scope"), errors=[{"field": "scope_ref", "message": "unknown"}])
    if scope_kind == ScopeKind.category:
        if scope_ref not in vocab.CATEGORY_LABELS:
            raise bad
        return scope_ref
    try:
        ref = uuid.UUID(scope_ref)
    except ValueError:
        if scope_kind != ScopeKind.dataset or len(scope_ref) > 120:
            raise bad from None
        found = session.scalar(select(Dataset.id).where(Dataset.slug == scope_ref))
        if found is None:
            raise bad from None
        return str(found)
    thing: object
    if scope_kind == ScopeKind.dataset:
        thing = session.get(Dataset, ref)
    elif scope_kind == ScopeKind.provider:
        thing = session.get(Organisation, ref)
    else:
        thing = pilot_title(session, ref)
    if thing is None:
        raise bad
    return str(ref)


def _append(
    session: Session,
    consent: Consent,
    state: ConsentState,
    channel: str,
    now: datetime,
    expires_at: datetime | None,
) -> None:
    consent.state = state
    consent.expires_at = expires_at
    consent.updated_at = now
    session.add(
        ConsentEvent(
            consent_id=consent.id,
            at=now,
            state=state,
            notice_id=consent.notice_id,
            expires_at=expires_at,
            method=METHOD,
            channel=channel,
        )
    )
    session.flush()
    audit.record(
        session=session,
        actor=None,
        action="privacy.consent." + state.value,
        target_type="consent",
        target_id=str(consent.id),
        details={"purpose": consent.purpose, "scope": consent.scope_kind.value},
    )


def _lock_subject(session: Session, subject: Subject) -> None:
    """Take the subject's row lock (PostgreSQL; SQLite's writer turn serialises already):
    one subject's consent changes happen one after another, so two simultaneous gives of the
    same purpose and scope find one record instead of each inserting one (a second record
    would keep the rows flowing after the citizen withdrew the first)."""
    session.execute(select(Subject.id).where(Subject.id == subject.id).with_for_update())


def give(
    *,
    session: Session,
    subject: Subject,
    purpose: str,
    scope_kind: ScopeKind,
    scope_ref: str,
    expires_at: datetime | None = None,
    channel: str = "web",
    now: datetime | None = None,
) -> Consent:
    """Give consent for ``purpose`` in a scope, under the purpose's newest notice.

    Giving again what is already given (same notice, same expiry) changes nothing.
    """
    now = now or utcnow()
    scope_kind = ScopeKind(scope_kind)
    if purpose not in vocab.purpose_terms():
        raise Invalid(N_("Unknown purpose"), errors=[{"field": "purpose", "message": "unknown"}])
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            N_("The expiry must be in the future"),
            errors=[{"field": "expires_at", "message": "in the past"}],
        )
    ref = check_scope(session, scope_kind, scope_ref)
    notice = current_notice(session=session, purpose=purpose)
    _lock_subject(session, subject)
    consent = session.scalar(
        select(Consent).where(
            Consent.subject_id == subject.id,
            Consent.purpose == purpose,
            Consent.scope_kind == scope_kind,
            Consent.scope_ref == ref,
        )
    )
    if consent is None:
        consent = Consent(
            id=uuid.uuid4(),
            subject_id=subject.id,
            purpose=purpose,
            scope_kind=scope_kind,
            scope_ref=ref,
            notice_id=notice.id,
            state=ConsentState.given,
            created_at=now,
        )
        session.add(consent)
        _append(session, consent, ConsentState.given, channel, now, expires_at)
        return consent
    if (
        state_at(consent, now) in VALID_STATES
        and consent.notice_id == notice.id
        and consent.expires_at == expires_at
    ):
        return consent
    consent.notice_id = notice.id
    _append(session, consent, ConsentState.renewed, channel, now, expires_at)
    return consent


def withdraw(
    *,
    session: Session,
    subject: Subject,
    consent_id: uuid.UUID,
    channel: str = "web",
    now: datetime | None = None,
) -> Consent:
    """Withdraw a consent; it stops counting from the next query. Withdrawing a consent
    that is not in force changes nothing."""
    now = now or utcnow()
    _lock_subject(session, subject)
    consent = get(session=session, subject=subject, consent_id=consent_id)
    if state_at(consent, now) in VALID_STATES:
        _append(session, consent, ConsentState.withdrawn, channel, now, None)
    return consent


def get(*, session: Session, subject: Subject, consent_id: uuid.UUID) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.subject_id != subject.id:
        raise NotFound(N_("No such consent"))
    return consent


def state_at(consent: Consent, now: datetime) -> ConsentState:
    """The record's state at ``now``: its latest event, or expired once its expiry passed."""
    if (
        consent.state in VALID_STATES
        and consent.expires_at is not None
        and consent.expires_at <= now
    ):
        return ConsentState.expired
    return consent.state


def expire_due(*, session: Session, now: datetime | None = None) -> int:
    """Write ``ConsentExpired`` for given consents whose expiry passed; how many."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Consent).where(
                Consent.state.in_(list(VALID_STATES)),
                Consent.expires_at.is_not(None),
                Consent.expires_at <= now,
            )
        )
    )
    for consent in due:
        _append(session, consent, ConsentState.expired, "system", now, consent.expires_at)
    return len(due)


def list_for(*, session: Session, subject: Subject) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.subject_id == subject.id)
            .order_by(Consent.purpose, Consent.scope_kind, Consent.created_at)
        )
    )


def events_of(*, session: Session, consent: Consent) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.consent_id == consent.id)
            .order_by(ConsentEvent.at, ConsentEvent.id)
        )
    )


def valid_subject_keys(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    publisher_id: uuid.UUID,
    purpose: str,
    now: datetime | None = None,
    agreement_id: uuid.UUID | None = None,
) -> set[str]:
    """Keys of the subjects whose consent for ``purpose`` covers the dataset at ``now``
    (dataset scope, its provider, one of its declared data categories, or — for a read under
    ``agreement_id`` — a pilot that agreement was made for), minus subjects whose processing
    is restricted. Read from the database on every call: no cache."""
    return set(
        valid_subjects(
            session=session,
            dataset_id=dataset_id,
            publisher_id=publisher_id,
            purpose=purpose,
            now=now,
            agreement_id=agreement_id,
        )
    )


def valid_subjects(
    *,
    session: Session,
    dataset_id: uuid.UUID,
    publisher_id: uuid.UUID,
    purpose: str,
    now: datetime | None = None,
    agreement_id: uuid.UUID | None = None,
) -> dict[str, int | None]:
    """``valid_subject_keys`` with each subject's number (``privacy.numbers``; None for a
    subject without one)."""
    now = now or utcnow()
    decl = session.get(DatasetDeclaration, dataset_id)
    categories = list(decl.categories) if decl else []
    scope = or_(
        and_(Consent.scope_kind == ScopeKind.dataset, Consent.scope_ref == str(dataset_id)),
        and_(Consent.scope_kind == ScopeKind.provider, Consent.scope_ref == str(publisher_id)),
        and_(Consent.scope_kind == ScopeKind.category, Consent.scope_ref.in_(categories)),
    )
    pilots = pilots_of_agreement(session, agreement_id)
    if pilots:
        scope = or_(
            scope, and_(Consent.scope_kind == ScopeKind.pilot, Consent.scope_ref.in_(pilots))
        )
    rows = session.execute(
        select(Subject.subject_key, SubjectNumber.number)
        .join(Consent, Consent.subject_id == Subject.id)
        .outerjoin(SubjectNumber, SubjectNumber.subject_id == Subject.id)
        .where(
            Consent.purpose == purpose,
            Consent.state.in_(list(VALID_STATES)),
            or_(Consent.expires_at.is_(None), Consent.expires_at > now),
            Subject.restricted_at.is_(None),
            scope,
        )
        .distinct()
    )
    return {str(key): (None if number is None else int(number)) for key, number in rows}
