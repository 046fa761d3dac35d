"""Privacy tables: data subjects and their sealed identities, dataset declarations, consent
notices, consent records with their append-only events, data subject requests, erasure
tombstones, donations and the disclosure ledger.

No table holds an identity in clear: identities are sealed (AES-GCM) and found by a keyed
hash (``privacy.crypto``). Consent events are append-only: a flush that changes or deletes
one raises (only an erasure removes a subject's events, with Core statements).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from datatorg.db.base import Base, UUIDPk, utcnow

BIG = BigInteger().with_variant(Integer, "sqlite")


def _values(kind: type[enum.Enum]) -> list[str]:
    """Store an enum's values (the DPV terms), not its Python names."""
    return [str(m.value) for m in kind]


class IdentityKind(enum.StrEnum):
    """What a subject column (or a registered identity) holds."""

    national_id = "national_id"  # fødselsnummer / d-nummer (11 digits)
    email = "email"
    customer_number = "customer_number"
    meter_number = "meter_number"
    subject_key = "subject_key"  # already the pseudonymous key (donations)


class ScopeKind(enum.StrEnum):
    """What a consent covers: one dataset, every dataset of one provider, a data category, or
    one living-lab pilot (the reads under agreements made for that pilot)."""

    dataset = "dataset"
    provider = "provider"
    category = "category"
    pilot = "pilot"


class ConsentState(enum.StrEnum):
    """DPV consent states (``dpv:ConsentStatus``) a record's events use."""

    given = "ConsentGiven"
    renewed = "RenewedConsentGiven"
    withdrawn = "ConsentWithdrawn"
    expired = "ConsentExpired"
    revoked = "ConsentRevoked"
    invalidated = "ConsentInvalidated"


VALID_STATES = frozenset({ConsentState.given, ConsentState.renewed})


class RequestType(enum.StrEnum):
    access = "access"
    rectification = "rectification"
    erasure = "erasure"
    restriction = "restriction"
    objection = "objection"


class RequestState(enum.StrEnum):
    received = "received"  # waiting for the identity check
    verified = "verified"  # identity checked; in the steward queue
    extended = "extended"  # verified, due date extended (notice sent)
    completed = "completed"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Subject(UUIDPk, Base):
    """A data subject: an internal id, a pseudonymous key, maybe a citizen account."""

    __tablename__ = "privacy_subjects"

    subject_key: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    restricted_at: Mapped[datetime | None]  # processing restricted (art. 18) since
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubjectNumber(Base):
    """A subject's number: a small integer, stable for the subject's life and never given to
    another subject (SQLite ``AUTOINCREMENT``, a PostgreSQL sequence). Lake files of datasets
    linked to subjects carry it in a hidden column (``lake.service.SUBJECT_NO``), so the
    gate's consent filter tests an integer instead of a 40-character key (docs/privacy.md).
    It is internal: no page, API, download or export shows it."""

    __tablename__ = "privacy_subject_numbers"
    __table_args__ = {"sqlite_autoincrement": True}

    number: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="CASCADE"), unique=True
    )


