"""Catalog services: datasets, their publishing life cycle, change history and search.

Plain typed functions with keyword-only arguments; authorisation is checked here with the
functions in ``policies`` so every face (API, pages, CKAN, harvest) gets the same answer.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from datatorg.audit import service as audit
from datatorg.catalog import policies, search, slugs
from datatorg.catalog.finder import SearchQuery, SearchResult, search_datasets
from datatorg.catalog.lookup import dataset_key, find_dataset, get_dataset
from datatorg.catalog.models import (
    Dataset,
    DatasetChange,
    DatasetKeyword,
    DatasetStatus,
    DatasetTheme,
    Distribution,
    SchemaField,
)
from datatorg.catalog.pageparts import (
    DatasetPagePart,
    dataset_page_part,
    dataset_page_parts,
    published_schema_source,
)
from datatorg.catalog.schemas import DatasetCreate, DatasetUpdate
from datatorg.catalog.vocab import FORMATS, THEMES
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Membership, Organisation, Role

__all__ = [
    "DatasetPagePart",
    "SearchQuery",
    "SearchResult",
    "create_dataset",
    "dataset_page_part",
    "dataset_page_parts",
    "dataset_key",
    "find_dataset",
    "get_dataset",
    "get_organisation",
    "get_visible_dataset",
    "history",
    "organisations_by_id",
    "published_schema_source",
    "published_datasets",
    "publish_dataset",
    "retire_dataset",
    "search_datasets",
    "update_dataset",
]

SCALARS = (
    "title_nb", "title_en", "description_nb", "description_en", "access_rights",
    "classification", "has_personal_data", "license", "contact_name", "contact_email",
    "spatial", "temporal_start", "temporal_end", "frequency", "landing_page", "conforms_to",
    "steward_id",
    "legal_basis", "retention_period", "dpia_reference", "quality_notes",
)  # fmt: skip
LISTS = ("themes", "keywords_nb", "keywords_en", "distributions", "fields")


def get_visible_dataset(*, session: Session, actor: Actor, ref: str) -> Dataset:
    """The dataset ``ref`` if ``actor`` may see it; NotFound otherwise (drafts do not leak)."""
    dataset = get_dataset(session=session, ref=ref)
    if dataset is None or not policies.can_view_dataset(actor, dataset):
        raise NotFound("No such dataset")
    return dataset


def get_organisation(*, session: Session, ref: str) -> Organisation | None:
    try:
        return session.get(Organisation, uuid.UUID(ref))
    except ValueError:
        return session.scalar(select(Organisation).where(Organisation.slug == ref))


def organisations_by_id(*, session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    if not ids:
        return {}
    rows = session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return {o.id: o for o in rows}


def _publisher_for(session: Session, actor: Actor, ref: str | None) -> Organisation:
    if ref is None:
        orgs = sorted(actor.org_ids(Role.publisher), key=str)
        if len(orgs) != 1:
            raise Invalid(
                "Say which organisation publishes the dataset",
                errors=[{"location": "body", "field": "publisher", "message": "required"}],
            )
        ref = str(orgs[0])
    org = get_organisation(session=session, ref=ref)
    if org is None:
        raise Invalid(
            "No such organisation",
            errors=[{"location": "body", "field": "publisher", "message": "unknown"}],
        )
    return org


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | uuid.UUID):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


def _current(dataset: Dataset, name: str) -> Any:
    if name == "themes":
        return [t.theme for t in dataset.themes]
    if name in ("keywords_nb", "keywords_en"):
        return [k.value for k in dataset.keywords if k.lang == name[-2:]]
    if name == "distributions":
        return [_dist_key(d.__dict__) for d in dataset.distributions]
    if name == "fields":
        return [_field_key(f.__dict__) for f in dataset.fields]
    return _jsonable(getattr(dataset, name))


def _dist_key(d: dict[str, Any]) -> tuple[Any, ...]:
    media = d.get("media_type") or FORMATS.get(d.get("format", ""), ("",))[0]
    keys = ("title", "description", "format", "byte_size", "access_url", "download_url")
    return (*(d.get(k) for k in keys), media)


def _field_key(f: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        f.get(k) for k in ("name", "type", "title", "description", "unit", "data_category")
    )


def _comparable(name: str, new: Any) -> Any:
    if name == "distributions":
        return [_dist_key(d) for d in new]
    if name == "fields":
        return [_field_key(f) for f in new]
    if name in ("themes", "keywords_nb", "keywords_en"):
        return list(dict.fromkeys(new))
    return _jsonable(new)


def _apply(dataset: Dataset, values: dict[str, Any]) -> dict[str, Any]:
    """Set ``values`` on ``dataset``; returns {field: [old, new]} of what changed."""
    changes: dict[str, Any] = {}
    for name, new in values.items():
        old = _current(dataset, name)
        if name in LISTS and sorted(map(repr, old)) == sorted(map(repr, _comparable(name, new))):
            continue  # unchanged: keep the rows (and their ids)
        if name in SCALARS:
            setattr(dataset, name, new)
        elif name == "themes":
            dataset.themes = [DatasetTheme(theme=t) for t in dict.fromkeys(new)]
        elif name in ("keywords_nb", "keywords_en"):
            lang = name[-2:]
            others = [k for k in dataset.keywords if k.lang != lang]
            mine = [DatasetKeyword(lang=lang, value=v) for v in dict.fromkeys(new)]
            dataset.keywords = others + mine
        elif name == "distributions":
            dataset.distributions = [
                Distribution(
                    position=i,
                    **(d | {"media_type": d["media_type"] or FORMATS.get(d["format"], ("",))[0]}),
                )
                for i, d in enumerate(new)
            ]
        elif name == "fields":
            names = [f["name"] for f in new]
            if len(set(names)) != len(names):
                raise Invalid(
                    "Two schema fields have the same name",
                    errors=[{"location": "body", "field": "fields", "message": "duplicate name"}],
                )
            # Keep the row of a column that stays (same name): replacing it would insert the
            # new row before deleting the old one and break the (dataset, name) uniqueness.
            kept = {f.name: f for f in dataset.fields}
            rows = []
            for i, f in enumerate(new):
                row = kept.get(f["name"]) or SchemaField(name=f["name"])
                for key, value in f.items():
                    setattr(row, key, value)
                row.position = i
                rows.append(row)
            dataset.fields = rows
        now = _current(dataset, name)
        if now != old:
            changes[name] = [old, now] if name in SCALARS else {"count": len(new)}
    if "steward_id" in changes and dataset.steward_id is not None:
        _check_steward(dataset)
    if dataset.temporal_start and dataset.temporal_end:
        if dataset.temporal_end < dataset.temporal_start:
            raise Invalid(
                "The temporal coverage ends before it starts",
                errors=[{"location": "body", "field": "temporal_end", "message": "before start"}],
            )
    return changes


def _check_steward(dataset: Dataset) -> None:
    """The steward must hold the steward (or admin) role in the owning organisation."""
    session = object_session(dataset)
    assert session is not None
    found = session.scalar(
        select(Membership.id).where(
            Membership.user_id == dataset.steward_id,
            Membership.organisation_id == dataset.publisher_id,
            Membership.role.in_([Role.steward, Role.admin]),
        )
    )
    if found is None:
        raise Invalid(
            "The steward must be a steward of the owning organisation",
            errors=[{"location": "body", "field": "steward_id", "message": "not a steward"}],
        )


def search_document(dataset: Dataset, publisher: str) -> str:
    """The search document of ``dataset``: its bokmål and its English words, each stemmed
    in its own language (``catalog.search``)."""
    return search.document(
        [
            dataset.title_nb,
            " ".join(k.value for k in dataset.keywords if k.lang != "en"),
            " ".join(THEMES[t.theme].nb for t in dataset.themes),
            publisher,
            dataset.description_nb,
            " ".join(d.format for d in dataset.distributions),
        ],
        [
            dataset.title_en,
            " ".join(k.value for k in dataset.keywords if k.lang == "en"),
            " ".join(THEMES[t.theme].en for t in dataset.themes),
            dataset.description_en,
        ],
    )


def reindex(*, session: Session, dataset: Dataset) -> None:
    """Rebuild the dataset's search document (and the FTS5 row on SQLite)."""
    org = session.get(Organisation, dataset.publisher_id)
    dataset.sort_title = search.sort_key(dataset.title_nb)
    dataset.search_doc = search_document(dataset, org.name if org else "")
    session.flush()
    search.sync(session, dataset)


