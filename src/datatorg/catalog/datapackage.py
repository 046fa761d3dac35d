"""Frictionless Data Package descriptors (``datapackage.json``) for datasets."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.catalog.pageparts import published_table_schema
from datatorg.catalog.vocab import LICENCES
from datatorg.identity.models import Organisation
from datatorg.web.urls import absolute

PROFILE = "tabular-data-package"


def _name(slug: str) -> str:
    return slug.lower()


def descriptor(session: Session, dataset: Dataset, base_url: str) -> dict[str, Any]:
    """The Data Package for ``dataset``: metadata, licence, one resource per distribution.

    Each resource carries the dataset's Table Schema: the catalog's columns, with the current
    version's ``primaryKey`` and ``missingValues`` (statistical markers stored as nulls).
    Contents never travel here — paths are the distributions' URLs, read through the gate.
    """
    base = base_url.rstrip("/")
    org = session.get(Organisation, dataset.publisher_id)
    schema = {
        "fields": [
            {
                k: v
                for k, v in {
                    "name": f.name,
                    "type": f.type,
                    "title": f.title,
                    "description": f.description,
                    "unit": f.unit,
                    "dataCategory": f.data_category,
                }.items()
                if v
            }
            for f in dataset.fields
        ]
    }
    table = published_table_schema(session, dataset.id)
    for key in ("primaryKey", "missingValues"):  # the published version's, as it stores them
        if table.get(key):
            schema[key] = table[key]
    resources = []
    for i, dist in enumerate(dataset.distributions):
        resource: dict[str, Any] = {
            "name": f"{_name(dataset.slug)}-{i + 1}",
            "path": absolute(dist.download_url or dist.access_url, base),
            "format": dist.format.lower(),
            "mediatype": dist.media_type,
        }
        if dist.title:
            resource["title"] = dist.title
        if dist.byte_size is not None:
            resource["bytes"] = dist.byte_size
        if dataset.fields:
            resource["profile"] = "tabular-data-resource"
            resource["schema"] = schema
        resources.append(resource)
    package: dict[str, Any] = {
        "profile": PROFILE if dataset.fields and resources else "data-package",
        "name": _name(dataset.slug),
        "id": f"{base}/dataset/{dataset.slug}",
        "title": dataset.title_en or dataset.title_nb,
        "description": dataset.description_en or dataset.description_nb,
        "homepage": f"{base}/datasets/{dataset.slug}",
        "keywords": [k.value for k in dataset.keywords],
        "created": dataset.created_at.isoformat(),
        "version": dataset.updated_at.strftime("%Y%m%d%H%M%S"),
        "resources": resources,
        "x-datatorg": {
            "title_nb": dataset.title_nb,
            "access_rights": dataset.access_rights.value,
            "classification": dataset.classification.value,
            "has_personal_data": dataset.has_personal_data,
            "status": dataset.status.value,
        },
    }
    if org is not None:
        package["contributors"] = [
            {"title": org.name, "role": "publisher", "path": org.homepage or ""}
        ]
    lic = LICENCES.get(dataset.license)
    if lic is not None:
        package["licenses"] = [{"name": lic.id, "path": lic.url, "title": lic.title_en}]
    return package