class SubjectIdentity(UUIDPk, Base):
    """One identity of a subject, sealed; ``lookup`` is its keyed hash."""

    __tablename__ = "privacy_identities"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[IdentityKind] = mapped_column(Enum(IdentityKind, native_enum=False, length=20))
    lookup: Mapped[str] = mapped_column(String(64), unique=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetDeclaration(Base):
    """What a dataset with personal data says about its subjects and its legal basis."""

    __tablename__ = "privacy_datasets"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    subject_column: Mapped[str] = mapped_column(String(100))
    identity_kind: Mapped[IdentityKind] = mapped_column(
        Enum(IdentityKind, native_enum=False, length=20)
    )
    legal_basis: Mapped[str] = mapped_column(String(60), default="Consent")  # DPV term
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # DPV personal data terms
    legal_hold: Mapped[str] = mapped_column(Text, default="")  # basis for keeping rows on erasure
    linked_version_id: Mapped[uuid.UUID | None]  # the last version whose column holds keys
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notice(UUIDPk, Base):
    """One version of the plain-language notice for a purpose."""

    __tablename__ = "privacy_notices"
    __table_args__ = (UniqueConstraint("purpose", "version"),)

    purpose: Mapped[str] = mapped_column(String(60), index=True)  # DPV purpose term
    version: Mapped[int] = mapped_column(Integer)
    title_nb: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    text_nb: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    retention: Mapped[str] = mapped_column(String(40), default="P5Y")  # ISO 8601 duration
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(UUIDPk, Base):
    """A consent record (ISO/IEC TS 27560 via DPV): one subject, purpose and scope.

    Its state is the state of its latest event; ``state`` and ``expires_at`` are kept equal
    to that event in the same transaction, so the gate's filter reads one row per subject.
    """

    __tablename__ = "privacy_consents"
    __table_args__ = (UniqueConstraint("subject_id", "purpose", "scope_kind", "scope_ref"),)

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(60), index=True)
    scope_kind: Mapped[ScopeKind] = mapped_column(Enum(ScopeKind, native_enum=False, length=10))
    scope_ref: Mapped[str] = mapped_column(String(60))  # dataset id, org id or DPV category
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("privacy_notices.id"))
    state: Mapped[ConsentState] = mapped_column(
        Enum(ConsentState, native_enum=False, length=24, values_callable=_values), index=True
    )
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """One change of a consent record's state; never changed once written."""

    __tablename__ = "privacy_consent_events"

    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    consent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_consents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[ConsentState] = mapped_column(
        Enum(ConsentState, native_enum=False, length=24, values_callable=_values)
    )
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("privacy_notices.id"))
    expires_at: Mapped[datetime | None]
    method: Mapped[str] = mapped_column(String(60))  # DPV consent type, e.g. ExplicitlyExpressed…
    channel: Mapped[str] = mapped_column(String(20))  # web, api, demo, system


class Disclosure(Base):
    """One read under an agreement that returned rows of a dataset with subjects.

    ``subjects`` packs the 8-byte fingerprints (``privacy.ledger``) of the subjects whose
    rows the read returned, sorted: about 8 bytes per subject and read.
    """

    __tablename__ = "privacy_disclosures"

    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(index=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(BIG)
    subjects: Mapped[bytes] = mapped_column(LargeBinary)


class SubjectRequest(UUIDPk, Base):
    """A data subject request (GDPR art. 15–21) and its state machine."""

    __tablename__ = "privacy_requests"

    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[RequestType] = mapped_column(Enum(RequestType, native_enum=False, length=20))
    state: Mapped[RequestState] = mapped_column(
        Enum(RequestState, native_enum=False, length=20), index=True
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(index=True)
    identity_checked_at: Mapped[datetime | None]
    identity_method: Mapped[str] = mapped_column(String(40), default="")
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Tombstone(Base):
    """What remains of an erased subject: keyed digests of their identities and key."""

    __tablename__ = "privacy_tombstones"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


class Donation(UUIDPk, Base):
    """Data a citizen gave to a donation dataset (data altruism), for purposes they chose."""

    __tablename__ = "privacy_donations"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    rows: Mapped[int] = mapped_column(BIG)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    """Consent events are history: a flush may add them, never change or delete them."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, ConsentEvent) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise ValueError("consent history is append-only")


class Objection(Base):
    """A completed objection (art. 21): the subject's rows leave every read of the dataset."""

    __tablename__ = "privacy_objections"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_subjects.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrivacyState(Base):
    """One row whose ``version`` changes with every change that can change a subject
    filter (a consent event, a restriction, an objection, an erasure), in the same
    transaction. The gate's filter cache is valid only while it reads the same version."""

    __tablename__ = "privacy_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(36))
