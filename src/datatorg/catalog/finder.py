"""Faceted search over the catalog: filters, facet counts, sorting and pages.

Full-text matching comes from ``search`` (FTS5 or tsvector); everything else is plain SQL, so
both databases answer the same question with the same rows in the same order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from datatorg.catalog import facet_index, facet_query, search
from datatorg.catalog.bitsets import positions, to_mask
from datatorg.catalog.hits import Extras, SearchHit, formats, load_datasets, load_hits
from datatorg.catalog.models import (
    Dataset,
    DatasetKeyword,
    DatasetStatus,
    DatasetTheme,
    Distribution,
)
from datatorg.errors import Invalid
from datatorg.identity.actor import ANONYMOUS, Actor
from datatorg.identity.models import Organisation

FACETS = ("theme", "publisher", "format", "access_rights", "license", "keyword", "classification")
SORTS = ("relevance", "title", "-title", "modified", "published")
KEYWORD_FACET_SIZE = 20


@dataclass
class SearchQuery:
    """What a search asks for; every filter list is OR within, AND across."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    with_facets: bool = True
    include_own_drafts: bool = False
    # None: the page as a result list shows it (``hits``); or whole datasets with these
    # relations loaded (``datasets``), for faces that show more
    relations: tuple[str, ...] | None = None


@dataclass
class SearchResult:
    total: int
    facets: dict[str, list[tuple[str, int]]]
    hits: list[SearchHit] = field(default_factory=list)  # when the query asked for no relations
    datasets: list[Dataset] = field(default_factory=list)  # when it did


def _conditions(session: Session, actor: Actor, query: SearchQuery) -> list[ColumnElement[bool]]:
    visible: ColumnElement[bool] = Dataset.status == DatasetStatus.published
    if query.include_own_drafts and actor.is_authenticated:
        if actor.is_superuser:
            visible = Dataset.status != DatasetStatus.retired
        elif orgs := actor.org_ids():
            visible = or_(
                visible,
                and_(Dataset.status == DatasetStatus.draft, Dataset.publisher_id.in_(orgs)),
            )
    conds: list[ColumnElement[bool]] = [visible]
    terms = search.query_terms(query.q)
    if terms:
        conds.append(search.match(session, terms))
    f = query.filters
    if values := f.get("theme"):
        conds.append(
            Dataset.id.in_(select(DatasetTheme.dataset_id).where(DatasetTheme.theme.in_(values)))
        )
    if values := f.get("format"):
        fmts = [v.upper() for v in values]
        conds.append(
            Dataset.id.in_(select(Distribution.dataset_id).where(Distribution.format.in_(fmts)))
        )
    if values := f.get("keyword"):
        conds.append(
            Dataset.id.in_(
                select(DatasetKeyword.dataset_id).where(DatasetKeyword.value.in_(values))
            )
        )
    if values := f.get("publisher"):
        orgs_q = select(Organisation.id).where(Organisation.slug.in_(values))
        conds.append(Dataset.publisher_id.in_(orgs_q))
    if values := f.get("access_rights"):
        conds.append(Dataset.access_rights.in_([v.upper() for v in values]))
    if values := f.get("classification"):
        conds.append(Dataset.classification.in_(values))
    if values := f.get("license"):
        conds.append(Dataset.license.in_(values))
    if query.modified_from is not None:
        conds.append(Dataset.updated_at >= query.modified_from)
    if query.modified_to is not None:
        conds.append(Dataset.updated_at <= query.modified_to)
    return conds


def _facets(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, list[tuple[str, int]]]:
    ids = select(Dataset.id).where(*conds)
    out: dict[str, list[tuple[str, int]]] = {}

    def counts(stmt: Select[Any, Any]) -> list[tuple[str, int]]:
        rows = [(str(v), int(n)) for v, n in session.execute(stmt) if v not in (None, "")]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    n = func.count().label("n")
    out["theme"] = counts(
        select(DatasetTheme.theme, n)
        .where(DatasetTheme.dataset_id.in_(ids))
        .group_by(DatasetTheme.theme)
    )
    out["format"] = counts(
        select(Distribution.format, func.count(func.distinct(Distribution.dataset_id)))
        .where(Distribution.dataset_id.in_(ids))
        .group_by(Distribution.format)
    )
    out["keyword"] = counts(
        select(DatasetKeyword.value, func.count(func.distinct(DatasetKeyword.dataset_id)))
        .where(DatasetKeyword.dataset_id.in_(ids))
        .group_by(DatasetKeyword.value)
    )[:KEYWORD_FACET_SIZE]
    out["publisher"] = counts(
        select(Organisation.slug, n)
        .join(Dataset, Dataset.publisher_id == Organisation.id)
        .where(*conds)
        .group_by(Organisation.slug)
    )
    for name, col in (
        ("access_rights", Dataset.access_rights),
        ("license", Dataset.license),
        ("classification", Dataset.classification),
    ):
        out[name] = counts(select(col, n).where(*conds).group_by(col))
    return out


