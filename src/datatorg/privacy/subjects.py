"""The subject registry: subjects, their sealed identities, citizen accounts, dataset
declarations and the linking of uploaded rows to subjects."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from datatorg.errors import Conflict, Invalid
from datatorg.identity.models import User
from datatorg.privacy import crypto, numbers
from datatorg.privacy.models import (
    DatasetDeclaration,
    IdentityKind,
    Subject,
    SubjectIdentity,
    Tombstone,
)
from datatorg.privacy.vocab import N_
from datatorg.settings import Settings

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}$")
_FNR_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_FNR_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def keys_of(settings: Settings) -> crypto.Keys:
    return crypto.keys(settings.secret_key.get_secret_value())


def valid_national_id(digits: str) -> bool:
    """An 11-digit Norwegian identity number (fødselsnummer, d-nummer) with both check digits."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    n = [int(c) for c in digits]
    k1 = 11 - sum(w * d for w, d in zip(_FNR_W1, n, strict=False)) % 11
    k1 = 0 if k1 == 11 else k1
    k2 = 11 - sum(w * d for w, d in zip(_FNR_W2, n, strict=False)) % 11
    k2 = 0 if k2 == 11 else k2
    return k1 != 10 and k2 != 10 and n[9] == k1 and n[10] == k2


def normalise(kind: IdentityKind, value: str) -> str:
    """The canonical form of an identity, or ``Invalid`` (the value is never echoed)."""
    raw = value.strip()
    if kind == IdentityKind.email:
        low = raw.lower()
        if not _EMAIL.match(low):
            raise Invalid(
                N_("Not an e-mail address"), errors=[{"field": "value", "message": "email"}]
            )
        return low
    if kind == IdentityKind.national_id:
        digits = re.sub(r"[\s.-]", "", raw)
        if not valid_national_id(digits):
            raise Invalid(
                N_("Not a valid national identity number"),
                errors=[{"field": "value", "message": "11 digits with valid check digits"}],
            )
        return digits
    if kind == IdentityKind.subject_key:
        if not (
            raw.startswith(crypto.SUBJECT_KEY_PREFIX) and len(raw) == crypto.SUBJECT_KEY_LENGTH
        ):
            raise Invalid(N_("Not a subject key"), errors=[{"field": "value", "message": "key"}])
        return raw
    if not _CODE.match(raw):
        raise Invalid(
            N_("Not a valid number or code"),
            errors=[{"field": "value", "message": "letters, digits, . _ / - (1 to 64)"}],
        )
    return raw.upper()


def new_subject(session: Session, settings: Settings, user_id: uuid.UUID | None = None) -> Subject:
    sid = uuid.uuid4()
    subject = Subject(id=sid, subject_key=keys_of(settings).subject_key(str(sid)), user_id=user_id)
    session.add(subject)
    session.flush()
    numbers.number_new(session, [sid])
    return subject


def find_by_identity(
    *, session: Session, settings: Settings, kind: IdentityKind, value: str
) -> Subject | None:
    """The subject holding an identity, found by its keyed hash."""
    k = keys_of(settings)
    if kind == IdentityKind.subject_key:
        return session.scalar(select(Subject).where(Subject.subject_key == normalise(kind, value)))
    lookup = k.lookup_hash(kind.value, normalise(kind, value))
    return session.scalar(
        select(Subject).join(SubjectIdentity).where(SubjectIdentity.lookup == lookup)
    )


def add_identity(
    *, session: Session, settings: Settings, subject: Subject, kind: IdentityKind, value: str
) -> SubjectIdentity:
    """Register ``value`` as an identity of ``subject`` (sealed; found by keyed hash)."""
    k = keys_of(settings)
    norm = normalise(kind, value)
    lookup = k.lookup_hash(kind.value, norm)
    found = session.scalar(select(SubjectIdentity).where(SubjectIdentity.lookup == lookup))
    if found is not None:
        if found.subject_id != subject.id:
            raise Conflict(N_("This identity belongs to another subject"))
        return found
    ident = SubjectIdentity(
        subject_id=subject.id,
        kind=kind,
        lookup=lookup,
        sealed=k.seal(norm, context=f"{subject.id}:{kind.value}"),
    )
    session.add(ident)
    session.flush()
    return ident


