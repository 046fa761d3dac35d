"""The one dataset lookup: what a dataset reference (a slug or a UUID) names, with the same
rules for hostile input on every route and both databases. Re-exported by
``datatorg.catalog.service``; the gate's driver path (``lake.heads``) uses ``dataset_key``.

A reference is matched exactly, never normalised: a look-alike (Cyrillic letters, full-width
digits, another case) names nothing and answers 404. A UUID counts only in its canonical
36-character form of ASCII hex digits (``uuid.UUID`` would also take braces, ``urn:uuid:``,
32 digits without hyphens, and full-width digits), so a dataset has one id spelling.
References no dataset can have are refused without asking the database: empty, longer than a
slug can be, or holding a control character (NUL included: PostgreSQL refuses it in text),
a lone surrogate (not encodable as UTF-8), the replacement character (what an undecodable
``%FF`` escape becomes), a slash or a backslash.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from datatorg.catalog.models import Dataset
from datatorg.errors import NotFound

__all__ = ["SLUG_MAX", "dataset_key", "find_dataset", "get_dataset"]

SLUG_MAX: int = getattr(Dataset.__table__.c.slug.type, "length", None) or 120
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII
)
_NEVER_IN_A_SLUG = ("\ufffd", "/", "\\")


def dataset_key(ref: str) -> uuid.UUID | str:
    """The id or slug ``ref`` names; ``NotFound`` for a reference no dataset can have."""
    if _UUID.fullmatch(ref):
        return uuid.UUID(ref)
    if (
        not ref
        or len(ref) > SLUG_MAX
        or not ref.isprintable()  # control characters, NUL, lone surrogates
        or any(c in ref for c in _NEVER_IN_A_SLUG)
    ):
        raise NotFound("No such dataset")
    return ref


_BY_ID = select(Dataset).where(Dataset.id == bindparam("key"))
_BY_SLUG = select(Dataset).where(Dataset.slug == bindparam("key"))
_BY_ID_LAZY = _BY_ID.options(lazyload("*"))
_BY_SLUG_LAZY = _BY_SLUG.options(lazyload("*"))


def get_dataset(*, session: Session, ref: str, related: bool = True) -> Dataset | None:
    """The dataset ``ref`` names, whatever its status; None when there is none.

    ``related=False`` leaves the catalog relations (themes, keywords, …) to load lazily on
    first access instead of eagerly (fewer queries for callers that never touch them).
    """
    try:
        key = dataset_key(ref)
    except NotFound:
        return None
    if isinstance(key, uuid.UUID):
        stmt = _BY_ID if related else _BY_ID_LAZY
    else:
        stmt = _BY_SLUG if related else _BY_SLUG_LAZY
    found: Dataset | None = session.scalar(stmt, {"key": key})
    return found


def find_dataset(*, session: Session, ref: str, related: bool = True) -> Dataset:
    """The dataset ``ref`` names, whatever its status; ``NotFound`` when there is none."""
    found = get_dataset(session=session, ref=ref, related=related)
    if found is None:
        raise NotFound("No such dataset")
    return found
