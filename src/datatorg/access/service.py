"""The gate's public service: how any domain reads dataset contents.

Every read goes through the one pipeline (``access/pipeline.py``): the caller and the
dataset are resolved, the read is decided (open data, the owner's duty roles, or an
agreement), a row policy says what it may see (visible columns, transforms, row predicate
with consent and restriction), the quota is reserved, an engine runs it, and it is audited
and billed before the answer.

Other domains (pilot KPIs, the NGSI-LD face, exports) call ``read_dataset`` on behalf of
the person they act for: the ``Actor`` of that person (or of their agreement-scoped token),
never a stronger one. The answer is a ``Page``: ``columns``, ``rows`` (JSON-able values),
``truncated``, ``next`` (cursor), ``count`` (with ``_count=1``), ``version``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from datatorg.access import decision, export, pipeline, policy, query
from datatorg.access.engines import FAST_BUDGET_MS, Page
from datatorg.access.pipeline import NoContents, Read
from datatorg.catalog.models import Dataset, DatasetFacts, DatasetRef
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.settings import Settings

__all__ = [
    "FAST_BUDGET_MS",
    "NoContents",  # a read decided and allowed of a dataset with no contents yet (a NotFound)
    "Page",
    "Read",
    "abandon_read",
    "check_query",
    "close_read",
    "dataset_for_read",
    "export_subject_rows",
    "get_dataset",
    "open_read",
    "read",
    "read_dataset",
    "read_subject_rows",
]


def read(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    items: Sequence[tuple[str, str]],
    channel: str = "api",
    purpose: str | None = None,
    head_version: uuid.UUID | None = None,
) -> Page:
    """One page of rows (or of aggregate groups) of ``dataset`` for ``actor``, through the
    whole pipeline. ``items`` are query parameters in the URL language (docs/data.md):
    filters ``column__op=value``, ``_col``, ``_sort``, ``_size``, ``_next``, ``_count``,
    ``_group_by`` + ``_agg``, ``_bucket``, ``_bbox``. ``channel`` names the face in the audit
    log (``api``, ``kpi``, ``ngsi-ld``, ...); ``purpose`` is the purpose stated for the read
    (a DPV term; under an agreement it must be the agreement's).

    Raises ``NotFound`` (404), ``Unauthenticated`` (401), ``Forbidden`` (403, with
    ``failed_term``), ``TooManyRequests`` (429, with ``retry_after``) or ``Invalid`` (422,
    naming the parameter). Refusals are audited too."""
    return pipeline.read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=channel,
        purpose=purpose,
        head_version=head_version,
    )


def read_dataset(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    ref: str,
    items: Sequence[tuple[str, str]],
    channel: str,
    purpose: str | None = None,
) -> Page:
    """``read`` by the dataset's slug or id: a read through the gate on behalf of ``actor``
    (for KPIs, NGSI-LD queries and other domains' pages)."""
    dataset, version = dataset_for_read(session=session, ref=ref)
    return read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=channel,
        purpose=purpose,
        head_version=version,
    )


def read_subject_rows(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_keys: frozenset[str],
    items: Sequence[tuple[str, str]] = (),
    channel: str = "subject",
) -> Page:
    """A data subject's own rows of ``dataset`` ("My data", the right of access): exactly
    the rows whose subject key is in ``subject_keys``, every column but direct identifiers,
    through the one pipeline (audited with basis ``subject``; no agreement, no quota).
    The caller (privacy) establishes that the keys are ``actor``'s."""
    return pipeline.read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=channel,
        subject_keys=subject_keys,
    )


def export_subject_rows(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    subject_keys: frozenset[str],
    fmt: str,
    target: Path,
    items: Sequence[tuple[str, str]] = (),
    channel: str = "subject",
) -> int:
    """``read_subject_rows`` as a file (``csv``, ``json``, ``ndjson``, ``parquet``, ``xlsx``)
    written to ``target`` (the access and portability export); the rows written."""
    return export.export(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=list(items),
        fmt=fmt,
        target=target,
        subject_keys=subject_keys,
        channel=channel,
    )


def open_read(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    channel: str,
    columns: Sequence[str],
    aggregate: bool = False,
    rows: int = 0,
    purpose: str | None = None,
) -> Read:
    """For a face with an engine of its own (the NGSI-LD entity store): decide a read of
    ``columns`` of ``dataset`` for ``actor``, hold it to the agreement's terms and reserve
    one call and up to ``rows`` rows of its quotas. Refusals are audited and raised as by
    ``read``.

    The face must then apply ``read.policy`` exactly — return only ``read.policy.columns``,
    no row ``read.policy.filters_rows`` would drop and no column ``read.policy.transforms``
    changes — or answer through ``read`` instead; then ``close_read`` with what it returned
    (with the rows' subject keys when ``read.policy.ledger``), or ``abandon_read`` when it
    failed."""
    r = pipeline.begin(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel,
        purpose=purpose,
    )
    known = set(r.policy.columns) | r.policy.withheld
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise query.bad("columns", f"no column named {unknown[0][:60]!r}")
    decision.check_terms(
        session=session,
        actor=actor,
        dataset=dataset,
        decision=r.decision,
        channel=channel,
        columns=frozenset(columns),
        aggregate=aggregate,
    )
    pipeline.reserve(session, r, None, rows=rows)
    return r


def close_read(
    *,
    session: Session,
    read: Read,
    rows: int,
    nbytes: int = 0,
    subject_keys: frozenset[str] | None = None,
) -> None:
    """Record a read opened with ``open_read`` that returned ``rows`` rows (audited, billed,
    unused quota given back), committed before this returns. Under a ledger policy
    (``read.policy.ledger``) ``subject_keys`` are the subject keys of the rows returned, for
    the disclosure ledger."""
    pipeline.record(session, read, rows, nbytes, aggregate=False, subject_keys=subject_keys)


def abandon_read(*, session: Session, read: Read) -> None:
    """A read opened with ``open_read`` failed: give back its quota."""
    pipeline.release(session, read)


def check_query(
    *,
    session: Session,
    settings: Settings,
    dataset: DatasetRef,
    items: Sequence[tuple[str, str]],
) -> None:
    """Whether ``items`` fit the dataset's current version as its public schema shows it (no
    direct identifiers or subject keys), deciding and reading nothing: for a face that keeps
    a query to run later (a pilot's KPI) and refuses a wrong one at once. Raises ``Invalid``
    or ``BadRequest`` naming the parameter; nothing when there is no version yet."""
    head = lake.head_files(session=session, settings=settings, dataset_id=dataset.id)
    if head is None:
        return
    public = policy.build(schema=head.schema, identifiers=False, allowed_columns=None)
    items, _stated = pipeline.split_stated(items)

    def no_cursor(raw: str) -> list[object]:
        raise query.bad("_next", "a stored query has no cursor")

    query.parse(
        list(items),
        {"fields": list(public.fields), "primaryKey": head.schema.get("primaryKey")},
        visible=public.columns,
        max_size=settings.query_row_cap,
        decode_cursor=no_cursor,
    )


def dataset_for_read(*, session: Session, ref: str) -> tuple[DatasetFacts, uuid.UUID | None]:
    """The dataset's gate facts and its current version id, in one statement."""
    return lake.dataset_for_read(session=session, ref=ref)


def get_dataset(*, session: Session, ref: str) -> Dataset:
    """The dataset, without eagerly loading its catalog relations (themes, keywords,
    distributions, fields): the gate needs none of them, and they load on access if a
    page does."""
    return lake.get_dataset(session=session, ref=ref, related=False)
