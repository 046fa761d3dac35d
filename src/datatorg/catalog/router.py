"""The catalog's JSON API, ``/api/v1/datasets``: thin handlers over ``service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from datatorg.catalog import datapackage, present, service
from datatorg.catalog import deps as catalog_deps
from datatorg.catalog.finder import FACETS, SearchQuery
from datatorg.catalog.policies import can_see_history
from datatorg.catalog.schemas import (
    ChangeRead,
    DatasetCreate,
    DatasetPage,
    DatasetRead,
    DatasetUpdate,
    SortKey,
)
from datatorg.errors import Forbidden
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.web.deps import SessionDep
from datatorg.web.urls import public_base

router = APIRouter(prefix="/api/v1/datasets", tags=["catalog"])
MAX_PER_PAGE = 100
Multi = Annotated[list[str], Query(max_length=20)]


def facet_filters(**values: list[str]) -> dict[str, list[str]]:
    """The non-empty facet filters, each value trimmed and capped."""
    out: dict[str, list[str]] = {}
    for name in FACETS:
        picked = [v.strip()[:100] for v in values.get(name, []) if v.strip()]
        if picked:
            out[name] = picked
    return out


@router.get("", response_model=DatasetPage, dependencies=[perm.ANYONE])
def list_datasets(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=300)] = "",
    theme: Multi = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    publisher: Multi = [],  # noqa: B006
    format: Multi = [],  # noqa: B006
    access_rights: Multi = [],  # noqa: B006
    license: Multi = [],  # noqa: B006
    keyword: Multi = [],  # noqa: B006
    classification: Multi = [],  # noqa: B006
    sort: SortKey = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
    mine: bool = False,
) -> DatasetPage:
    """Search published datasets (and, with ``mine``, your organisations' drafts)."""
    filters = facet_filters(
        theme=theme,
        publisher=publisher,
        format=format,
        access_rights=access_rights,
        license=license,
        keyword=keyword,
        classification=classification,
    )
    query = SearchQuery(
        q=q,
        filters=filters,
        sort=sort,
        offset=(page - 1) * per_page,
        limit=per_page,
        include_own_drafts=mine,
    )
    result = service.search_datasets(session=session, actor=actor, query=query)
    return present.page(session, result, page=page, per_page=per_page, sort=sort)


@router.post("", response_model=DatasetRead, status_code=201, dependencies=[perm.PERSON])
def create_dataset(session: SessionDep, actor: UserActorDep, body: DatasetCreate) -> DatasetRead:
    """Create a draft dataset (publishers of the owning organisation)."""
    dataset = service.create_dataset(session=session, actor=actor, data=body)
    return present.read(session, actor, dataset)


@router.get("/{ref}", response_model=DatasetRead, dependencies=[perm.ANYONE])
def get_dataset(session: SessionDep, actor: ActorDep, ref: str) -> DatasetRead:
    """One dataset by slug or UUID (drafts only for the owning organisation)."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    return present.read(session, actor, dataset)


@router.patch(
    "/{ref}",
    response_model=DatasetRead,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def patch_dataset(
    session: SessionDep, actor: UserActorDep, ref: str, body: DatasetUpdate
) -> DatasetRead:
    """Change some fields of a dataset."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    service.update_dataset(session=session, actor=actor, dataset=dataset, data=body)
    return present.read(session, actor, dataset)


@router.post(
    "/{ref}/publish",
    response_model=DatasetRead,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def publish(session: SessionDep, actor: UserActorDep, ref: str) -> DatasetRead:
    """Publish a draft."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    service.publish_dataset(session=session, actor=actor, dataset=dataset)
    return present.read(session, actor, dataset)


@router.post(
    "/{ref}/retire",
    response_model=DatasetRead,
    dependencies=[perm.org(catalog_deps.dataset, Role.publisher, person=True)],
)
def retire(session: SessionDep, actor: UserActorDep, ref: str) -> DatasetRead:
    """Retire a dataset (it leaves search; its page stays)."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    service.retire_dataset(session=session, actor=actor, dataset=dataset)
    return present.read(session, actor, dataset)


@router.get(
    "/{ref}/history", response_model=list[ChangeRead], dependencies=[perm.org(catalog_deps.dataset)]
)
def history(session: SessionDep, actor: UserActorDep, ref: str) -> list[ChangeRead]:
    """The change history (members of the owning organisation)."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    if not can_see_history(actor, dataset):
        raise Forbidden("Only the owning organisation sees the change history")
    return [
        ChangeRead(at=c.at, actor_id=c.actor_id, action=c.action, changes=c.changes)
        for c in service.history(session=session, dataset=dataset)
    ]


@router.get("/{ref}/datapackage.json", dependencies=[perm.ANYONE])
def get_datapackage(request: Request, session: SessionDep, actor: ActorDep, ref: str) -> Response:
    """The Frictionless Data Package descriptor of the dataset."""
    dataset = service.get_visible_dataset(session=session, actor=actor, ref=ref)
    body: dict[str, Any] = datapackage.descriptor(session, dataset, public_base(request))
    return JSONResponse(body)
