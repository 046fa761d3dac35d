"""Read a DCAT-AP(-NO) catalog graph into harvest records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF
from rdflib.term import Node
from sqlalchemy.orm import Session

from datatorg.catalog.dcat import VCARD
from datatorg.catalog.harvest import (
    MAX_BYTES,
    HarvestReport,
    Record,
    clean_keyword,
    clean_url,
    fetch,
    slugify,
    store,
)
from datatorg.catalog.schemas import SLUG_RE
from datatorg.catalog.vocab import (
    ACCESS_RIGHT_BASE,
    FILE_TYPE_BASE,
    FORMATS,
    FREQUENCY_BASE,
    LICENCE_BASE,
    LICENCES,
    THEME_BASE,
    THEMES,
)
from datatorg.errors import BadRequest
from datatorg.identity.models import Organisation

BRREG_PREFIXES = (
    "https://data.brreg.no/enhetsregisteret/api/enheter/",
    "https://data.brreg.no/enhetsregisteret/enhet/",
)
RDF_FORMATS = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".nt": "nt",
}
CONTENT_TYPES = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/n-triples": "nt",
}
EU_LICENCES = {lic.eu: lic.id for lic in LICENCES.values() if lic.eu}
EU_FILE_TYPES = {file_type: fmt for fmt, (_media, file_type) in reversed(FORMATS.items())}


def load_graph(source: str) -> Graph:
    """The graph at URL or file path ``source`` (format from the extension or content type)."""
    g = Graph()
    suffix = Path(source.split("?")[0]).suffix.lower()
    try:
        if source.startswith(("http://", "https://")):
            response = fetch(source, accept=", ".join(CONTENT_TYPES))
            ctype = response.headers.get("content-type", "").split(";")[0].strip()
            fmt = CONTENT_TYPES.get(ctype) or RDF_FORMATS.get(suffix, "turtle")
            g.parse(data=response.content, format=fmt)
        else:
            path = Path(source)
            if not path.is_file():
                raise BadRequest("No such file")
            if path.stat().st_size > MAX_BYTES:
                raise BadRequest("The catalog file is larger than 50 MiB")
            g.parse(data=path.read_bytes(), format=RDF_FORMATS.get(suffix, "turtle"))
    except BadRequest:
        raise
    except Exception as exc:  # rdflib raises many kinds of parse errors
        raise BadRequest(f"Could not read the catalog: {str(exc)[:200]}") from None
    return g


def _texts(g: Graph, s: Node, p: URIRef) -> dict[str, str]:
    out: dict[str, str] = {}
    for o in g.objects(s, p):
        if isinstance(o, Literal):
            lang = (o.language or "").lower()
            key = "en" if lang.startswith("en") else "nb"
            out.setdefault(key, str(o))
    return out


def _iri(g: Graph, s: Node, p: URIRef) -> str:
    value = g.value(s, p)
    return str(value) if isinstance(value, URIRef) else ""


def _suffix(iri: str, base: str) -> str:
    return iri[len(base) :] if iri.startswith(base) else ""


def _distribution(g: Graph, d: Node) -> tuple[dict[str, Any], str]:
    licence = EU_LICENCES.get(_suffix(_iri(g, d, DCTERMS.license), LICENCE_BASE), "")
    fmt = EU_FILE_TYPES.get(_suffix(_iri(g, d, DCTERMS["format"]), FILE_TYPE_BASE), "")
    media = _iri(g, d, DCAT.mediaType).rsplit("/media-types/", 1)[-1] if fmt else ""
    size = g.value(d, DCAT.byteSize)
    byte_size = int(size) if isinstance(size, Literal) and str(size).isdigit() else None
    access = clean_url(_iri(g, d, DCAT.accessURL))
    download = clean_url(_iri(g, d, DCAT.downloadURL))
    return (
        {
            "title": _texts(g, d, DCTERMS.title).get("nb", "")[:300],
            "format": fmt,
            "media_type": media[:100] if "/" in media else "",
            "byte_size": byte_size,
            "access_url": access or download,
            "download_url": download,
        },
        licence,
    )


def dcat_record(g: Graph, ds: URIRef) -> Record:
    """One ``dcat:Dataset`` as a harvest record."""
    titles = _texts(g, ds, DCTERMS.title)
    descriptions = _texts(g, ds, DCTERMS.description)
    landing = clean_url(_iri(g, ds, DCAT.landingPage))
    slug = landing.rstrip("/").rsplit("/", 1)[-1] if landing else ""
    if not SLUG_RE.match(slug):
        slug = slugify(titles.get("nb") or titles.get("en") or str(ds))
    dists, licences = [], []
    for d in g.objects(ds, DCAT.distribution):
        dist, licence = _distribution(g, d)
        if dist["access_url"]:
            dists.append(dist)
        if licence:
            licences.append(licence)
    keywords: dict[str, list[str]] = {"nb": [], "en": []}
    for kw in g.objects(ds, DCAT.keyword):
        if isinstance(kw, Literal) and (clean := clean_keyword(str(kw))):
            keywords["en" if (kw.language or "").startswith("en") else "nb"].append(clean)
    themes = [_suffix(str(t), THEME_BASE) for t in g.objects(ds, DCAT.theme)]
    values: dict[str, Any] = {
        "slug": slug,
        "title_nb": (titles.get("nb") or titles.get("en") or "")[:300],
        "title_en": titles.get("en", "")[:300],
        "description_nb": descriptions.get("nb", "")[:20_000],
        "description_en": descriptions.get("en", "")[:20_000],
        "themes": sorted({t for t in themes if t in THEMES}),
        "keywords_nb": list(dict.fromkeys(keywords["nb"]))[:30],
        "keywords_en": list(dict.fromkeys(keywords["en"]))[:30],
        "license": licences[0] if licences else "",
        "landing_page": landing,
        "distributions": dists[:50],
    }
    access = _suffix(_iri(g, ds, DCTERMS.accessRights), ACCESS_RIGHT_BASE)
    if access in ("PUBLIC", "RESTRICTED", "NON_PUBLIC"):
        values["access_rights"] = access
        if access != "PUBLIC":
            values["classification"] = "restricted"
    freq = _suffix(_iri(g, ds, DCTERMS.accrualPeriodicity), FREQUENCY_BASE)
    if freq:
        values["frequency"] = freq
    contact = g.value(ds, DCAT.contactPoint)
    if contact is not None:
        values["contact_name"] = str(g.value(contact, VCARD.fn) or "")[:300]
        email = _iri(g, contact, VCARD.hasEmail)
        values["contact_email"] = email.removeprefix("mailto:")[:320]
    period = g.value(ds, DCTERMS.temporal)
    if period is not None:
        for key, prop in (("temporal_start", DCAT.startDate), ("temporal_end", DCAT.endDate)):
            if (value := g.value(period, prop)) is not None:
                values[key] = str(value)[:10]
    publisher = g.value(ds, DCTERMS.publisher)
    orgnr = ""
    if isinstance(publisher, URIRef):
        for prefix in BRREG_PREFIXES:
            orgnr = _suffix(str(publisher), prefix).strip("/") or orgnr
    name = str(g.value(publisher, FOAF.name) or "") if publisher is not None else ""
    return Record(identifier=str(ds), values=values, publisher_name=name, publisher_orgnr=orgnr)


def dcat_records(source: str) -> tuple[str, list[Record]]:
    """The source key and a record of every ``dcat:Dataset`` (with an IRI) of the catalog at
    ``source`` (network and parsing only: call it with no transaction open)."""
    g = load_graph(source)
    key = source if source.startswith(("http://", "https://")) else Path(source).resolve().as_uri()
    datasets = sorted({s for s in g.subjects(RDF.type, DCAT.Dataset) if isinstance(s, URIRef)})
    return key, [dcat_record(g, ds) for ds in datasets]


def harvest_dcat(*, session: Session, source: str, owner: Organisation) -> HarvestReport:
    """Harvest every ``dcat:Dataset`` (with an IRI) of the catalog at ``source``."""
    key, records = dcat_records(source)
    return store(session, "dcat", key, owner, records)
