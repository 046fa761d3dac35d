"""Turn catalog rows into the API's schemas, in the request's language (pages use them too)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from datatorg.catalog import policies
from datatorg.catalog.finder import SearchResult
from datatorg.catalog.hits import SearchHit
from datatorg.catalog.models import Dataset
from datatorg.catalog.schemas import (
    DatasetPage,
    DatasetRead,
    DatasetSummary,
    DistributionRead,
    FacetValue,
    FieldRead,
    Governance,
    Labelled,
    LicenceRead,
    PublisherRef,
)
from datatorg.catalog.vocab import FREQUENCIES, THEMES, find_licence
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.web import labels
from datatorg.web.i18n import current_locale
from datatorg.web.urls import absolute


def access_label(value: str) -> str:
    """Words for an access right (the label registry's ``access_rights``)."""
    return labels.label("access_rights", value)


def classification_label(value: str) -> str:
    """Words for a classification (the label registry's ``classification``)."""
    return labels.label("classification", value)


def licence(code: str) -> LicenceRead | None:
    """The licence a dataset names, by its code or by its address (older rows hold one)."""
    lic = find_licence(code) if code else None
    if lic is None:
        return None
    return LicenceRead(
        id=lic.id, url=lic.url, title=lic.title(current_locale()), is_open=lic.is_open
    )


def pick(nb: str, en: str) -> str:
    """The text in the current language, falling back to the other one."""
    return (en or nb) if current_locale() == "en" else (nb or en)


def _publisher(org: Organisation | None, hit: SearchHit) -> PublisherRef:
    if org is None:
        return PublisherRef(id=hit.publisher_id, slug="", name="")
    return PublisherRef(id=org.id, slug=org.slug, name=org.name)


def summary(hit: SearchHit, org: Organisation | None) -> DatasetSummary:
    """A dataset as a result list shows it (``SearchHit.of(dataset)`` for a whole one)."""
    loc = current_locale()
    return DatasetSummary(
        id=hit.id,
        slug=hit.slug,
        title=pick(hit.title_nb, hit.title_en),
        title_nb=hit.title_nb,
        title_en=hit.title_en,
        description=pick(hit.description_nb, hit.description_en),
        publisher=_publisher(org, hit),
        status=hit.status,
        access_rights=hit.access_rights,
        classification=hit.classification,
        is_open=hit.is_open,
        license=licence(hit.license),
        themes=[Labelled(code=t, label=THEMES[t].label(loc)) for t in hit.themes],
        formats=list(hit.formats),
        modified=hit.updated_at,
        url=f"/datasets/{hit.slug}",
    )


def read(session: Session, actor: Actor, dataset: Dataset) -> DatasetRead:
    org = session.get(Organisation, dataset.publisher_id)
    base = summary(SearchHit.of(dataset), org).model_dump()
    freq = FREQUENCIES.get(dataset.frequency)
    governance = None
    if policies.can_see_governance(actor, dataset):
        governance = Governance(
            steward_id=dataset.steward_id,
            legal_basis=dataset.legal_basis,
            retention_period=dataset.retention_period,
            dpia_reference=dataset.dpia_reference,
            quality_notes=dataset.quality_notes,
        )
    slug = dataset.slug
    return DatasetRead(
        **base,
        description_nb=dataset.description_nb,
        description_en=dataset.description_en,
        has_personal_data=dataset.has_personal_data,
        keywords_nb=[k.value for k in dataset.keywords if k.lang == "nb"],
        keywords_en=[k.value for k in dataset.keywords if k.lang == "en"],
        contact_name=dataset.contact_name,
        contact_email=dataset.contact_email,
        spatial=dataset.spatial,
        temporal_start=dataset.temporal_start,
        temporal_end=dataset.temporal_end,
        frequency=Labelled(code=freq.code, label=freq.label(current_locale())) if freq else None,
        landing_page=dataset.landing_page,
        conforms_to=list(dataset.conforms_to),
        published_at=dataset.published_at,
        created=dataset.created_at,
        distributions=[
            DistributionRead(
                id=d.id,
                title=d.title,
                description=d.description,
                format=d.format,
                media_type=d.media_type,
                byte_size=d.byte_size,
                access_url=absolute(d.access_url),
                download_url=absolute(d.download_url),
            )
            for d in dataset.distributions
        ],
        fields=[
            FieldRead(
                name=f.name,
                type=f.type,
                title=f.title,
                description=f.description,
                unit=f.unit,
                data_category=f.data_category,
            )
            for f in dataset.fields
        ],
        governance=governance,
        links={
            "self": f"/api/v1/datasets/{slug}",
            "html": f"/datasets/{slug}",
            "turtle": f"/dataset/{slug}.ttl",
            "jsonld": f"/dataset/{slug}.jsonld",
            "rdfxml": f"/dataset/{slug}.rdf",
            "datapackage": f"/dataset/{slug}/datapackage.json",
        },
    )


def facet_label(session: Session, facet: str, value: str, orgs: dict[str, str]) -> str:
    loc = current_locale()
    if facet == "theme":
        return THEMES[value].label(loc) if value in THEMES else value
    if facet == "publisher":
        return orgs.get(value, value)
    if facet == "license":
        lic = find_licence(value) if value else None
        return lic.title(loc) if lic else value
    if facet == "access_rights":
        return access_label(value)
    if facet == "classification":
        return classification_label(value)
    return value


def page(
    session: Session, result: SearchResult, *, page: int, per_page: int, sort: str
) -> DatasetPage:
    ids = {h.publisher_id for h in result.hits}
    slugs = [v for v, _n in result.facets.get("publisher", [])]
    found = _organisations(session, ids, slugs)  # the hits' publishers and the facet's: one query
    orgs = {o.id: o for o in found if o.id in ids}
    names = {o.slug: o.name for o in found}
    return DatasetPage(
        items=[summary(h, orgs.get(h.publisher_id)) for h in result.hits],
        total=result.total,
        page=page,
        per_page=per_page,
        sort=sort,
        facets={
            name: [
                FacetValue(value=v, label=facet_label(session, name, v, names), count=n)
                for v, n in values
                if v != ""  # nothing to name and nothing to filter by (an empty filter is none)
            ]
            for name, values in result.facets.items()
        },
    )


def _organisations(session: Session, ids: set[uuid.UUID], slugs: list[str]) -> list[Organisation]:
    from sqlalchemy import or_, select

    if not ids and not slugs:
        return []
    match = or_(Organisation.id.in_(ids), Organisation.slug.in_(slugs))
    return list(session.scalars(select(Organisation).where(match)))
