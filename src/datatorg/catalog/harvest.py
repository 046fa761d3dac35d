"""Harvest datasets from other catalogs: a CKAN portal (Action API) or a DCAT-AP catalog
(Turtle, RDF/XML or JSON-LD, by URL or file).

Idempotent: each harvested dataset remembers its source and remote identifier; running the
harvest again updates what changed and leaves the rest. Records that do not validate are
skipped whole and counted, never half-stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import service
from datatorg.catalog.models import Dataset, DatasetStatus, HarvestSource
from datatorg.catalog.schemas import SLUG_RE, DatasetCreate
from datatorg.catalog.vocab import FORMATS, LICENCES, THEMES
from datatorg.db.base import utcnow
from datatorg.errors import BadRequest
from datatorg.identity import service as identity
from datatorg.identity.models import Organisation, OrgKind

MAX_BYTES = 50 * 1024 * 1024
MAX_DATASETS = 100_000
PAGE = 1000
CKAN_LICENCES = {
    "cc-by": "CC-BY-4.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-zero": "CC0-1.0",
    "cc0": "CC0-1.0",
    "cc-by-sa": "CC-BY-SA-4.0",
    "odc-odbl": "ODbL-1.0",
    "nlod": "NLOD-2.0",
}


@dataclass
class HarvestReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped"
        )


@dataclass
class Record:
    """One remote dataset, already mapped to our input shape."""

    identifier: str
    values: dict[str, Any]
    publisher_name: str = ""
    publisher_slug: str = ""
    publisher_orgnr: str = ""
    published: bool = True


def slugify(text: str) -> str:
    ascii_text = text.casefold().translate({0xE6: "ae", 0xF8: "o", 0xE5: "a"})
    ascii_text = unicodedata.normalize("NFKD", ascii_text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:100].strip("-")
    return slug or "dataset"


def fetch(url: str, *, accept: str = "*/*", params: dict[str, Any] | None = None) -> httpx.Response:
    """GET ``url`` with a timeout and a size cap."""
    if not url.startswith(("http://", "https://")):
        raise BadRequest("Harvest sources must be http(s) URLs or files")
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        response = client.get(url, params=params, headers={"Accept": accept})
    if len(response.content) > MAX_BYTES:
        raise BadRequest("The harvest source sent more than 50 MiB")
    response.raise_for_status()
    return response


def _source(session: Session, kind: str, url: str, owner: Organisation) -> HarvestSource:
    found = session.scalar(select(HarvestSource).where(HarvestSource.url == url))
    if found is None:
        found = HarvestSource(kind=kind, url=url, publisher_id=owner.id, last_count=0)
        session.add(found)
        session.flush()
    return found


def _publisher(session: Session, record: Record, fallback: Organisation) -> Organisation:
    if record.publisher_orgnr:
        by_nr = session.scalar(
            select(Organisation).where(Organisation.orgnr == record.publisher_orgnr)
        )
        if by_nr is not None:
            return by_nr
    slug = record.publisher_slug or (
        slugify(record.publisher_name) if record.publisher_name else ""
    )
    if not slug:
        return fallback
    found = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if found is not None:
        return found
    return identity.create_organisation(
        session=session, slug=slug, name=record.publisher_name or slug, kind=OrgKind.business
    )


def _free_slug(session: Session, wanted: str, source_url: str) -> str:
    slug = slugify(wanted) if not SLUG_RE.match(wanted) else wanted
    if session.scalar(select(Dataset.id).where(Dataset.slug == slug)) is None:
        return slug
    suffix = hashlib.sha256(source_url.encode()).hexdigest()[:6]
    return f"{slug[:110]}-{suffix}"


def store(
    session: Session, kind: str, url: str, owner: Organisation, records: list[Record]
) -> HarvestReport:
    """Create or update the datasets in ``records`` from source ``url``."""
    source = _source(session, kind, url, owner)
    report = HarvestReport(source=url)
    for record in records:
        existing = session.scalar(
            select(Dataset).where(
                Dataset.harvest_source_id == source.id,
                Dataset.harvest_identifier == record.identifier,
            )
        )
        try:
            with session.begin_nested():
                if existing is None:
                    _create(session, source, owner, record)
                    report.created += 1
                elif _update(session, existing, record):
                    report.updated += 1
                else:
                    report.unchanged += 1
        except (ValidationError, ValueError) as exc:
            report.skipped.append(f"{record.identifier[:200]}: {str(exc).splitlines()[0][:200]}")
    source.last_run_at = utcnow()
    source.last_count = report.created + report.updated + report.unchanged
    session.flush()
    return report


def _create(session: Session, source: HarvestSource, owner: Organisation, record: Record) -> None:
    publisher = _publisher(session, record, owner)
    slug = _free_slug(session, record.values.get("slug", ""), source.url)
    data = DatasetCreate.model_validate(record.values | {"slug": slug})
    dataset = service.save_new(
        session=session,
        actor=None,
        publisher=publisher,
        data=data,
        action="harvest",
        harvest_source_id=source.id,
        harvest_identifier=record.identifier,
    )
    if record.published:
        dataset.status = DatasetStatus.published
        dataset.published_at = utcnow()


def _update(session: Session, dataset: Dataset, record: Record) -> bool:
    values = record.values | {"slug": dataset.slug}
    data = DatasetCreate.model_validate(values).model_dump(exclude={"slug", "publisher"})
    before = dataset.updated_at
    service.change(session=session, actor=None, dataset=dataset, values=data, action="harvest")
    return dataset.updated_at != before


def ckan_licence(license_id: str | None) -> str:
    if not license_id:
        return ""
    if license_id in LICENCES:
        return license_id
    return CKAN_LICENCES.get(license_id.casefold(), "")


def clean_keyword(value: str) -> str | None:
    value = value.strip()[:100]
    return value if value and not value.startswith(("=", "+", "-", "@")) else None


def clean_url(value: Any) -> str:
    text = str(value or "").strip()
    return text if re.match(r"^https?://[^\s<>\"]+$", text) and len(text) <= 1000 else ""


def ckan_record(pkg: dict[str, Any]) -> Record:
    """A CKAN package dict as a harvest record."""
    extras = {e.get("key"): e.get("value") for e in pkg.get("extras") or [] if isinstance(e, dict)}
    org = pkg.get("organization") or {}
    resources = []
    for res in pkg.get("resources") or []:
        url = clean_url(res.get("url"))
        if not url:
            continue
        fmt = str(res.get("format") or "").strip().upper()
        resources.append(
            {
                "title": str(res.get("name") or "")[:300],
                "format": fmt if fmt in FORMATS else "",
                "media_type": str(res.get("mimetype") or "")[:100],
                "byte_size": res.get("size") if isinstance(res.get("size"), int) else None,
                "access_url": url,
                "download_url": url,
            }
        )
    themes = [str(g.get("name", "")).upper() for g in pkg.get("groups") or []]
    keywords = [clean_keyword(str(t.get("name", ""))) for t in pkg.get("tags") or []]
    values: dict[str, Any] = {
        "slug": str(pkg.get("name") or ""),
        "title_nb": str(pkg.get("title") or pkg.get("name") or "")[:300],
        "title_en": str(extras.get("title_en") or "")[:300],
        "description_nb": str(pkg.get("notes") or "")[:20_000],
        "description_en": str(extras.get("notes_en") or "")[:20_000],
        "license": ckan_licence(pkg.get("license_id")),
        "contact_name": str(pkg.get("maintainer") or "")[:300],
        "contact_email": str(pkg.get("maintainer_email") or "")[:320],
        "landing_page": clean_url(pkg.get("url")),
        "themes": [t for t in dict.fromkeys(themes) if t in THEMES],
        "keywords_nb": [k for k in dict.fromkeys(keywords) if k][:30],
        "distributions": resources[:50],
    }
    for key in ("access_rights", "classification", "frequency", "temporal_start", "temporal_end"):
        if extras.get(key):
            values[key] = extras[key]
    if extras.get("has_personal_data"):
        values["has_personal_data"] = extras["has_personal_data"] == "true"
    return Record(
        identifier=str(pkg.get("id") or pkg.get("name")),
        values=values,
        publisher_name=str(org.get("title") or ""),
        publisher_slug=str(org.get("name") or ""),
        published=pkg.get("state", "active") == "active",
    )


def ckan_packages(url: str) -> list[dict[str, Any]]:
    """Every public package of the CKAN portal at ``url``, page by page."""
    base = url.rstrip("/") + "/api/3/action/package_search"
    out: list[dict[str, Any]] = []
    while len(out) < MAX_DATASETS:
        body = fetch(base, accept="application/json", params={"rows": PAGE, "start": len(out)})
        payload = body.json()
        if not isinstance(payload, dict) or not payload.get("success"):
            raise BadRequest("The source did not answer like a CKAN Action API")
        results = payload["result"].get("results") or []
        out.extend(r for r in results if isinstance(r, dict))
        if not results or len(out) >= int(payload["result"].get("count", 0)):
            break
    return out


def ckan_records(url: str) -> tuple[str, list[Record]]:
    """The source key and the records of every public dataset of the CKAN portal at ``url``
    (network only: call it with no transaction open)."""
    return url.rstrip("/"), [ckan_record(p) for p in ckan_packages(url)]


def harvest_ckan(*, session: Session, url: str, owner: Organisation) -> HarvestReport:
    """Harvest every public dataset of the CKAN portal at ``url``."""
    key, records = ckan_records(url)
    return store(session, "ckan", key, owner, records)
