"""What other domains show on the dataset page.

The catalog lies below the lake and the market (``[tool.importlinter]`` layers), yet its
dataset page shows the contents' current version (the lake's) and what the reader may do
about access (the market's). So those domains register a *part* here when their service
module is imported: ``fn(session, actor, dataset) -> dict`` whose keys the page merges into
its context (the lake: ``head``; the market: ``access``, ``has_agreement``,
``stale_offers``; the gate: ``reads_own``). The page never imports them; a missing part
leaves its keys out.

Likewise the lake tells the catalog the published version's Table Schema
(``published_schema_source``), which the Data Package descriptor takes ``primaryKey`` and
``missingValues`` from.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.actor import Actor

DatasetPagePart = Callable[[Session, Actor, Dataset], dict[str, Any]]
_PARTS: dict[str, DatasetPagePart] = {}


def dataset_page_part(name: str, fn: DatasetPagePart) -> None:
    """Add ``fn``'s keys to every dataset page (``name``: the registering domain)."""
    _PARTS[name] = fn


def dataset_page_parts(session: Session, actor: Actor, dataset: Dataset) -> dict[str, Any]:
    """The context every registered part adds to the page of ``dataset``."""
    out: dict[str, Any] = {}
    for fn in _PARTS.values():
        out.update(fn(session, actor, dataset))
    return out


PublishedSchema = Callable[[Session, uuid.UUID], dict[str, Any] | None]
_SCHEMA_SOURCES: list[PublishedSchema] = []


def published_schema_source(fn: PublishedSchema) -> None:
    """Tell the catalog where a dataset's published Table Schema comes from (the lake)."""
    _SCHEMA_SOURCES[:] = [fn]


def published_table_schema(session: Session, dataset_id: uuid.UUID) -> dict[str, Any]:
    """The Table Schema of the dataset's published version; empty before the first upload
    (or while no source is registered)."""
    for fn in _SCHEMA_SOURCES:
        found = fn(session, dataset_id)
        if found is not None:
            return found
    return {}
