"""The gate's one read pipeline: every read of dataset contents takes this path.

```
resolve caller and dataset ─▶ decide (open / owner duty / agreement) ─▶ row policy
  ─▶ parse the read's parameters (only now: a refused caller never learns what they mean)
  ─▶ hold them to the agreement's terms ─▶ reserve the quota (one conditional UPDATE)
  ─▶ engine (row index when it applies the policy exactly, else DuckDB)
  ─▶ record (audit event, usage billed, unused quota given back; committed before the answer)
```

``begin`` decides and makes the ``Read`` (decision, policy, version); ``Read.parse`` turns
URL-language parameters into a query held to the terms; ``reserve`` takes the quota;
``engines.fetch`` runs a query (``fast=True``: only from the row index within
``engines.FAST_BUDGET_MS``, for the event loop); ``record`` writes the read's audit record
and usage; ``release`` gives the quota back when the read failed. ``read`` does it all for
one query — the function other domains call (``datatorg.access.service.read``). The faces
(rows API, downloads, data page, CKAN ``datastore_search``, statistics) call these steps
and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import consent, cursor, decision, engines, journal, query, spending
from datatorg.access import policy as rowpolicy
from datatorg.access.decision import Decision
from datatorg.access.policies import IDENTIFYING_ROLES
from datatorg.access.stated import NO_AGREEMENT, Stated, split_stated
from datatorg.access.steps import hold, holds_quota, record, release, reserve
from datatorg.audit import service as audit
from datatorg.catalog.models import Classification, DatasetRef
from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, NotFound
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.lake import service as lake
from datatorg.market import service as market
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

__all__ = [
    "CONTRIBUTORS",
    "NO_AGREEMENT",
    "NoContents",
    "Read",
    "Stated",
    "begin",
    "contributions",
    "default_order",
    "hold",
    "holds_quota",
    "read",
    "record",
    "release",
    "reserve",
    "split_stated",
]

Contributor = Callable[[Session, rowpolicy.PolicyRequest], rowpolicy.PolicyPart | None]
# What other domains add to a read's policy, asked on every read of a dataset with a subject
# key (live: never cached). Each is a public service function of its domain (SEAMS.md).
CONTRIBUTORS: list[Contributor] = [consent.part]  # privacy: consent, restriction, objection
# Aggregates of personal data under an aggregates-only agreement: those that mix a group's
# rows; the ones that show one row's value (min, max, median, percentiles) are refused.
ALLOWED_AGGS = ("count", "sum", "avg")
INDIVIDUAL = frozenset({"min", "max", "median"})


class NoContents(NotFound):
    """The reader may read the dataset, but it has no version yet."""


@dataclass
class Read:
    """One read in progress: who reads which version, the decision and the row policy."""

    settings: Settings
    actor: Actor
    dataset: DatasetRef
    channel: str
    decision: Decision
    policy: rowpolicy.RowPolicy
    head: lake.HeadFiles
    source: str
    prefix: str
    reservation: market.Reservation | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.head.number

    @property
    def schema(self) -> dict[str, Any]:
        """The visible schema (as the reader sees it)."""
        return self.policy.schema

    @property
    def personal(self) -> bool:
        """Whether the dataset holds personal data: so declared or classified, or its
        stored schema has a subject key or direct identifier column."""
        return (
            self.dataset.has_personal_data
            or self.dataset.classification == Classification.personal
            or any(f.get("role") in IDENTIFYING_ROLES for f in self.head.schema.get("fields", []))
        )

    @property
    def min_group(self) -> int | None:
        """The smallest group an aggregate of this read may show (small-cell suppression):
        ``settings.aggregate_min_group`` for personal data read by anyone but the owner's
        duty roles and the subject themself; None when no group is too small."""
        d = self.decision
        if d.owner or d.basis == decision.SUBJECT or not self.personal:
            return None
        return self.settings.aggregate_min_group

    def parse(
        self,
        session: Session,
        items: Sequence[tuple[str, str]],
        *,
        max_size: int | None = None,
    ) -> query.Query:
        """The read's parameters as a query under the policy, held to the agreement's terms.

        Refused terms are audited (403); unknown or malformed parameters are 422 naming the
        parameter (the caller may read the dataset: what it names is visible to it)."""
        items, _stated = split_stated(items)  # decided already, in ``begin``
        policy = self.policy
        sort_keys = [v for k, v in items if k in ("_sort", "_sort_desc")]
        implicit = None if sort_keys else policy.time_column
        ctx = hashlib.sha256(
            json.dumps(
                [
                    str(self.dataset.id),
                    sort_keys or ([f"default:{implicit}"] if implicit else []),
                    [k for k, _ in items if k == "_sort_desc"],
                ]
            ).encode()
        ).hexdigest()[:12]
        named = list(policy.fields) + [
            f for f in self.head.schema.get("fields", []) if f["name"] in policy.withheld
        ]
        visible = [str(f["name"]) for f in named]
        q = query.parse(
            list(items),
            {"fields": named, "primaryKey": self.head.schema.get("primaryKey")},
            visible=visible,
            default_columns=policy.columns,
            max_size=max_size or self.settings.query_row_cap,
            decode_cursor=cursor.decoder(
                self.settings, ctx, {"fields": named}, sort_keys[0] if sort_keys else implicit
            ),
        )
        decision.check_terms(
            session=session,
            actor=self.actor,
            dataset=self.dataset,
            decision=self.decision,
            channel=self.channel,
            columns=q.columns_used(),
            aggregate=q.is_aggregate,
        )
        if self.decision.aggregate_only and self.personal:
            individual(session, self, q)
        default_order(q, policy)
        q.ctx = ctx
        q.min_group = self.min_group if q.is_aggregate else None
        return q

    def item(
        self,
        rows: int,
        nbytes: int,
        aggregate: bool,
        subject_keys: frozenset[str] | None = None,
    ) -> journal.Item:
        """The audit record of this read (and its usage, under an agreement; and, under a
        ledger policy, the subject keys of the rows that left)."""
        d = self.decision
        disclosure = None
        if self.policy.ledger and d.agreement_id is not None and not aggregate:
            disclosure = journal.Disclosure(
                agreement_id=d.agreement_id,
                dataset_id=self.dataset.id,
                version=self.version,
                channel=self.channel,
                rows=rows,
                subject_keys=subject_keys or frozenset(),
            )
        details: dict[str, Any] = {
            "channel": self.channel,
            "rows": rows,
            "version": self.version,
            "aggregate": aggregate,
            "basis": d.basis,
        }
        if d.role:
            details["role"] = d.role
        if d.purpose:
            details["purpose"] = d.purpose
        if self.parts:
            details["parts"] = list(self.parts)
        details.update(self.policy.audit)  # e.g. the legal basis of data with subjects
        return journal.Item(
            event=audit.NewEvent(
                action="data.read",
                target_type="dataset",
                target_id=str(self.dataset.id),
                details=details,
                actor_id=self.actor.user_id,
            ),
            agreement_id=d.agreement_id,
            rows=rows,
            nbytes=nbytes,
            at=self.reservation.at if self.reservation else utcnow(),
            reservation=self.reservation,
            disclosure=disclosure,
        )


def individual(session: Session, r: Read, q: query.Query) -> None:
    """Refuse (audited) an aggregate that shows one row's value — min, max, median and
    percentiles — on personal data under an aggregates-only agreement."""
    one = sorted({a.alias for a in q.aggs if a.func in INDIVIDUAL or a.pct is not None})
    if not one:
        return
    raise decision.deny(
        session,
        r.actor,
        r.dataset,
        r.channel,
        "aggregate only: individual values",
        Forbidden(
            _(
                "The agreement allows aggregates of personal data only as count, sum and "
                "avg; min, max, median and percentiles show one person's value: %(names)s"
            )
            % {"names": ", ".join(one)},
            failed_term="aggregate",
            allowed=list(ALLOWED_AGGS),
        ),
    )


def default_order(q: query.Query, policy: rowpolicy.RowPolicy) -> None:
    """A page of rows without ``_sort`` comes in the dataset's default order: its time
    column ascending (nulls last) when the reader sees it as stored, then storage order —
    an order the row index serves with the same seeks as ``_sort`` on the time column."""
    if q.sort is None and not q.is_aggregate and policy.time_column is not None:
        q.sort, q.desc = policy.time_column, False


def contributions(session: Session, request: rowpolicy.PolicyRequest) -> list[rowpolicy.PolicyPart]:
    """What the contributors add to this read's policy (asked only for data with subjects)."""
    if request.subject_column is None:
        return []
    parts = [part(session, request) for part in CONTRIBUTORS]
    return [p for p in parts if p is not None]


