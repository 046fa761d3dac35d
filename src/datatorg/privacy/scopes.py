"""Consent scopes for people: what a scope is called, who the controller is, who receives
data under it, and what a citizen can consent to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.models import Organisation
from datatorg.market.models import Agreement, AgreementState
from datatorg.privacy import vocab
from datatorg.privacy.models import Consent, DatasetDeclaration, ScopeKind
from datatorg.privacy.pilot_facts import agreements_of_pilot, pilot_title
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _


@dataclass(frozen=True)
class ScopeInfo:
    kind: str
    ref: str
    label: str
    controller: str
    controller_id: str | None


def scope_info(session: Session, consent: Consent) -> ScopeInfo:
    """What a consent's scope is called and who the controller is (for people)."""
    kind, ref = consent.scope_kind, consent.scope_ref
    city = session.scalar(select(Organisation).where(Organisation.slug == "halden-kommune"))
    if kind == ScopeKind.dataset:
        ds = session.get(Dataset, uuid.UUID(ref))
        org = session.get(Organisation, ds.publisher_id) if ds else None
        title = (
            (ds.title_nb if current_locale() == "nb" else ds.title_en or ds.title_nb) if ds else ref
        )
        return ScopeInfo(kind, ref, title, org.name if org else "", str(org.id) if org else None)
    if kind == ScopeKind.provider:
        org = session.get(Organisation, uuid.UUID(ref))
        name = org.name if org else ref
        return ScopeInfo(kind, ref, name, name, ref)
    if kind == ScopeKind.pilot:
        named = pilot_title(session, uuid.UUID(ref))
        label = _("Pilot: {title}").format(title=named if named is not None else ref)
        return ScopeInfo(
            kind,
            ref,
            label,
            city.name if city else "Halden kommune",
            str(city.id) if city else None,
        )
    return ScopeInfo(
        kind,
        ref,
        vocab.label(vocab.CATEGORY_LABELS, ref),
        city.name if city else "Halden kommune",
        str(city.id) if city else None,
    )


def recipients(session: Session, consent: Consent, now: datetime) -> list[str]:
    """Organisations that hold an agreement in force for this purpose within the scope."""
    stmt = (
        select(Organisation.name)
        .join(Agreement, Agreement.assignee_org_id == Organisation.id)
        .join(Dataset, Dataset.id == Agreement.dataset_id)
        .where(
            Agreement.purpose == consent.purpose,
            Agreement.state == AgreementState.active,
            Agreement.valid_until > now,
        )
    )
    if consent.scope_kind == ScopeKind.dataset:
        stmt = stmt.where(Agreement.dataset_id == uuid.UUID(consent.scope_ref))
    elif consent.scope_kind == ScopeKind.pilot:
        stmt = stmt.where(Agreement.id.in_(agreements_of_pilot(uuid.UUID(consent.scope_ref))))
    elif consent.scope_kind == ScopeKind.provider:
        stmt = stmt.where(Dataset.publisher_id == uuid.UUID(consent.scope_ref))
    else:
        stmt = stmt.join(DatasetDeclaration, DatasetDeclaration.dataset_id == Dataset.id)
        return sorted(
            {
                name
                for name, cats in session.execute(stmt.add_columns(DatasetDeclaration.categories))
                if consent.scope_ref in (cats or [])
            }
        )
    return sorted(set(session.scalars(stmt)))


@dataclass(frozen=True)
class ScopeChoice:
    kind: ScopeKind
    ref: str
    label: str


def scope_choices(*, session: Session, every_basis: bool = False) -> list[ScopeChoice]:
    """What a citizen can give consent for: each published dataset whose legal basis is
    consent, each provider of one, and each data category (in that order)."""
    rows = session.execute(
        select(Dataset, Organisation)
        .join(DatasetDeclaration, DatasetDeclaration.dataset_id == Dataset.id)
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .where(
            Dataset.status == "published",
            true() if every_basis else DatasetDeclaration.legal_basis == "Consent",
        )
        .order_by(Dataset.sort_title)
    ).all()
    nb = current_locale() == "nb"
    out = [
        ScopeChoice(
            ScopeKind.dataset, str(ds.id), ds.title_nb if nb else ds.title_en or ds.title_nb
        )
        for ds, _org in rows
    ]
    providers = {org.id: org.name for _ds, org in rows}
    out += [
        ScopeChoice(ScopeKind.provider, str(oid), name)
        for oid, name in sorted(providers.items(), key=lambda p: p[1])
    ]
    out += [
        ScopeChoice(ScopeKind.category, term, vocab.label(vocab.CATEGORY_LABELS, term))
        for term in vocab.CATEGORY_LABELS
    ]
    return out
