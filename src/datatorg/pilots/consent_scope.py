"""The pilots' facts for consent scoped to a pilot (``privacy.service.pilot_facts``).

Privacy lies below pilots and never imports them; this module tells it, when the pilots'
service module is imported, which pilots led to an agreement (through their data requests)
and what a pilot is called.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from datatorg.market.models import AccessRequest
from datatorg.pilots.models import Pilot, PilotDataRequest
from datatorg.privacy import service as privacy


def pilots_of_agreement(session: Session, agreement_id: uuid.UUID) -> list[str]:
    found = session.scalars(
        select(PilotDataRequest.pilot_id)
        .join(AccessRequest, AccessRequest.id == PilotDataRequest.access_request_id)
        .where(AccessRequest.agreement_id == agreement_id)
    )
    return [str(p) for p in found]


def agreements_of_pilot(pilot_id: uuid.UUID) -> Select[Any]:
    return (
        select(AccessRequest.agreement_id)
        .join(PilotDataRequest, PilotDataRequest.access_request_id == AccessRequest.id)
        .where(PilotDataRequest.pilot_id == pilot_id)
    )


def title(session: Session, pilot_id: uuid.UUID) -> str | None:
    pilot = session.get(Pilot, pilot_id)
    return pilot.title if pilot is not None else None


privacy.pilot_facts(
    privacy.PilotFacts(
        pilots_of_agreement=pilots_of_agreement,
        agreements_of_pilot=agreements_of_pilot,
        title=title,
    )
)
