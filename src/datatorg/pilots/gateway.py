"""The living lab's one way to dataset contents: a read through the gate on behalf of someone.

KPIs computed from datasets read here and nowhere else, through the gate's public read
(``datatorg.access.service.read_dataset``): the gate decides the read as ``actor`` (under
``actor.agreement_id`` when set) for the pilot's ``purpose``, builds its row policy (consent
included), caps it, audits it (channel ``kpi``) and meters it under the agreement, exactly
as for any other face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from datatorg.access import service as access
from datatorg.catalog.models import Dataset
from datatorg.identity.actor import Actor
from datatorg.settings import Settings

CHANNEL = "kpi"


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


def read_aggregate(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    dataset: Dataset,
    items: list[tuple[str, str]],
    purpose: str,
) -> Answer:
    """An aggregate read of ``dataset`` through the gate, as ``actor``, for ``purpose`` (the
    pilot's DPV purpose: under an agreement it must be the agreement's, so a KPI never reads
    under an agreement made for something else).

    Note: the gate commits ``session`` before it records the read (its journal), so call
    this before changing anything the read's outcome decides.
    """
    page = access.read_dataset(
        session=session,
        settings=settings,
        actor=actor,
        ref=str(dataset.id),
        items=items,
        channel=CHANNEL,
        purpose=purpose,
    )
    return Answer(columns=page.columns, rows=page.rows, truncated=page.truncated)
