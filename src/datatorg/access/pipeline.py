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
``fetch`` runs a query (``fast=True``: only from the row index within ``FAST_BUDGET_MS``, for
the event loop); ``record`` writes the read's audit record and usage; ``release`` gives the
quota back when the read failed. ``read`` does it all for one query — the function other
domains call (``datatorg.access.service.read``). The faces (rows API, downloads, data page,
CKAN ``datastore_search``, statistics) call these steps and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from sqlalchemy.orm import Session

from datatorg.access import cursor, decision, journal, query, sql_index
from datatorg.access import policy as rowpolicy
from datatorg.access import sql as sqlgen
from datatorg.access.cursor import plain_rows
from datatorg.access.decision import Decision
from datatorg.audit import service as audit
from datatorg.catalog.models import DatasetRef
from datatorg.db import writes
from datatorg.db.base import utcnow
from datatorg.errors import Invalid, NotFound, TooManyRequests
from datatorg.identity.actor import Actor
from datatorg.lake import reader
from datatorg.lake import service as lake
from datatorg.market import service as market
from datatorg.settings import Settings

log = logging.getLogger(__name__)

# The most a read may run on the event loop (``fetch(fast=True)``) before it is left to a
# worker thread with the full time budget.
FAST_BUDGET_MS = 20

Contributor = Callable[[Session, rowpolicy.PolicyRequest], rowpolicy.PolicyPart | None]
# What other domains add to a read's policy, asked on every read of a dataset with a subject
# key (live: never cached). Each is a public service function of its domain (SEAMS.md).
CONTRIBUTORS: list[Contributor] = []


class NoContents(NotFound):
    """The reader may read the dataset, but it has no version yet."""