def _log(
    session: Session, actor: Actor | None, dataset: Dataset, action: str, changes: dict[str, Any]
) -> None:
    actor_id = actor.user_id if actor else None
    session.add(
        DatasetChange(dataset_id=dataset.id, actor_id=actor_id, action=action, changes=changes)
    )
    audit.record(
        session=session,
        actor=actor,
        action=f"catalog.dataset.{action}",
        target_type="dataset",
        target_id=str(dataset.id),
        details={"fields": sorted(changes)},
    )


def save_new(
    *,
    session: Session,
    actor: Actor | None,
    publisher: Organisation,
    data: DatasetCreate,
    action: str = "create",
    harvest_source_id: uuid.UUID | None = None,
    harvest_identifier: str | None = None,
) -> Dataset:
    """Store a new draft without a policy check (callers check; harvest runs as the system).

    Without a slug, one is made from the Norwegian title (``catalog.slugs``)."""
    slug = data.slug or slugs.unique_slug(session, slugs.slugify(data.title_nb))
    if session.scalar(select(Dataset.id).where(Dataset.slug == slug)) is not None:
        raise Conflict("A dataset with this slug exists already")
    dataset = Dataset(
        slug=slug,
        title_nb=data.title_nb,
        publisher_id=publisher.id,
        status=DatasetStatus.draft,
        harvest_source_id=harvest_source_id,
        harvest_identifier=harvest_identifier,
        themes=[],
        keywords=[],
        distributions=[],
        fields=[],
    )
    session.add(dataset)
    values = data.model_dump(exclude={"slug", "publisher"})
    changes = _apply(dataset, values)
    session.flush()
    reindex(session=session, dataset=dataset)
    _log(session, actor, dataset, action, changes)
    return dataset


