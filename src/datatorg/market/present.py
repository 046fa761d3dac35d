"""What the marketplace pages show about datasets, requests and who asks, in plain words.

Shared by the offer, request, queue and agreement pages: a dataset's title in the reader's
language with its risk facts (classification, personal data, columns and what they hold), and
a request's asker (person and organisation, for the provider's stewards).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.catalog.vocab import find_licence
from datatorg.identity.models import Organisation, User
from datatorg.market.models import AccessRequest
from datatorg.market.terms import Column, dataset_columns
from datatorg.web import labels
from datatorg.web.i18n import current_locale


def title(dataset: Dataset | None) -> str:
    """The dataset's title in the reader's language (falling back to the other one)."""
    if dataset is None:
        return ""
    if current_locale() == "en":
        return dataset.title_en or dataset.title_nb
    return dataset.title_nb or dataset.title_en


@dataclass
class DatasetFacts:
    """A dataset as the marketplace pages show it: title, link, risk facts, columns."""

    id: uuid.UUID
    slug: str
    title: str
    classification: str
    access_rights: str
    has_personal_data: bool
    is_open: bool
    columns: list[Column] = field(default_factory=list)
    has_contents: bool = False

    @property
    def url(self) -> str:
        return f"/datasets/{self.slug}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        return Column(name=name)

    def describe(self, names: list[str] | None) -> list[Column]:
        """The columns ``names`` (every offered column when None), with their titles."""
        return list(self.columns) if names is None else [self.column(n) for n in names]


def dataset_facts(session: Session, dataset: Dataset) -> DatasetFacts:
    cols = dataset_columns(session=session, dataset=dataset)
    return DatasetFacts(
        id=dataset.id,
        slug=dataset.slug,
        title=title(dataset),
        classification=dataset.classification.value,
        access_rights=dataset.access_rights.value,
        has_personal_data=dataset.has_personal_data,
        is_open=dataset.is_open,
        columns=cols or [],
        has_contents=cols is not None,
    )


@dataclass(frozen=True)
class LicenceShown:
    """A licence as a page shows it: its name (the address itself when it is not one the
    catalog knows) and its address (empty when there is none to link)."""

    name: str
    url: str
    known: bool


def licence_named(ref: str) -> LicenceShown | None:
    """The licence ``ref`` (a code or an address) by its name in the reader's language, as the
    dataset page names it; an unknown address as it is; None when there is none."""
    ref = ref.strip()
    if not ref:
        return None
    lic = find_licence(ref)
    if lic is not None:
        return LicenceShown(name=lic.title(current_locale()), url=lic.url, known=True)
    url = ref if ref.startswith(("https://", "http://")) else ""
    return LicenceShown(name=ref, url=url, known=False)


def asker(session: Session, request: AccessRequest) -> dict[str, Any]:
    """Who asks: the person's name and their organisation (or "a private person")."""
    user = session.get(User, request.consumer_user_id)
    org = session.get(Organisation, request.consumer_org_id) if request.consumer_org_id else None
    return {
        "person": user.display_name if user else "",
        "org": org.name if org else "",
        "org_slug": org.slug if org else "",
        "kind": labels.label("org_kind", org.kind.value if org else "private_person"),
    }


def org_name(session: Session, org_id: uuid.UUID | None) -> str:
    org = session.get(Organisation, org_id) if org_id else None
    return org.name if org else ""
