""" "My data": everything the platform holds about the signed-in citizen, in one view that
the page and its JSON twin (``/api/v1/me/data``) share.

Rows are read through the gate (``access.service.read_subject_rows``: the subject's own
keys only, audited); recipients and access events come from the disclosure ledger.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.access.policies import IDENTIFYING_ROLES
from datatorg.catalog.models import Dataset
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.lake import service as lake
from datatorg.market.models import Agreement
from datatorg.privacy import donations, ledger, present, requests, vocab
from datatorg.privacy.models import DatasetDeclaration, Subject
from datatorg.privacy.subjects import identities
from datatorg.settings import Settings
from datatorg.web.i18n import current_locale


def _title(ds: Dataset) -> str:
    return ds.title_nb if current_locale() == "nb" else ds.title_en or ds.title_nb


def _column_titles(session: Session, ds: Dataset) -> dict[str, str]:
    """Column name → the title a reader of this page's language reads."""
    locale = current_locale()
    titles = donations.column_titles(ds.slug, locale)
    titles.update({f.name: f.title for f in ds.fields if f.title})
    head = lake.head(session=session, dataset_id=ds.id)
    if head is not None:
        schema = lake.localized(head.table_schema, locale)
        titles.update({f["name"]: f["title"] for f in schema.get("fields", []) if f.get("title")})
    if locale == "en":  # a bokmål-only title is not the English reader's: a donation's is
        titles.update(donations.column_titles(ds.slug, "en"))
    return titles


def own_columns(
    session: Session, settings: Settings, dataset: Dataset, subject_column: str
) -> list[str] | None:
    """The columns a subject is shown of their own rows (every one but direct identifiers and
    the subject key), or None: no version yet, or the version has no such subject column."""
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset.id)
    if head is None:
        return None
    fields = head.schema.get("fields", [])
    if subject_column not in {f["name"] for f in fields}:
        return None
    return [f["name"] for f in fields if f.get("role") not in IDENTIFYING_ROLES] or None


def datasets_about(
    *, session: Session, settings: Settings, actor: Actor, subject: Subject, limit: int = 5
) -> list[dict[str, Any]]:
    """Each dataset with rows about the subject: provider, legal basis, count, excerpt."""
    out = []
    rows = session.execute(
        select(DatasetDeclaration, Dataset, Organisation)
        .join(Dataset, Dataset.id == DatasetDeclaration.dataset_id)
        .join(Organisation, Organisation.id == Dataset.publisher_id)
        .order_by(Dataset.sort_title)
    ).all()
    for decl, ds, org in rows:
        columns = own_columns(session, settings, ds, decl.subject_column)
        if columns is None:
            continue
        found = access.read_subject_rows(
            session=session,
            settings=settings,
            actor=actor,
            dataset=ds,
            subject_keys=frozenset({subject.subject_key}),
            items=[("_col", ",".join(columns)), ("_size", str(limit)), ("_count", "1")],
        )
        if not found.count:
            continue
        out.append(
            {
                "dataset": ds.slug,
                "dataset_id": str(ds.id),
                "title": _title(ds),
                "provider": org.name,
                "legal_basis": decl.legal_basis,
                "legal_basis_label": vocab.legal_basis_label(decl.legal_basis),
                "categories": [vocab.label(vocab.CATEGORY_LABELS, c) for c in decl.categories],
                "legal_hold": decl.legal_hold,
                "rows": found.count,
                "version": found.version or 0,
                "columns": found.columns,
                # columns by their titles in the reader's language (the version's schema,
                # else the catalog's, else a donation kind's); a column without one is
                # shown by its name, as data
                "column_titles": _column_titles(session, ds),
                # Table Schema types, so the page writes dates and numbers the reader's way
                "column_types": {f.name: f.type for f in ds.fields},
                "excerpt": found.rows,
            }
        )
    return out


def recipients(*, session: Session, subject: Subject) -> list[dict[str, Any]]:
    """Who received the subject's rows: organisation, purpose, dataset, first and last time."""
    grouped: dict[uuid.UUID, dict[str, Any]] = {}
    for d in ledger.for_subject(session=session, subject_key=subject.subject_key):
        g = grouped.get(d.agreement_id)
        if g is None:
            a = session.get(Agreement, d.agreement_id)
            ds = session.get(Dataset, d.dataset_id)
            org = session.get(Organisation, a.assignee_org_id) if a and a.assignee_org_id else None
            g = grouped[d.agreement_id] = {
                "agreement_id": str(d.agreement_id),
                "organisation": org.name if org else vocab.gettext_private(),
                "purpose": a.purpose if a else "",
                "purpose_label": vocab.purpose_label(a.purpose) if a else "",
                "dataset": _title(ds) if ds else "",
                "first": d.at,
                "last": d.at,
                "reads": 0,
            }
        g["first"], g["last"] = min(g["first"], d.at), max(g["last"], d.at)
        g["reads"] += 1
    return sorted(grouped.values(), key=lambda g: g["last"], reverse=True)


def access_events(*, session: Session, subject: Subject, limit: int = 200) -> list[dict[str, Any]]:
    """Every read that returned the subject's rows, newest first (from the ledger)."""
    names: dict[uuid.UUID, str] = {}
    titles: dict[uuid.UUID, str] = defaultdict(str)
    out = []
    found = ledger.for_subject(session=session, subject_key=subject.subject_key)
    for d in sorted(found, key=lambda d: d.at, reverse=True)[:limit]:
        if d.agreement_id not in names:
            a = session.get(Agreement, d.agreement_id)
            org = session.get(Organisation, a.assignee_org_id) if a and a.assignee_org_id else None
            names[d.agreement_id] = org.name if org else vocab.gettext_private()
        if d.dataset_id not in titles:
            ds = session.get(Dataset, d.dataset_id)
            titles[d.dataset_id] = _title(ds) if ds else ""
        out.append(
            {
                "at": d.at,
                "organisation": names[d.agreement_id],
                "dataset": titles[d.dataset_id],
                "channel": d.channel,
                "rows_in_read": d.rows,
            }
        )
    return out


def view(*, session: Session, settings: Settings, actor: Actor, subject: Subject) -> dict[str, Any]:
    """The whole "My data" view (the page and ``/api/v1/me/data``)."""
    own = requests.list_own(session=session, actor=actor)
    held = datasets_about(session=session, settings=settings, actor=actor, subject=subject)
    given = present.consent_page(session, subject).items
    return {
        "identities": [
            {"kind": k, "label": vocab.label(vocab.IDENTITY_LABELS, k), "value": v}
            for k, v in identities(session=session, settings=settings, subject=subject)
        ],
        "restricted": subject.restricted_at is not None,
        "datasets": held,
        "consents": [c.model_dump(mode="json") for c in given],
        "recipients": recipients(session=session, subject=subject),
        "access_events": access_events(session=session, subject=subject),
        "donations": [
            {
                "id": str(d.id),
                "dataset": _donation_title(session, d.dataset_id),
                "rows": d.rows,
                "purposes": [vocab.purpose_label(p) for p in d.purposes],
                "created_at": d.created_at,
                "withdrawn_at": d.withdrawn_at,
            }
            for d in donations.list_for(session=session, subject=subject)
        ],
        "requests": [present.request_read(r).model_dump(mode="json") for r in own],
    }


def _donation_title(session: Session, dataset_id: uuid.UUID) -> str:
    ds = session.get(Dataset, dataset_id)
    return _title(ds) if ds else ""


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO strings (for JSON answers and the export)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
