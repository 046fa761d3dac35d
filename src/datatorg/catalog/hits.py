"""What a page of search results loads: plain rows for the result list (``SearchHit``), or
whole datasets for faces that show more (CKAN's package dicts).

A result list shows a few columns, the theme codes and the formats of each dataset. Loading
them as ORM datasets with their themes and distributions made about 90 tracked objects per
page of 20 and cost about two thirds of a search's CPU; one plain query of the columns costs
a tenth of that. On the facet index's path the themes and formats come from the index (the
same snapshot of the catalog), so a page is one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from datatorg.catalog.models import (
    AccessRights,
    Classification,
    Dataset,
    DatasetStatus,
    DatasetTheme,
    Distribution,
    is_open_data,
)

RELATIONS = ("themes", "keywords", "distributions", "fields")


@dataclass(frozen=True)
class SearchHit:
    """One dataset as a result list shows it."""

    id: uuid.UUID
    slug: str
    title_nb: str
    title_en: str
    description_nb: str
    description_en: str
    publisher_id: uuid.UUID
    status: DatasetStatus
    access_rights: AccessRights
    classification: Classification
    has_personal_data: bool
    license: str
    updated_at: datetime
    themes: tuple[str, ...]  # theme codes, in code order
    formats: tuple[str, ...]  # the distributions' formats, each once, in alphabetical order

    @property
    def is_open(self) -> bool:
        return is_open_data(self.access_rights, self.classification, self.has_personal_data)

    @classmethod
    def of(cls, dataset: Dataset) -> SearchHit:
        return cls(
            **{name: getattr(dataset, name) for name in _COLUMNS},
            themes=tuple(t.theme for t in dataset.themes),
            formats=formats(d.format for d in dataset.distributions),
        )


_COLUMNS = (
    "id", "slug", "title_nb", "title_en", "description_nb", "description_en", "publisher_id",
    "status", "access_rights", "classification", "has_personal_data", "license", "updated_at",
)  # fmt: skip


def formats(values: Iterable[str | None]) -> tuple[str, ...]:
    """Formats as a result list shows them: each once, in alphabetical order."""
    return tuple(sorted({v for v in values if v}))


Extras = Callable[[uuid.UUID], tuple[tuple[str, ...], tuple[str, ...]]]


def load_hits(
    session: Session, page_ids: list[uuid.UUID], extras: Extras | None = None
) -> list[SearchHit]:
    """The page's hits, in ``page_ids`` order. ``extras`` gives a dataset's (themes,
    formats) when the caller knows them; otherwise they are read here."""
    columns = [getattr(Dataset, name) for name in _COLUMNS]
    rows = {r.id: r for r in session.execute(select(*columns).where(Dataset.id.in_(page_ids)))}
    if extras is None:
        themes: dict[uuid.UUID, list[str]] = {}
        found: dict[uuid.UUID, list[str]] = {}
        for ds_id, theme in session.execute(
            select(DatasetTheme.dataset_id, DatasetTheme.theme).where(
                DatasetTheme.dataset_id.in_(page_ids)
            )
        ):
            themes.setdefault(ds_id, []).append(theme)
        for ds_id, fmt in session.execute(
            select(Distribution.dataset_id, Distribution.format).where(
                Distribution.dataset_id.in_(page_ids)
            )
        ):
            found.setdefault(ds_id, []).append(fmt)

        def extras(ds_id: uuid.UUID) -> tuple[tuple[str, ...], tuple[str, ...]]:
            return tuple(sorted(themes.get(ds_id, ()))), formats(found.get(ds_id, ()))

    out = []
    for ds_id in page_ids:
        row = rows.get(ds_id)
        if row is not None:
            ds_themes, ds_formats = extras(ds_id)
            out.append(SearchHit(**row._asdict(), themes=ds_themes, formats=ds_formats))
    return out


def load_datasets(
    session: Session, page_ids: list[uuid.UUID], relations: tuple[str, ...]
) -> list[Dataset]:
    """The page's datasets with the ``relations`` its face shows (the others load lazily,
    if ever: a page of 20 with every relation costs several times the search itself)."""
    options = [
        (selectinload if name in relations else lazyload)(getattr(Dataset, name))
        for name in RELATIONS
    ]
    stmt = select(Dataset).where(Dataset.id.in_(page_ids)).options(*options)
    by_id = {d.id: d for d in session.scalars(stmt)}
    return [by_id[i] for i in page_ids if i in by_id]