def identities(*, session: Session, settings: Settings, subject: Subject) -> list[tuple[str, str]]:
    """The subject's identities in clear as (kind, value): only for the subject themself."""
    k = keys_of(settings)
    rows = session.scalars(
        select(SubjectIdentity)
        .where(SubjectIdentity.subject_id == subject.id)
        .order_by(SubjectIdentity.kind, SubjectIdentity.created_at)
    )
    return [
        (i.kind.value, k.unseal(i.sealed, context=f"{subject.id}:{i.kind.value}")) for i in rows
    ]


def is_tombstoned(session: Session, settings: Settings, kind: IdentityKind, norm: str) -> bool:
    digest = keys_of(settings).tombstone(keys_of(settings).lookup_hash(kind.value, norm))
    return session.get(Tombstone, digest) is not None


def subject_for_user(*, session: Session, settings: Settings, user: User) -> Subject:
    """The citizen's subject: linked to the account, else found by the account's e-mail
    identity and linked, else a new subject (who can give consent and donate)."""
    found = session.scalar(select(Subject).where(Subject.user_id == user.id))
    if found is not None:
        return found
    try:
        by_mail = find_by_identity(
            session=session, settings=settings, kind=IdentityKind.email, value=user.email
        )
    except Invalid:
        by_mail = None
    if by_mail is not None and by_mail.user_id is None:
        by_mail.user_id = user.id
        session.flush()
        return by_mail
    subject = new_subject(session, settings, user_id=user.id)
    try:
        add_identity(
            session=session,
            settings=settings,
            subject=subject,
            kind=IdentityKind.email,
            value=user.email,
        )
    except (Invalid, Conflict):
        pass  # an account whose e-mail is no identity (an OIDC placeholder) or is taken
    return subject


def link_verified_identity(
    *, session: Session, settings: Settings, user: User, kind: IdentityKind, value: str
) -> Subject:
    """Attach an identity a trusted provider vouched for (ID-porten's ``pid``) to the
    citizen's subject; if a subject already holds it, that subject becomes the citizen's.

    The OpenID Connect callback calls this with the verified national identity number; the
    number is sealed here and never stored on the account (``identity/oidc.py``).
    """
    holder = find_by_identity(session=session, settings=settings, kind=kind, value=value)
    own = session.scalar(select(Subject).where(Subject.user_id == user.id))
    if holder is not None:
        if holder.user_id not in (None, user.id):
            raise Conflict(N_("This identity is linked to another account"))
        if own is not None and own.id != holder.id:
            own.user_id = None
            session.flush()
        holder.user_id = user.id
        session.flush()
        return holder
    subject = own or new_subject(session, settings, user_id=user.id)
    add_identity(session=session, settings=settings, subject=subject, kind=kind, value=value)
    return subject


def declaration(*, session: Session, dataset_id: uuid.UUID) -> DatasetDeclaration | None:
    return session.get(DatasetDeclaration, dataset_id)


