"""Short names in addresses, made from titles: "Smartmålere i husholdninger" →
``smartmalere-i-husholdninger`` (æ→ae, ø→o, å→a, other accents dropped), unique."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset

MAX_LENGTH = 100


def slugify(text: str) -> str:
    """Lower-case a–z, digits and hyphens from ``text``; "dataset" when nothing is left."""
    folded = text.casefold().translate({0xE6: "ae", 0xF8: "o", 0xE5: "a"})
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:MAX_LENGTH].strip("-")
    return slug or "dataset"


def unique_slug(session: Session, base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` … — the first no dataset has."""
    taken = set(
        session.scalars(
            select(Dataset.slug).where(
                (Dataset.slug == base) | Dataset.slug.like(f"{base}-%", escape="\\")
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
