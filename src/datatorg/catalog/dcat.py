"""DCAT-AP-NO 2 / DCAT-AP 3 export: the catalog and each dataset as an RDF graph.

Every node is an IRI (no blank nodes): datasets and distributions under ``settings.base_url``,
publishers as ``foaf:Agent`` (Brønnøysund IRIs where the organisation number is known),
themes from the EU data-theme vocabulary as ``skos:Concept``. Only public metadata is
exported; a non-public dataset shows what it is and how to ask for it, never its contents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.catalog.service import organisations_by_id
from datatorg.catalog.vocab import (
    ACCESS_RIGHT_BASE,
    FILE_TYPE_BASE,
    FORMATS,
    FREQUENCY_BASE,
    LICENCE_BASE,
    LICENCES,
    SPATIAL_SCHEMES,
    THEME_BASE,
    THEMES,
)
from datatorg.identity.models import Organisation
from datatorg.web.urls import absolute

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
IANA = "https://www.iana.org/assignments/media-types/"
BRREG = "https://data.brreg.no/enhetsregisteret/api/enheter/"
THEME_SCHEME = URIRef("http://publications.europa.eu/resource/authority/data-theme")
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
ACCESS_LABELS = {
    "PUBLIC": ("Offentlig", "Public"),
    "RESTRICTED": ("Begrenset", "Restricted"),
    "NON_PUBLIC": ("Ikke-offentlig", "Non-public"),
}
HOME_ORG = "halden-kommune"

# content type → rdflib format and file extension
SERIALISATIONS = {
    "text/turtle": ("turtle", "ttl"),
    "application/rdf+xml": ("xml", "rdf"),
    "application/ld+json": ("json-ld", "jsonld"),
}
BY_EXTENSION = {ext: (ctype, fmt) for ctype, (fmt, ext) in SERIALISATIONS.items()}


def new_graph() -> Graph:
    g = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("vcard", VCARD),
        ("dcatap", DCATAP),
        ("adms", ADMS),
    ):
        g.bind(prefix, ns)
    return g


def dataset_iri(base_url: str, dataset: Dataset) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/dataset/{dataset.id}")


def catalog_iri(base_url: str) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/catalog")


def agent_iri(base_url: str, org: Organisation) -> URIRef:
    if org.orgnr:
        return URIRef(BRREG + org.orgnr)
    return URIRef(f"{base_url.rstrip('/')}/organisations/{org.slug}")


def _lang(g: Graph, s: URIRef, p: URIRef, nb: str, en: str) -> None:
    if nb:
        g.add((s, p, Literal(nb, lang="nb")))
    if en:
        g.add((s, p, Literal(en, lang="en")))


def _date_time(value: datetime) -> Literal:
    return Literal(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)


def add_agent(g: Graph, base_url: str, org: Organisation) -> URIRef:
    iri = agent_iri(base_url, org)
    g.add((iri, RDF.type, FOAF.Agent))
    g.add((iri, FOAF.name, Literal(org.name, lang="nb")))
    g.add((iri, DCTERMS.identifier, Literal(org.orgnr or org.slug)))
    if org.homepage:
        g.add((iri, FOAF.homepage, URIRef(org.homepage)))
    return iri


def _term(g: Graph, iri: str, scheme: str, *types: URIRef) -> URIRef:
    """A term of a controlled vocabulary: typed, and in its scheme."""
    node = URIRef(iri)
    g.add((node, SKOS.inScheme, URIRef(scheme)))
    for t in types:
        g.add((node, RDF.type, t))
    return node


def _add_theme(g: Graph, code: str) -> URIRef:
    iri = _term(g, THEME_BASE + code, str(THEME_SCHEME), SKOS.Concept)
    _lang(g, iri, SKOS.prefLabel, THEMES[code].nb, THEMES[code].en)
    return iri


def add_dataset(g: Graph, base_url: str, dataset: Dataset, org: Organisation) -> URIRef:
    """Add ``dataset`` (its public metadata) to ``g``; returns its IRI."""
    ds = dataset_iri(base_url, dataset)
    base = base_url.rstrip("/")
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(str(ds))))
    _lang(g, ds, DCTERMS.title, dataset.title_nb, dataset.title_en)
    _lang(
        g,
        ds,
        DCTERMS.description,
        dataset.description_nb or dataset.title_nb,
        dataset.description_en,
    )
    g.add((ds, DCTERMS.publisher, add_agent(g, base_url, org)))
    for theme in dataset.themes:
        g.add((ds, DCAT.theme, _add_theme(g, theme.theme)))
    for kw in dataset.keywords:
        g.add((ds, DCAT.keyword, Literal(kw.value, lang=kw.lang)))
    rights = _term(
        g,
        ACCESS_RIGHT_BASE + dataset.access_rights.value,
        EU_AUTHORITY + "access-right",
        DCTERMS.RightsStatement,
        SKOS.Concept,
    )
    nb, en = ACCESS_LABELS[dataset.access_rights.value]
    _lang(g, rights, SKOS.prefLabel, nb, en)
    g.add((ds, DCTERMS.accessRights, rights))
    g.add((ds, DCTERMS.modified, _date_time(dataset.updated_at)))
    if dataset.published_at:
        g.add((ds, DCTERMS.issued, _date_time(dataset.published_at)))
    if dataset.contact_email or dataset.contact_name:
        contact = URIRef(f"{ds}#contact")
        g.add((contact, RDF.type, VCARD.Organization))
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, VCARD.fn, Literal(dataset.contact_name or org.name)))
        if dataset.contact_email:
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{dataset.contact_email}")))
        g.add((ds, DCAT.contactPoint, contact))
    scheme = next((v for k, v in SPATIAL_SCHEMES.items() if dataset.spatial.startswith(k)), "")
    if scheme:  # other places are not in a vocabulary DCAT-AP-NO accepts; left out
        place = _term(g, dataset.spatial, scheme, DCTERMS.Location)
        g.add((ds, DCTERMS.spatial, place))
    if dataset.temporal_start or dataset.temporal_end:
        period = URIRef(f"{ds}#temporal")
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            g.add((period, DCAT.startDate, Literal(dataset.temporal_start, datatype=XSD.date)))
        if dataset.temporal_end:
            g.add((period, DCAT.endDate, Literal(dataset.temporal_end, datatype=XSD.date)))
        g.add((ds, DCTERMS.temporal, period))
    if dataset.frequency:
        freq = _term(
            g, FREQUENCY_BASE + dataset.frequency, EU_AUTHORITY + "frequency", DCTERMS.Frequency
        )
        g.add((ds, DCTERMS.accrualPeriodicity, freq))
    page = URIRef(dataset.landing_page or f"{base}/datasets/{dataset.slug}")
    g.add((page, RDF.type, FOAF.Document))
    g.add((ds, DCAT.landingPage, page))
    for url in dataset.conforms_to:
        std = URIRef(url)
        g.add((std, RDF.type, DCTERMS.Standard))
        g.add((ds, DCTERMS.conformsTo, std))
    lic = LICENCES.get(dataset.license)
    if lic is None or not lic.eu:
        # Used only under an agreement: the EU licence table has no entry for terms set by a
        # contract, and DCAT-AP-NO wants one on every distribution. The landing page says
        # how to ask for access; its formats are listed there.
        return ds
    lic_iri = _term(g, LICENCE_BASE + lic.eu, EU_AUTHORITY + "licence", DCTERMS.LicenseDocument)
    for dist in dataset.distributions:
        di = URIRef(f"{base}/dataset/{dataset.id}/distribution/{dist.id}")
        g.add((di, RDF.type, DCAT.Distribution))
        g.add((ds, DCAT.distribution, di))
        access = absolute(dist.access_url or dist.download_url, base)
        g.add((di, DCAT.accessURL, URIRef(access)))
        if dist.download_url:
            g.add((di, DCAT.downloadURL, URIRef(absolute(dist.download_url, base))))
        if dist.title:
            g.add((di, DCTERMS.title, Literal(dist.title, lang="nb")))
        g.add((di, DCTERMS.description, Literal(dist.description or dataset.title_nb, lang="nb")))
        if dist.format in FORMATS:
            fmt = _term(
                g,
                FILE_TYPE_BASE + FORMATS[dist.format][1],
                EU_AUTHORITY + "file-type",
                DCTERMS.MediaTypeOrExtent,
            )
            g.add((di, DCTERMS["format"], fmt))
        if dist.media_type:
            media = URIRef(IANA + dist.media_type)
            g.add((media, RDF.type, DCTERMS.MediaType))
            g.add((di, DCAT.mediaType, media))
        if dist.byte_size is not None:
            g.add((di, DCAT.byteSize, Literal(dist.byte_size, datatype=XSD.nonNegativeInteger)))
        g.add((di, DCTERMS.license, lic_iri))
    return ds


def catalog_graph(
    session: Session, base_url: str, datasets: Iterable[Dataset], home: Organisation | None
) -> Graph:
    """The whole catalog: one ``dcat:Catalog`` listing ``datasets``."""
    items = list(datasets)
    g = new_graph()
    cat = catalog_iri(base_url)
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.identifier, Literal(str(cat))))
    _lang(
        g, cat, DCTERMS.title, "Datatorg – Haldens datakatalog", "Datatorg – Halden's data catalog"
    )
    _lang(
        g,
        cat,
        DCTERMS.description,
        "Datasett fra Halden kommune og partnerne i Min digitale by.",
        "Datasets from Halden municipality and the My Digital City partners.",
    )
    homepage = URIRef(base_url.rstrip("/") + "/")
    g.add((homepage, RDF.type, FOAF.Document))
    g.add((cat, FOAF.homepage, homepage))
    orgs = organisations_by_id(session=session, ids={d.publisher_id for d in items})
    if home is None and orgs:
        home = sorted(orgs.values(), key=lambda o: o.slug)[0]
    if home is not None:
        g.add((cat, DCTERMS.publisher, add_agent(g, base_url, home)))
    modified = max((d.updated_at for d in items), default=datetime.now(UTC))
    g.add((cat, DCTERMS.modified, _date_time(modified)))
    for dataset in items:
        org = orgs[dataset.publisher_id]
        g.add((cat, DCAT.dataset, add_dataset(g, base_url, dataset, org)))
    return g


def dataset_graph(session: Session, base_url: str, dataset: Dataset) -> Graph:
    g = new_graph()
    org = session.get(Organisation, dataset.publisher_id)
    assert org is not None
    add_dataset(g, base_url, dataset, org)
    return g


def serialise(g: Graph, fmt: str) -> bytes:
    if fmt == "json-ld":
        return g.serialize(format="json-ld", auto_compact=True).encode()
    return g.serialize(format=fmt).encode()
