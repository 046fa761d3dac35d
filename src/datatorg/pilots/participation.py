"""Citizens join a pilot by giving consent for its purpose, and leave by withdrawing it.

This is the seam to the privacy domain's consent model (issue 13, ``datatorg.privacy``):
``_give`` and ``_withdraw`` are the only two places that record consent. Until that model
lands they keep the consent on the participation itself (who, which pilot and purpose,
given and withdrawn when); afterwards they call ``privacy.service`` and keep its record's id
in ``Participant.consent_ref``. Withdrawing is as easy as giving: one button, at any time.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden
from datatorg.identity.actor import Actor
from datatorg.pilots import policies
from datatorg.pilots.models import Participant, Pilot, PilotState
from datatorg.pilots.pilots import get_pilot
from datatorg.web.i18n import gettext as _

CONSENT_SOURCE = "pilots"  # where the consent was recorded, until privacy's model lands


def _give(session: Session, actor: Actor, pilot: Pilot) -> str:
    """Record consent for the pilot's purpose; returns the consent record's reference."""
    audit.record(
        session=session,
        actor=actor,
        action="consent.give",
        target_type="pilot",
        target_id=str(pilot.id),
        details={"purpose": pilot.purpose, "source": CONSENT_SOURCE},
    )
    return f"{CONSENT_SOURCE}:{pilot.id}"


def _withdraw(session: Session, actor: Actor, pilot: Pilot, ref: str) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="consent.withdraw",
        target_type="pilot",
        target_id=str(pilot.id),
        details={"purpose": pilot.purpose, "source": CONSENT_SOURCE, "ref": ref},
    )


def join(*, session: Session, actor: Actor, pilot_id: uuid.UUID) -> Participant:
    """Take part in a recruiting pilot, consenting to its purpose."""
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_join(actor):
        raise Forbidden(_("Sign in to take part in a pilot."))
    if not pilot.recruiting or pilot.state != PilotState.running:
        raise Conflict(_("This pilot is not looking for participants."))
    assert actor.user_id is not None
    found = session.get(Participant, (pilot.id, actor.user_id))
    if found is not None and found.withdrawn_at is None:
        raise Conflict(_("You already take part in this pilot."))
    ref = _give(session, actor, pilot)
    if found is None:
        found = Participant(pilot_id=pilot.id, user_id=actor.user_id)
        session.add(found)
    found.joined_at, found.withdrawn_at, found.consent_ref = utcnow(), None, ref
    session.flush()
    return found


def leave(*, session: Session, actor: Actor, pilot_id: uuid.UUID) -> Participant:
    """Stop taking part: the consent is withdrawn at once."""
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    found = session.get(Participant, (pilot.id, actor.user_id)) if actor.user_id else None
    if found is None or found.withdrawn_at is not None:
        raise Conflict(_("You do not take part in this pilot."))
    _withdraw(session, actor, pilot, found.consent_ref)
    found.withdrawn_at = utcnow()
    session.flush()
    return found


def takes_part(session: Session, pilot_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    if user_id is None:
        return False
    found = session.get(Participant, (pilot_id, user_id))
    return found is not None and found.withdrawn_at is None


def count(session: Session, pilot_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.pilot_id == pilot_id, Participant.withdrawn_at.is_(None))
        )
        or 0
    )
