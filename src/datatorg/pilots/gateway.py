"""The living lab's one way to dataset contents: a read through the gate on behalf of someone.

KPIs computed from datasets read here and nowhere else. The gate (``datatorg.access``)
decides the read as ``actor`` (under ``actor.agreement_id`` when set), caps it, audits it
(channel ``kpi``) and meters it under the agreement, exactly as for any other face.
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
) -> Answer:
    """An aggregate read of ``dataset`` through the gate, as ``actor``.

    Note: the gate commits ``session`` before it records the read (its journal), so call
    this before changing anything the read's outcome decides.
    """
    page = access.read(
        session=session,
        settings=settings,
        actor=actor,
        dataset=dataset,
        items=items,
        channel=CHANNEL,
    )
    return Answer(columns=page.columns, rows=page.rows, truncated=page.truncated)