@dataclass
class Page:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    next: str | None = None
    count: int | None = None
    version: int | None = None
    schema: dict[str, Any] | None = None
    shape: str = "arrays"  # how the rows API writes the page (``access.shape``)
    nl: bool = False
    key: str | None = None


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
        items = [(k, v) for k, v in items if k != "_purpose"]
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
        default_order(q, policy)
        q.ctx = ctx
        return q

    def item(self, rows: int, nbytes: int, aggregate: bool) -> journal.Item:
        """The audit record of this read (and its usage, under an agreement)."""
        d = self.decision
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
    head_version: uuid.UUID | None = None,
    subject_keys: frozenset[str] | None = None,
) -> Read:
    """Decide the read (refusals audited and raised) and make its row policy.

    ``head_version`` is the current version's id when the caller read it together with the
    dataset (``lake.dataset_for_read``), saving a lookup. ``subject_keys``: a data subject
    reads their own rows (``service.read_subject_rows``; the caller has established that
    the keys are the actor's): exactly the rows with these subject keys, every column but
    direct identifiers, no agreement."""
    if subject_keys is None:
        d = decision.decide(
            session=session, actor=actor, dataset=dataset, channel=channel, purpose=purpose
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


def reserve(session: Session, r: Read, q: query.Query | None, rows: int | None = None) -> None:
    """Take this read's share of the agreement's quotas before it runs: one call and up to
    ``rows`` rows (default: the query's page size), in a transaction of its own committed
    at once. The query's size is cut to the rows granted; none left is a 429 (audited)."""
    d = r.decision
    if d.agreement_id is None or not d.quota:
        hold(r)
        return
    want = rows if rows is not None else (q.size if q is not None else 0)
    writes.begin(session)  # a write transaction of its own (SQLite: the writer's turn first)
    got = market.reserve_quota(
        session=session,
        agreement_id=d.agreement_id,
        calls_per_day=d.calls_per_day,
        rows_per_month=d.rows_per_month,
        rows=want,
    )
    if isinstance(got, market.Exhausted):
        session.rollback()
        raise decision.deny(
            session,
            r.actor,
            r.dataset,
            r.channel,
            f"quota: {got.reason}",
            TooManyRequests(got.reason, retry_after=got.retry_after),
        )
    session.commit()
    r.reservation = got
    if q is not None and got.rows is not None:
        q.size = min(q.size, got.rows)


def hold(r: Read) -> None:
    """The reservation of a read under an agreement without quotas: nothing is taken, the
    read is billed on the day it started."""
    if r.decision.agreement_id is not None:
        r.reservation = market.Reservation(r.decision.agreement_id, utcnow(), None, None, None)


def holds_quota(r: Read) -> bool:
    """Whether the read took a share of a quota (that ``release`` would give back)."""
    res = r.reservation
    return res is not None and (res.day is not None or res.month is not None)


def release(session: Session, r: Read) -> None:
    """The read failed: give back its quota (a transaction of its own)."""
    res = r.reservation
    if res is None or (res.day is None and res.month is None):
        return
    r.reservation = None
    try:
        session.rollback()
        writes.begin(session)
        market.release_quota(session=session, reservation=res)
        session.commit()
    except Exception:  # the read's own error is what the caller reports
        log.exception("could not give back a reservation", extra={"channel": r.channel})


def record(session: Session, r: Read, rows: int, nbytes: int, aggregate: bool) -> None:
    """Record the read (and bill it under an agreement), committed before this returns;
    concurrent reads share one transaction (``journal``: group commit). If the record
    cannot be committed the quota is given back and the read fails."""
    try:
        journal.append(session, r.item(rows, nbytes, aggregate))
    except BaseException:
        release(session, r)
        raise


def page_bytes(r: Read, page: Page) -> int:
    """The size billed for a page (only under an agreement: it costs a serialisation)."""
    return len(json.dumps(page.rows, default=str)) if r.decision.agreement_id else 0


@overload
def fetch(r: Read, q: query.Query) -> Page: ...
@overload
def fetch(r: Read, q: query.Query, *, fast: Literal[True]) -> Page | None: ...
def fetch(r: Read, q: query.Query, *, fast: bool = False) -> Page | None:
    """Run one query of the read under its policy: a page of rows or of aggregate groups.

    With ``fast`` the query runs only if the row index answers it within ``FAST_BUDGET_MS``
    (no aggregate, no count): short enough to run on the event loop. Otherwise it returns
    None and the caller runs ``fetch`` again, off the loop, with the full time budget.
    """
    settings, pol = r.settings, r.policy
    if fast and (q.is_aggregate or q.count):
        return None
    budget = FAST_BUDGET_MS if fast else settings.query_time_budget_ms
    try:
        if q.is_aggregate:
            sql, binds = sqlgen.build_aggregate(q, r.source, pol)
            res = reader.query(sql, binds, cap=q.size, budget_ms=budget)
            columns, types, rows = res.columns, res.types, [list(x) for x in res.rows]
            nxt = None
        else:
            found = _rows_from_index(r, q, budget)
            if found is None and fast:
                return None
            res = found or _rows_from_duckdb(r, q, budget)
            hidden = 3 if q.sort else 2
            columns, types = res.columns[:-hidden], res.types[:-hidden]
            rows = [list(x[:-hidden]) for x in res.rows]
            nxt = None
            if res.truncated and res.rows:
                last = res.rows[-1]
                value = last[-3] if q.sort else None
                nxt = cursor.encode(settings, q.ctx, value, Path(str(last[-2])).name, int(last[-1]))
        count = None
        if q.count:
            csql, cbinds = sqlgen.build_count(q, r.source, pol)
            count = int(reader.query(csql, cbinds, cap=1, budget_ms=budget).rows[0][0])
    except reader.QueryTimeout as exc:
        if fast:
            return None
        raise Invalid(
            str(exc) + "; add filters or aggregate",
            errors=[{"parameter": "query", "message": "time budget exceeded"}],
        ) from None
    return Page(
        columns=columns,
        types=types,
        rows=plain_rows(types, rows),
        truncated=res.truncated,
        next=nxt,
        count=count,
        version=r.version,
        schema=r.schema,
        shape=q.shape,
        nl=q.nl,
        key=q.key,
    )


def _rows_from_duckdb(r: Read, q: query.Query, budget: int) -> reader.Result:
    sql, binds = sqlgen.build_rows(q, r.source, r.prefix, r.policy)
    return reader.query(sql, binds, cap=q.size, budget_ms=budget)


def _rows_from_index(r: Read, q: query.Query, budget: int) -> reader.Result | None:
    """A page of rows from the version's row index, in the shape DuckDB gives it; None when
    there is no index yet or it cannot apply this query and policy exactly (DuckDB then)."""
    found = lake.row_index(settings=r.settings, head=r.head)
    if found is None:
        return None
    path, meta = found
    parts = sql_index.plan_rows(q, meta, r.policy)
    if parts is None:
        return None
    try:
        res = reader.query_index(path, parts, cap=q.size, budget_ms=budget)
    except reader.QueryFailed:
        return None  # e.g. the index file went away: DuckDB still has the files
    hidden = ["__s", "__f", "__r"] if q.sort else ["__f", "__r"]
    return reader.Result(
        columns=[*q.columns, *hidden],
        types=[meta.types[c] for c in q.columns] + [""] * len(hidden),
        rows=sql_index.decode_rows(q, meta, res.rows),
        truncated=res.truncated,
    )


def split_purpose(items: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], str | None]:
    """The read's parameters without ``_purpose``, and the purpose it states (if any)."""
    purpose = next((v for k, v in items if k == "_purpose"), None)
    return [(k, v) for k, v in items if k != "_purpose"], purpose


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
) -> Page:
    """One page of rows (or of aggregate groups) through the whole pipeline: decided,
    bounded by the policy and the quota, run, audited and billed."""
    items, stated = split_purpose(items)
    r = begin(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel,
        purpose=purpose or stated,
        head_version=head_version,
        subject_keys=subject_keys,
    )
    q = r.parse(session, items, max_size=max_size)
    reserve(session, r, q)
    try:
        page = fetch(r, q)
    except BaseException:
        release(session, r)
        raise
    record(session, r, len(page.rows), page_bytes(r, page), q.is_aggregate)
    return page