def begin(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    channel: str,
    purpose: str | None = None,
    agreement_id: uuid.UUID | None = None,
    head_version: uuid.UUID | None = None,
    subject_keys: frozenset[str] | None = None,
) -> Read:
    """Decide the read (refusals audited and raised) and make its row policy.

    ``purpose`` and ``agreement_id`` are what the caller states (``split_stated``): the
    agreement's purpose, and which of the caller's agreements the read is under.

    ``head_version`` is the current version's id when the caller read it together with the
    dataset (``lake.dataset_for_read``), saving a lookup. ``subject_keys``: a data subject
    reads their own rows (``service.read_subject_rows``; the caller has established that
    the keys are the actor's): exactly the rows with these subject keys, every column but
    direct identifiers, no agreement."""
    spending.charge_to(settings=settings, actor=actor)  # its DuckDB time (access.spending)
    if subject_keys is None:
        d = decision.decide(
            session=session,
            actor=actor,
            dataset=dataset,
            channel=channel,
            purpose=purpose,
            agreement_id=agreement_id,
        )
    else:
        d = decision.decide_subject(
            session=session, actor=actor, dataset=dataset, channel=channel, purpose=purpose
        )
    head = lake.head_files(
        session=session, settings=settings, dataset_id=dataset.id, version_id=head_version
    )
    if head is None:
        raise NoContents("This dataset has no contents yet")
    subject = next(
        (f["name"] for f in head.schema.get("fields", []) if f.get("role") == "subject_key"),
        None,
    )
    if subject_keys is not None:
        parts = [rowpolicy.PolicyPart(subjects=rowpolicy.SubjectFilter(keep=subject_keys))]
    else:
        parts = contributions(
            session,
            rowpolicy.PolicyRequest(
                dataset_id=dataset.id,
                publisher_id=dataset.publisher_id,
                version_id=head.version_id,
                schema=head.schema,
                subject_column=subject,
                actor_user_id=actor.user_id,
                agreement_id=d.agreement_id,
                purpose=d.purpose,
                owner=d.owner,
                channel=channel,
            ),
        )
    pol = rowpolicy.build(
        schema=head.schema,
        identifiers=d.identifiers,
        allowed_columns=d.allowed_columns,
        parts=parts,
        subject_key=subject_keys is not None,
        subject_no_max=head.subject_no_max,  # the files carry privacy's subject numbers
    )
    return Read(
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel,
        decision=d,
        policy=pol,
        head=head,
        source=reader.source(head.paths),
        prefix=str(head.paths[0].parent) + "/" if head.paths else "",
    )


def read(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: DatasetRef,
    items: Sequence[tuple[str, str]],
    channel: str,
    purpose: str | None = None,
    head_version: uuid.UUID | None = None,
    max_size: int | None = None,
    subject_keys: frozenset[str] | None = None,
) -> engines.Page:
    """One page of rows (or of aggregate groups) through the whole pipeline: decided,
    bounded by the policy and the quota, run, audited and billed."""
    items, stated = split_stated(items)
    r = begin(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel,
        purpose=purpose or stated.purpose,
        agreement_id=stated.agreement_id,
        head_version=head_version,
        subject_keys=subject_keys,
    )
    q = r.parse(session, items, max_size=max_size)
    reserve(session, r, q)
    try:
        page = engines.fetch(r, q)
    except BaseException:
        release(session, r)
        raise
    record(
        session, r, len(page.rows), engines.page_bytes(r, page), q.is_aggregate, page.subject_keys
    )
    return page