def _known_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are subjects' keys (asked 500 at a time: PostgreSQL takes at most
    65,535 parameters in a statement)."""
    wanted = sorted(set(keys))
    known: set[str] = set()
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        known.update(
            session.scalars(select(Subject.subject_key).where(Subject.subject_key.in_(part)))
        )
    return known


def keys_for_values(
    *,
    session: Session,
    settings: Settings,
    kind: IdentityKind,
    values: Iterable[str],
) -> dict[str, str]:
    """Subject keys for the clear identities ``values``, creating subjects that are missing.

    A value that does not parse as ``kind`` is refused with ``Invalid`` (the value is not
    echoed). Values of erased subjects (tombstoned) get no subject again: ``Conflict``.
    """
    k = keys_of(settings)
    out: dict[str, str] = {}
    norms: dict[str, str] = {}
    bad = 0
    for v in values:
        try:
            norms[v] = normalise(kind, v)
        except Invalid:
            bad += 1
    if bad:
        raise Invalid(
            f"{bad} values of the subject column are not a valid {kind.value}",
            errors=[{"column": "subject", "message": f"{bad} values are not a valid {kind.value}"}],
        )
    if kind == IdentityKind.subject_key:
        known = _known_keys(session, norms.values())
        unknown = [v for v, n in norms.items() if n not in known]
        if unknown:
            raise Invalid(
                f"{len(unknown)} subject keys are unknown",
                errors=[{"column": "subject", "message": f"{len(unknown)} unknown subject keys"}],
            )
        return dict(norms)
    lookups = {v: k.lookup_hash(kind.value, n) for v, n in norms.items()}
    known_rows: dict[str, str] = {}
    chunk = list(lookups.values())
    for i in range(0, len(chunk), 500):
        for lookup, key in session.execute(
            select(SubjectIdentity.lookup, Subject.subject_key)
            .join(Subject, Subject.id == SubjectIdentity.subject_id)
            .where(SubjectIdentity.lookup.in_(chunk[i : i + 500]))
        ):
            known_rows[lookup] = key
    tombs = {k.tombstone(lk) for lk in lookups.values() if lk not in known_rows}
    if tombs and session.scalar(select(Tombstone.digest).where(Tombstone.digest.in_(tombs))):
        raise Conflict(
            N_("The file holds data about a person whose data was erased; remove those rows")
        )
    new_identities: list[dict[str, Any]] = []
    new_subjects: list[dict[str, Any]] = []
    for v, lookup in lookups.items():
        if lookup in known_rows:
            out[v] = known_rows[lookup]
            continue
        sid = uuid.uuid4()
        skey = k.subject_key(str(sid))
        new_subjects.append({"id": sid, "subject_key": skey})
        new_identities.append(
            {
                "id": uuid.uuid4(),
                "subject_id": sid,
                "kind": kind,
                "lookup": lookup,
                "sealed": k.seal(norms[v], context=f"{sid}:{kind.value}"),
            }
        )
        known_rows[lookup] = skey
        out[v] = skey
    if new_subjects:
        session.execute(insert(Subject), new_subjects)
        numbers.number_new(session, [r["id"] for r in new_subjects])
        session.execute(insert(SubjectIdentity), new_identities)
    return out


def _mapping(
    session: Session, settings: Settings, decl: DatasetDeclaration
) -> Callable[[list[str]], dict[str, str]]:
    """Identity value → subject key; values that already are subject keys stay."""

    def mapping(values: list[str]) -> dict[str, str]:
        known = _known_keys(session, (v for v in values if v.startswith(crypto.SUBJECT_KEY_PREFIX)))
        rest = [v for v in values if v not in known]
        out = keys_for_values(
            session=session, settings=settings, kind=decl.identity_kind, values=rest
        )
        return out | {v: v for v in known}

    return mapping


def link_dataset(*, session: Session, settings: Settings, dataset_id: uuid.UUID) -> int:
    """Put subject keys in place of identities in every version of a declared dataset that
    was loaded before its declaration, and the subject numbers in the hidden number column
    of every file without them (in place; a new head; row indexes dropped). Returns how many
    files changed; 0 when every file already holds keys and numbers.

    This is also how a version written before subject numbers existed gets them: until it
    does, the gate filters it by subject key (the same rows, more slowly)."""
    from datatorg.lake import service as lake

    decl = declaration(session=session, dataset_id=dataset_id)
    if decl is None:
        return 0
    changed = lake.map_dataset_column(
        session=session,
        storage=lake.storage(settings),
        dataset_id=dataset_id,
        column=decl.subject_column,
        mapping=_mapping(session, settings, decl),
        role="subject_key",
        numbers=numbers.numbering(session=session, dataset_id=dataset_id),
    )
    head = lake.head(session=session, dataset_id=dataset_id)
    decl.linked_version_id = head.id if head else None
    session.flush()
    return changed


def link_file(
    *,
    session: Session,
    settings: Settings,
    dataset_id: uuid.UUID,
    path: Path,
    schema: dict[str, Any],
) -> dict[str, Any] | None:
    """Put subject keys in place of the identities in a staged file of a declared dataset.

    Returns the schema with the subject column as text with the ``subject_key`` role, or
    None when the dataset declares no subjects (nothing changed). The lake's ``map_column``
    rewrites the file; values are looked up (or registered) here.
    """
    from datatorg.lake import service as lake  # the lake calls this module at staging time

    decl = declaration(session=session, dataset_id=dataset_id)
    if decl is None:
        return None
    names = [f["name"] for f in schema.get("fields", [])]
    if decl.subject_column not in names:
        raise Invalid(
            f"The file has no column {decl.subject_column!r}, which this dataset declares as "
            "its subject column",
            errors=[{"column": decl.subject_column, "message": "subject column missing"}],
        )
    kind = decl.identity_kind
    lake.map_column(
        path,
        decl.subject_column,
        lambda values: keys_for_values(
            session=session, settings=settings, kind=kind, values=values
        ),
    )
    fields = []
    for f in schema.get("fields", []):
        if f["name"] == decl.subject_column:
            f = {**f, "type": "string", "x-storage-type": "VARCHAR", "role": "subject_key"}
        fields.append(f)
    return {**schema, "fields": fields}
