"""About forty realistic Halden datasets across the EU themes, owned by the demo bodies.

The datasets are listed in ``catalog_datasets.json``; their columns are those of their
generated contents (``demo/contents``), which ``demo/lake.py`` loads for every one of them.
Loading is deterministic and idempotent: a dataset whose slug exists is left alone.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import service
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.catalog.schemas import DatasetCreate
from datatorg.catalog.vocab import NORWAY_IRI
from datatorg.demo.contents import CONTENTS
from datatorg.identity.models import Organisation
from datatorg.lake.service import ROLE_CATEGORIES
from datatorg.settings import Settings

SOURCE = Path(__file__).with_name("catalog_datasets.json")
EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

# profile → access rights, classification, has personal data, licence
PROFILES: dict[str, tuple[str, str, bool, str]] = {
    "open": ("PUBLIC", "open", False, "NLOD-2.0"),
    "open-cc-by": ("PUBLIC", "open", False, "CC-BY-4.0"),
    "open-cc0": ("PUBLIC", "open", False, "CC0-1.0"),
    "restricted": ("RESTRICTED", "restricted", False, "agreement"),
    "internal": ("RESTRICTED", "internal", False, "agreement"),
    "personal": ("NON_PUBLIC", "personal", True, "agreement"),
    "confidential": ("NON_PUBLIC", "confidential", False, "agreement"),
}
# The gate's download formats; other formats are described by their access URL only.
DOWNLOADS = {"CSV": "csv", "JSON": "json", "PARQUET": "parquet", "XLSX": "xlsx"}


def rows() -> list[dict[str, Any]]:
    """The demo datasets as plain dictionaries."""
    found: list[dict[str, Any]] = json.loads(SOURCE.read_text(encoding="utf-8"))
    return found


def _fields(slug: str) -> list[dict[str, str]]:
    """The catalog's column list: the columns of the dataset's generated contents."""
    return [
        {
            "name": c.name,
            "type": c.type,
            "title": c.title,
            "unit": c.unit,
            "data_category": ROLE_CATEGORIES.get(c.role, "none"),
        }
        for c in CONTENTS[slug].columns
    ]


def _create(session: Session, org: Organisation, row: dict[str, Any], n: int) -> Dataset:
    access, classification, personal, licence = PROFILES[row["profile"]]
    slug = row["slug"]
    data = DatasetCreate.model_validate(
        {
            "slug": slug,
            "title_nb": row["title_nb"],
            "title_en": row["title_en"],
            "description_nb": row["description_nb"],
            "description_en": row["description_en"],
            "access_rights": access,
            "classification": classification,
            "has_personal_data": personal,
            "license": licence,
            "contact_name": org.name,
            "contact_email": f"data@{org.slug}.demo.datatorg.no",
            "themes": row["themes"],
            "keywords_nb": row["keywords_nb"],
            "keywords_en": row["keywords_en"],
            "spatial": NORWAY_IRI,
            "temporal_start": date(row["start"], 1, 1).isoformat(),
            "frequency": row["frequency"],
            "legal_basis": "GDPR art. 6(1)(a) samtykke" if personal else "",
            "retention_period": "P5Y" if personal else "",
            "dpia_reference": f"DPIA-2026-{n:03d}" if personal else "",
            "quality_notes": "Automatisk kvalitetskontroll av avvikende verdier.",
            "distributions": [
                {
                    "title": f"{row['title_nb']} ({fmt})",
                    "format": fmt,
                    # site paths: made absolute with the site's public address where they leave
                    "access_url": f"/datasets/{slug}",
                    "download_url": ""
                    if fmt not in DOWNLOADS
                    else f"/api/v1/datasets/{slug}/download.{DOWNLOADS[fmt]}",
                }
                for fmt in row["formats"]
            ],
            "fields": _fields(slug),
        }
    )
    dataset = service.save_new(session=session, actor=None, publisher=org, data=data)
    when = EPOCH + timedelta(days=n)
    dataset.status = DatasetStatus.published
    dataset.published_at = when
    dataset.created_at = when
    dataset.updated_at = when
    return dataset


def load(*, session: Session, settings: Settings) -> int:
    """Create the demo datasets that are missing; returns how many were created."""
    orgs = {o.slug: o for o in session.scalars(select(Organisation))}
    existing = set(session.scalars(select(Dataset.slug)))
    created = 0
    for n, row in enumerate(rows(), start=1):
        if row["slug"] in existing or row["org"] not in orgs:
            continue
        _create(session, orgs[row["org"]], row, n)
        created += 1
    session.flush()
    return created
