"""Every NGSI-LD read goes through the gate (``datatorg.access``).

An entity belongs to a stream, a stream is a dataset: before an entity's attributes leave,
the gate decides on its dataset for the attributes asked (``access.service.decide``:
owners, open data, or an agreement whose columns, purpose and quotas the read fits); the
answer is capped (``limit`` ≤ 1000) and each dataset read is audited once per request
(``access.service.audit_read``, channel ``ngsi-ld``), refusals included (by ``decide``).
History (the temporal API) is read with ``access.service.read``, the rows pipeline itself.

When the gate publishes its one function for reads on behalf of other faces, ``Reader``
is the only place to change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.catalog.models import Dataset
from datatorg.errors import DatatorgError
from datatorg.identity.actor import Actor
from datatorg.lake import service as lake
from datatorg.sensors.models import SensorStream
from datatorg.settings import Settings

CHANNEL = "ngsi-ld"


@dataclass
class Allowed:
    """What the gate allowed on one dataset: the stream's columns the caller may read."""

    dataset: Dataset
    decision: Any
    columns: frozenset[str] | None  # None: all
    rows: int = 0


@dataclass
class Reader:
    """Decides per dataset (once per request), hides what the decision hides, audits."""

    session: Session
    settings: Settings
    actor: Actor
    purpose: str | None = None
    attrs: set[str] | None = None  # expanded attribute names asked for (``attrs``), or all
    channel: str = CHANNEL  # as audited: ``ngsi-ld``, or ``page`` for the live pages
    allowed: dict[uuid.UUID, Allowed] = field(default_factory=dict)
    refused: dict[uuid.UUID, DatatorgError] = field(default_factory=dict)

    def decide(self, stream: SensorStream, dataset: Dataset) -> Allowed | None:
        """The gate's answer for reading ``dataset``'s entities: the columns decided on are
        ``entityId`` and the stream's measured attributes this request returns (all, or
        those of ``attrs``), so an agreement must cover them, as on the rows API. None
        (and the refusal kept) when denied."""
        if dataset.id in self.allowed:
            return self.allowed[dataset.id]
        if dataset.id in self.refused:
            return None
        measured = {
            a["name"] for a in stream.attributes if self.attrs is None or a["iri"] in self.attrs
        }
        try:
            decision = access.decide(
                session=self.session,
                actor=self.actor,
                dataset=dataset,
                columns=frozenset({"entityId", *measured}),
                aggregate=False,
                channel=self.channel,
                purpose=self.purpose,
            )
        except DatatorgError as exc:
            self.refused[dataset.id] = exc
            return None
        found = Allowed(dataset, decision, frozenset(measured))
        self.allowed[dataset.id] = found
        return found

    def hidden_attributes(self, stream: SensorStream, allowed: Allowed) -> set[str]:
        """Expanded names of the stream's measured attributes not decided on (with
        ``attrs``, those not asked for): never let out."""
        if allowed.columns is None:
            return set()
        return {a["iri"] for a in stream.attributes if a["name"] not in allowed.columns}

    def count(self, allowed: Allowed, rows: int) -> None:
        allowed.rows += rows

    def first_refusal(self) -> DatatorgError | None:
        return next(iter(self.refused.values()), None)

    def finish(self) -> None:
        """Audit each dataset read in this request (with the entities it returned)."""
        for allowed in self.allowed.values():
            head = lake.head(session=self.session, dataset_id=allowed.dataset.id)
            access.audit_read(
                self.session,
                self.actor,
                allowed.dataset,
                allowed.decision,
                self.channel,
                allowed.rows,
                head.number if head else 0,
                False,
            )

    def history(self, dataset: Dataset, items: list[tuple[str, str]]) -> access.Page:
        """Rows of a stream's dataset through the gate's rows pipeline (decided, capped,
        audited there)."""
        if self.purpose:
            items = [*items, ("_purpose", self.purpose)]
        return access.read(
            session=self.session,
            settings=self.settings,
            actor=self.actor,
            dataset=dataset,
            items=items,
            channel=self.channel,
        )
