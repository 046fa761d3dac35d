"""A data subject's own rows, for privacy's "My data" and the access export, read through
the gate's one pipeline (``access/pipeline.py``) with a row policy whose subject filter keeps
exactly the subject's keys; audited like any other read (``data.read``, channel
``subject``, basis ``subject``, the row count, never a key). Privacy decides whose keys
they are; this module reads what it is told and nothing else.

These show every column except the identifying ones (direct identifiers and subject keys);
``service.read_subject_rows`` / ``export_subject_rows`` show the subject key too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import export, pipeline
from datatorg.access.policies import IDENTIFYING_ROLES
from datatorg.catalog.models import DatasetRef
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.settings import Settings


@dataclass
class OwnRows:
    """A subject's rows of one dataset: how many, and the first ``limit`` of them."""

    version: int
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    count: int


def _columns(
    session: Session, settings: Settings, dataset: DatasetRef, subject_column: str
) -> list[str] | None:
    """The columns the subject is shown, or None (no version yet, or no such column)."""
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset.id)
    if head is None:
        return None
    fields = head.schema.get("fields", [])
    if subject_column not in {f["name"] for f in fields}:
        return None
    return [f["name"] for f in fields if f.get("role") not in IDENTIFYING_ROLES]


def own_rows(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_column: str,
    subject_keys: frozenset[str],
    limit: int = 5,
) -> OwnRows | None:
    """The subject's row count and first ``limit`` rows (None: no version or no column)."""
    columns = _columns(session, settings, dataset, subject_column) if subject_keys else None
    if not columns:
        return None
    page = pipeline.read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=[("_col", ",".join(columns)), ("_size", str(limit)), ("_count", "1")],
        channel="subject",
        subject_keys=subject_keys,
    )
    return OwnRows(page.version or 0, page.columns, page.types, page.rows, page.count or 0)


def own_rows_file(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_column: str,
    subject_keys: frozenset[str],
    fmt: str,
    target: Path,
) -> int:
    """Write all the subject's rows to ``target`` (``csv`` or ``json``); rows written.

    CSV text cells pass through the formula rule (``export.neutralise``)."""
    columns = _columns(session, settings, dataset, subject_column) if subject_keys else None
    if not columns:
        return 0
    return export.export(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=[("_col", ",".join(columns))],
        fmt=fmt,
        target=target,
        subject_keys=subject_keys,
        channel="subject",
    )
