"""Every NGSI-LD read goes through the gate (``datatorg.access``).

An entity belongs to a stream, a stream is a dataset. The latest values come from the
sensors' own entity store, so each dataset read is opened with the gate's
``access.service.open_read`` (decided for ``entityId`` and the attributes returned: owners,
open data, or an agreement whose columns, purpose and quotas the read fits; refusals
audited), its row policy applied here, and closed with ``close_read`` (audited with the
entities returned, billed, unused quota given back) or ``abandon_read`` when the request
fails. A policy the entity store cannot apply exactly (row filters, transformed columns)
is refused with a pointer to the rows API, which applies it. History (the temporal API,
the device pages) is read with ``access.service.read``, the rows pipeline itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.catalog.models import Dataset
from datatorg.errors import DatatorgError, Forbidden
from datatorg.identity.actor import Actor
from datatorg.sensors import vocab
from datatorg.sensors.models import SensorStream
from datatorg.settings import Settings

CHANNEL = "ngsi-ld"
MAX_ROWS = 1000  # the most entities one request returns (``limit`` ≤ 1000)
POSITION = ("latitude", "longitude")


def check_readable(
    *, session: Session, settings: Settings, actor: Actor, dataset: Dataset, channel: str
) -> None:
    """Whether ``actor`` may read ``dataset`` at all (the gate decides; refusals audited and
    raised as by a read): asked before telling a caller a dataset is not a sensor stream,
    so a page answers as any read of that dataset would (401/403 first)."""
    read = access.open_read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        channel=channel,
        columns=[],
        rows=0,
    )
    access.abandon_read(session=session, read=read)


@dataclass
class Allowed:
    """What the gate allowed on one dataset: the stream's columns the caller may read."""

    dataset: Dataset
    read: Any  # access.service.Read (None: the dataset has no observations yet)
    columns: frozenset[str]  # measured attributes decided on (and so returned)
    position: bool  # latitude and longitude visible: the location may leave
    rows: int = 0


@dataclass
class Reader:
    """Opens one gate read per dataset (once per request), applies its policy, closes it.

    Use as a context manager: a request that fails after a read was opened gives its quota
    back (``abandon_read``); ``finish`` closes the reads of a request that succeeded."""

    session: Session
    settings: Settings
    actor: Actor
    purpose: str | None = None
    attrs: set[str] | None = None  # expanded attribute names asked for (``attrs``), or all
    channel: str = CHANNEL  # as audited: ``ngsi-ld``, or ``page`` for the live pages
    max_rows: int = MAX_ROWS  # quota reserved per dataset read (what is unused goes back)
    allowed: dict[uuid.UUID, Allowed] = field(default_factory=dict)
    refused: dict[uuid.UUID, DatatorgError] = field(default_factory=dict)

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abandon()

    def decide(self, stream: SensorStream, dataset: Dataset) -> Allowed | None:
        """The gate's answer for reading ``dataset``'s entities: the columns decided on are
        ``entityId`` and the stream's measured attributes this request returns (all, or
        those of ``attrs``), so an agreement must cover them, as on the rows API. None
        (and the refusal kept) when denied."""
        if dataset.id in self.allowed:
            return self.allowed[dataset.id]
        if dataset.id in self.refused:
            return None
        measured = [
            a["name"] for a in stream.attributes if self.attrs is None or a["iri"] in self.attrs
        ]
        columns = ["entityId", *measured]
        try:
            read = access.open_read(
                session=self.session,
                settings=self.settings,
                actor=self.actor,
                dataset=dataset,
                channel=self.channel,
                columns=columns,
                aggregate=False,
                rows=self.max_rows,
                purpose=self.purpose,
            )
        except access.NoContents:
            # decided and allowed, but no observation has arrived yet: the devices have no
            # measured values to let out (nothing to audit, no quota to take)
            found = Allowed(dataset, None, frozenset(measured), position=True)
            self.allowed[dataset.id] = found
            return found
        except DatatorgError as exc:
            self.refused[dataset.id] = exc
            return None
        policy = read.policy
        visible = set(policy.columns)
        position = all(c in visible and c not in policy.transforms for c in POSITION)
        if policy.filters_rows or not policy.plain(columns) or not visible >= set(columns):
            access.abandon_read(session=self.session, read=read)
            self.refused[dataset.id] = Forbidden(
                "The terms of this read (rows left out, or values changed before they leave) "
                "are applied by the rows API only: read "
                f"/api/v1/datasets/{dataset.slug}/rows instead"
            )
            return None
        found = Allowed(dataset, read, frozenset(measured), position)
        self.allowed[dataset.id] = found
        return found

    def hidden_attributes(self, stream: SensorStream, allowed: Allowed) -> set[str]:
        """Expanded names of what may not leave: the stream's measured attributes not
        decided on (with ``attrs``, those not asked for), and the location when the policy
        hides the position columns."""
        hidden = {a["iri"] for a in stream.attributes if a["name"] not in allowed.columns}
        if not allowed.position:
            hidden.add(vocab.LOCATION)
        return hidden

    def count(self, allowed: Allowed, rows: int) -> None:
        allowed.rows += rows

    def first_refusal(self) -> DatatorgError | None:
        return next(iter(self.refused.values()), None)

    def finish(self) -> None:
        """Close each dataset read of this request with the entities it returned (audited,
        billed, unused quota given back; committed)."""
        opened, self.allowed = self.allowed, {}
        for allowed in opened.values():
            if allowed.read is None:
                continue
            access.close_read(
                session=self.session, read=allowed.read, rows=min(allowed.rows, self.max_rows)
            )

    def abandon(self) -> None:
        """The request failed: give back the quota of every read still open."""
        opened, self.allowed = self.allowed, {}
        for allowed in opened.values():
            if allowed.read is not None:
                access.abandon_read(session=self.session, read=allowed.read)

    def history(self, dataset: Dataset, items: list[tuple[str, str]]) -> access.Page:
        """Rows of a stream's dataset through the gate's rows pipeline (decided, capped,
        audited there); no rows when no observation has arrived yet."""
        try:
            return access.read(
                session=self.session,
                settings=self.settings,
                actor=self.actor,
                dataset=dataset,
                items=items,
                channel=self.channel,
                purpose=self.purpose,
            )
        except access.NoContents:
            return access.Page(columns=[], types=[], rows=[], truncated=False)
