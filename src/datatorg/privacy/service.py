"""The privacy domain's public services: what other domains (the gate, the lake, pilots,
the demo) and this domain's router and pages call.

Subjects and identities (``subjects``), consent (``consents``), declarations of datasets
with personal data, data subject requests (``requests``), erasure (``erasure``), the
disclosure ledger (``ledger``) and donations (``donations``) live in their own modules;
this module names the public part of each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset
from datatorg.errors import Forbidden, Invalid, NotFound, Unauthenticated
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role, User
from datatorg.lake import service as lake
from datatorg.privacy import vocab
from datatorg.privacy.consents import (
    current_notice,
    ensure_notices,
    events_of,
    expire_due,
    give,
    list_for,
    notices,
    publish_notice,
    state_at,
    valid_subject_keys,
    withdraw,
)
from datatorg.privacy.consents import get as get_consent
from datatorg.privacy.donations import KINDS as DONATION_KINDS
from datatorg.privacy.donations import donate, take_back
from datatorg.privacy.erasure import erase_subject
from datatorg.privacy.filters import Found as SubjectFilterFound
from datatorg.privacy.filters import legal_basis, read_filter, subject_filter
from datatorg.privacy.ledger import Entry as DisclosureEntry
from datatorg.privacy.ledger import record as record_disclosures
from datatorg.privacy.models import (
    VALID_STATES,
    DatasetDeclaration,
    IdentityKind,
    Subject,
    SubjectRequest,
)
from datatorg.privacy.numbers import numbering, numbers_for_keys
from datatorg.privacy.pilot_facts import PilotFacts, pilot_facts
from datatorg.privacy.receipts import receipt, verify_receipt
from datatorg.privacy.requests import create as create_request
from datatorg.privacy.scopes import scope_choices
from datatorg.privacy.subjects import (
    add_identity,
    declaration,
    find_by_identity,
    identities,
    keys_for_values,
    keys_of,
    link_dataset,
    link_file,
    link_verified_identity,
    new_subject,
    subject_for_user,
)
from datatorg.privacy.vocab import N_
from datatorg.settings import Settings

__all__ = [
    "DONATION_KINDS",
    "VALID_STATES",
    "DisclosureEntry",
    "PilotFacts",
    "SubjectFilterFound",
    "create_request",
    "donate",
    "erase_subject",
    "legal_basis",
    "link_dataset",
    "numbering",
    "numbers_for_keys",
    "read_filter",
    "list_requests",
    "record_disclosures",
    "subject_filter",
    "take_back",
    "add_identity",
    "current_notice",
    "declaration",
    "declare_dataset",
    "ensure_notices",
    "events_of",
    "expire_due",
    "find_by_identity",
    "get_consent",
    "get_dataset",
    "give",
    "scope_choices",
    "identities",
    "keys_for_values",
    "keys_of",
    "link_file",
    "link_verified_identity",
    "list_for",
    "new_subject",
    "notices",
    "pilot_facts",
    "publish_notice",
    "receipt",
    "receipt_key",
    "state_at",
    "subject_for_actor",
    "subject_for_user",
    "valid_subject_keys",
    "verify_receipt",
    "withdraw",
]


def _link_staged(
    session: Session, settings: Settings, dataset_id: uuid.UUID, path: Path, schema: dict[str, Any]
) -> dict[str, Any] | None:
    return link_file(
        session=session, settings=settings, dataset_id=dataset_id, path=path, schema=schema
    )


# The lake (below privacy) stages uploads; subject keys replace identities there.
lake.subject_linker(_link_staged)


def _numbering(
    session: Session, dataset_id: uuid.UUID
) -> Callable[[list[str]], dict[str, int]] | None:
    return numbering(session=session, dataset_id=dataset_id)


lake.subject_numbering(_numbering)  # the lake writes subject numbers with linked rows


def subject_for_actor(*, session: Session, settings: Settings, actor: Actor) -> Subject:
    """The signed-in citizen's subject (created on first use). Agreement-scoped tokens
    act for an agreement, not for a person: refused."""
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated(N_("Sign in to see and manage data about you"))
    if actor.agreement_id is not None:
        raise Forbidden(N_("An agreement token cannot act for a data subject"))
    user = session.get(User, actor.user_id)
    if user is None:
        raise Unauthenticated(N_("Sign in to see and manage data about you"))
    return subject_for_user(session=session, settings=settings, user=user)


def receipt_key(*, settings: Settings) -> dict[str, str]:
    """The public key (JWK) that verifies consent receipts."""
    return keys_of(settings).public_jwk()


def _err(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def declare_dataset(
    *,
    session: Session,
    actor: Actor | None,
    dataset: Dataset,
    subject_column: str,
    identity_kind: IdentityKind,
    legal_basis: str,
    categories: list[str],
    legal_hold: str = "",
) -> DatasetDeclaration:
    """Declare (or change) a dataset's subject column, identity kind, legal basis and data
    categories. Publishers of the owning organisation (and superusers); ``actor=None`` is
    the platform itself (the demo loader)."""
    if actor is not None and not actor.has_role(dataset.publisher_id, Role.publisher):
        raise Forbidden(N_("Only the dataset's publishers may declare its personal data"))
    if legal_basis not in vocab.legal_basis_terms():
        raise Invalid(
            N_("Unknown legal basis"), errors=[{"field": "legal_basis", "message": "unknown"}]
        )
    unknown = [c for c in categories if c not in vocab.CATEGORY_LABELS]
    if unknown:
        raise Invalid(
            N_("Unknown data category"), errors=[{"field": "categories", "message": "unknown"}]
        )
    if not subject_column or len(subject_column) > 100:
        raise Invalid(
            N_("Name the subject column"), errors=[{"field": "subject_column", "message": "1-100"}]
        )
    decl = session.get(DatasetDeclaration, dataset.id)
    if decl is None:
        decl = DatasetDeclaration(dataset_id=dataset.id)
        session.add(decl)
    elif decl.subject_column != subject_column or decl.identity_kind != identity_kind:
        if decl.linked_version_id is not None:
            raise Invalid(
                N_("The subject column of a linked dataset cannot change"),
                errors=[{"field": "subject_column", "message": "already linked"}],
            )
    decl.subject_column = subject_column
    decl.identity_kind = identity_kind
    decl.legal_basis = legal_basis
    decl.categories = sorted(set(categories))
    decl.legal_hold = legal_hold[:2000]
    if not dataset.has_personal_data:
        dataset.has_personal_data = True
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="privacy.dataset.declare",
        target_type="dataset",
        target_id=str(dataset.id),
        details={"legal_basis": legal_basis, "identity_kind": identity_kind.value},
    )
    return decl


def get_dataset(*, session: Session, ref: str) -> Dataset:
    """A dataset by slug or UUID (the catalog's one lookup); ``NotFound`` otherwise."""
    found = catalog.get_dataset(session=session, ref=ref)
    if found is None:
        raise NotFound(N_("No such dataset"))
    return found


def list_requests(*, session: Session, subject: Subject) -> list[SubjectRequest]:
    """The subject's data subject requests, newest first."""
    return list(
        session.scalars(
            select(SubjectRequest)
            .where(SubjectRequest.subject_id == subject.id)
            .order_by(SubjectRequest.received_at.desc())
        )
    )
