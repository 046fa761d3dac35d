"""Datasets, organisations, themes and licences as CKAN dictionaries (package, group, …)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from datatorg.catalog.models import Dataset, Distribution
from datatorg.catalog.vocab import LICENCES, THEMES
from datatorg.identity.models import Organisation
from datatorg.web.urls import absolute

TAG_NS = uuid.UUID("6f1c2f44-3a1e-4b8e-9f0e-7f0d8c6c2b11")


def ckan_time(value: datetime | None) -> str | None:
    """CKAN's timestamp format: naive UTC with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def organization(org: Organisation, *, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(org.id),
        "name": org.slug,
        "title": org.name,
        "display_name": org.name,
        "description": org.description or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(org.created_at),
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group(code: str, *, package_count: int | None = None, locale: str = "nb") -> dict[str, Any]:
    """An EU data theme as a CKAN group (name: the code in lower case)."""
    term = THEMES[code]
    out: dict[str, Any] = {
        "id": code.lower(),
        "name": code.lower(),
        "title": term.label(locale),
        "display_name": term.label(locale),
        "description": f"{term.nb} / {term.en}",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def licence(code: str) -> dict[str, Any]:
    lic = LICENCES[code]
    return {
        "id": lic.id,
        "title": lic.title_en,
        "url": lic.url,
        "status": "active",
        "maintainer": "",
        "family": "",
        "domain_content": False,
        "domain_data": True,
        "domain_software": False,
        "od_conformance": "approved" if lic.is_open else "not reviewed",
        "osd_conformance": "not reviewed",
    }


def resource(dataset: Dataset, dist: Distribution) -> dict[str, Any]:
    return {
        "id": str(dist.id),
        "package_id": str(dataset.id),
        "name": dist.title or dataset.title_nb,
        "description": dist.description,
        "format": dist.format,
        "mimetype": dist.media_type or None,
        "size": dist.byte_size,
        "url": absolute(dist.download_url or dist.access_url),
        "url_type": None,
        "position": dist.position,
        "state": "active",
        "created": ckan_time(dist.created_at),
        "last_modified": ckan_time(dist.updated_at),
    }


def package(dataset: Dataset, org: Organisation, *, locale: str = "nb") -> dict[str, Any]:
    """The CKAN package dictionary of ``dataset`` (public metadata only)."""
    lic = LICENCES.get(dataset.license)
    tags = [
        {
            "id": str(uuid.uuid5(TAG_NS, k.value)),
            "name": k.value,
            "display_name": k.value,
            "state": "active",
            "vocabulary_id": None,
        }
        for k in dataset.keywords
    ]
    extras = {
        "access_rights": dataset.access_rights.value,
        "classification": dataset.classification.value,
        "has_personal_data": str(dataset.has_personal_data).lower(),
        "title_en": dataset.title_en,
        "notes_en": dataset.description_en,
        "frequency": dataset.frequency,
        "spatial_uri": dataset.spatial,
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else "",
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else "",
    }
    return {
        "id": str(dataset.id),
        "name": dataset.slug,
        "title": dataset.title_nb,
        "notes": dataset.description_nb,
        "url": dataset.landing_page,
        "type": "dataset",
        "state": "active" if dataset.status.value != "retired" else "deleted",
        "private": False,
        "version": None,
        "author": None,
        "author_email": None,
        "maintainer": dataset.contact_name or None,
        "maintainer_email": dataset.contact_email or None,
        "license_id": dataset.license or None,
        "license_title": lic.title_en if lic else None,
        "license_url": lic.url if lic else None,
        "isopen": bool(lic and lic.is_open and dataset.is_open),
        "metadata_created": ckan_time(dataset.created_at),
        "metadata_modified": ckan_time(dataset.updated_at),
        "owner_org": str(org.id),
        "organization": organization(org),
        "groups": [group(t.theme, locale=locale) for t in dataset.themes],
        "tags": tags,
        "num_tags": len(tags),
        "resources": [resource(dataset, d) for d in dataset.distributions],
        "num_resources": len(dataset.distributions),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }
