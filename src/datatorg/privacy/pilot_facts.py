"""What privacy needs to know about living-lab pilots, told by the pilots domain.

A consent scoped to one pilot covers the reads under the agreements made from that pilot's
data requests, and My consents shows the pilot's title. Pilots lie above privacy (the
``[tool.importlinter]`` layers), so privacy never imports them: the pilots domain registers
its ``PilotFacts`` here when its modules are imported (``privacy.service.pilot_facts``).
Without them no agreement counts as made for a pilot (a pilot-scoped consent covers nothing:
fail closed) and a pilot is named by its id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from datatorg.market.models import Agreement


@dataclass(frozen=True)
class PilotFacts:
    # the pilots (ids as text) whose data requests led to an agreement
    pilots_of_agreement: Callable[[Session, uuid.UUID], list[str]]
    # a query of the ids of the agreements made from one pilot's data requests
    agreements_of_pilot: Callable[[uuid.UUID], Select[Any]]
    # the pilot's title, None when there is no such pilot
    title: Callable[[Session, uuid.UUID], str | None]


_FACTS: list[PilotFacts] = []


def pilot_facts(facts: PilotFacts) -> None:
    """Register the pilots domain's facts (replacing any earlier registration)."""
    _FACTS[:] = [facts]


def pilots_of_agreement(session: Session, agreement_id: uuid.UUID | None) -> list[str]:
    """The pilots (ids as text) whose data requests led to this agreement: a consent scoped
    to one of them covers the reads under it."""
    if agreement_id is None or not _FACTS:
        return []
    return sorted(_FACTS[0].pilots_of_agreement(session, agreement_id))


def agreements_of_pilot(pilot_id: uuid.UUID) -> Select[Any]:
    """The ids of the agreements made from the pilot's data requests (none when unknown)."""
    if not _FACTS:
        return select(Agreement.id).where(false())
    return _FACTS[0].agreements_of_pilot(pilot_id)


def pilot_title(session: Session, pilot_id: uuid.UUID) -> str | None:
    return _FACTS[0].title(session, pilot_id) if _FACTS else None