def _order(session: Session, sort: str) -> list[Any]:
    title = Dataset.sort_title
    if session.get_bind().dialect.name == "postgresql":
        title = title.collate("C")  # type: ignore[assignment]
    if sort == "-title":
        return [title.desc(), Dataset.id]
    if sort == "modified":
        return [Dataset.updated_at.desc(), Dataset.id]
    if sort == "published":
        return [Dataset.published_at.desc(), Dataset.id]
    return [title, Dataset.id]


def search_datasets(*, session: Session, actor: Actor, query: SearchQuery) -> SearchResult:
    """One page of datasets matching ``query`` that ``actor`` may see, with facet counts."""
    if query.sort not in SORTS:
        raise Invalid(
            f"Unknown sort; one of {', '.join(SORTS)}",
            errors=[{"location": "query", "field": "sort", "message": "unknown"}],
        )
    if query.include_own_drafts and actor.is_authenticated:
        return _search_sql(session, actor, query)
    return _search_index(session, query)


def _search_index(
    session: Session, query: SearchQuery, index: facet_index.FacetIndex | None = None
) -> SearchResult:
    """Published datasets only: full text in the database, the rest on the facet index (or,
    while no index can be had without a full build, the same search in SQL)."""
    index = index or facet_index.get(session)
    if index is None:
        return _search_sql(session, ANONYMOUS, query)
    terms = search.query_terms(query.q)
    ids = facet_query.narrow(index, query.filters)
    if terms:
        ids &= index.matching(terms)
    if query.modified_from is not None or query.modified_to is not None:
        low, high = query.modified_from, query.modified_to
        facts = index.facts
        keep = (
            i
            for i in positions(ids)
            if (low is None or facts[i].updated >= low)
            and (high is None or facts[i].updated <= high)
        )
        ids = to_mask(keep, index.size)
    numbers = facet_query.page(index, ids, query.sort, terms, query.offset, query.limit)
    facets = facet_query.counts(index, ids, KEYWORD_FACET_SIZE) if query.with_facets else {}
    known = {index.uuids[n]: index.facts[n] for n in numbers}

    def extras(ds_id: uuid.UUID) -> tuple[tuple[str, ...], tuple[str, ...]]:
        values = known[ds_id].values  # the index's snapshot is the session's
        return tuple(sorted(values["theme"])), formats(values["format"])

    return _page(session, query, list(known), ids.bit_count(), facets, extras)


def _page(
    session: Session,
    query: SearchQuery,
    page_ids: list[uuid.UUID],
    total: int,
    facets: dict[str, list[tuple[str, int]]],
    extras: Extras | None = None,
) -> SearchResult:
    if query.relations is not None:
        datasets = load_datasets(session, page_ids, query.relations)
        return SearchResult(total=total, facets=facets, datasets=datasets)
    hits = load_hits(session, page_ids, extras)
    return SearchResult(total=total, facets=facets, hits=hits)


def _search_sql(session: Session, actor: Actor, query: SearchQuery) -> SearchResult:
    """The same search in SQL alone (used when drafts of the actor's organisations count)."""
    conds = _conditions(session, actor, query)
    total = int(session.scalar(select(func.count()).select_from(Dataset).where(*conds)) or 0)
    terms = search.query_terms(query.q)
    if query.sort == "relevance" and terms:
        rows = session.execute(
            select(
                Dataset.id,
                Dataset.search_doc,
                Dataset.title_nb,
                Dataset.title_en,
                Dataset.sort_title,
            ).where(*conds)
        ).all()

        def rank(r: Any) -> tuple[int, str, str]:
            title = search.title_tokens(r.title_nb, r.title_en)
            return (-search.score(title, terms), r.sort_title, str(r.id))

        page_ids: list[uuid.UUID] = [
            r.id for r in sorted(rows, key=rank)[query.offset : query.offset + query.limit]
        ]
    else:
        page_ids = list(
            session.scalars(
                select(Dataset.id)
                .where(*conds)
                .order_by(*_order(session, query.sort))
                .offset(query.offset)
                .limit(query.limit)
            )
        )
    facets = _facets(session, conds) if query.with_facets else {}
    return _page(session, query, page_ids, total, facets)