def create_dataset(*, session: Session, actor: Actor, data: DatasetCreate) -> Dataset:
    """A new draft dataset owned by ``data.publisher`` (or the actor's one publisher org)."""
    publisher = _publisher_for(session, actor, data.publisher)
    if not policies.can_create_dataset(actor, publisher.id):
        raise Forbidden("Only publishers of the organisation may add datasets to it")
    return save_new(session=session, actor=actor, publisher=publisher, data=data)


def change(
    *, session: Session, actor: Actor | None, dataset: Dataset, values: dict[str, Any], action: str
) -> Dataset:
    """Apply ``values`` without a policy check (callers check)."""
    changes = _apply(dataset, values)
    if changes:
        dataset.updated_at = utcnow()
        reindex(session=session, dataset=dataset)
        _log(session, actor, dataset, action, changes)
    return dataset


def update_dataset(
    *, session: Session, actor: Actor, dataset: Dataset, data: DatasetUpdate
) -> Dataset:
    """Change the fields sent in ``data``."""
    if not policies.can_edit_dataset(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may change this dataset")
    values = data.model_dump(exclude_unset=True)
    return change(session=session, actor=actor, dataset=dataset, values=values, action="update")


def _set_status(session: Session, actor: Actor, dataset: Dataset, status: DatasetStatus) -> None:
    if not policies.can_edit_dataset(actor, dataset):
        raise Forbidden("Only publishers of the owning organisation may change this dataset")
    if dataset.status == status:
        return
    if status == DatasetStatus.published and not dataset.license:
        raise Invalid(
            "Choose a licence before publishing",
            errors=[{"location": "body", "field": "license", "message": "required to publish"}],
        )
    old = dataset.status
    dataset.status = status
    if status == DatasetStatus.published and dataset.published_at is None:
        dataset.published_at = utcnow()
    dataset.updated_at = utcnow()
    session.flush()
    action = "publish" if status == DatasetStatus.published else "retire"
    _log(session, actor, dataset, action, {"status": [old.value, status.value]})


def publish_dataset(*, session: Session, actor: Actor, dataset: Dataset) -> Dataset:
    """Make a draft (or retired) dataset public."""
    _set_status(session, actor, dataset, DatasetStatus.published)
    return dataset


def retire_dataset(*, session: Session, actor: Actor, dataset: Dataset) -> Dataset:
    """Take a dataset out of search; its page stays, marked retired."""
    _set_status(session, actor, dataset, DatasetStatus.retired)
    return dataset


def history(*, session: Session, dataset: Dataset) -> list[DatasetChange]:
    """The dataset's changes, oldest first."""
    return list(
        session.scalars(
            select(DatasetChange)
            .where(DatasetChange.dataset_id == dataset.id)
            .order_by(DatasetChange.at, DatasetChange.id)
        )
    )


def published_datasets(*, session: Session) -> list[Dataset]:
    """Every published dataset, by slug (for the DCAT and CKAN faces)."""
    return list(
        session.scalars(
            select(Dataset).where(Dataset.status == DatasetStatus.published).order_by(Dataset.slug)
        )
    )
