"""Citizens join a pilot by giving consent for its purpose, and leave by withdrawing it.

The consent is privacy's (issue 13, ``datatorg.privacy.service``): joining gives a consent
scoped to this one pilot (``ScopeKind.pilot``, the pilot's id as its reference) for the pilot's
purpose, under the purpose's newest notice; leaving withdraws it. ``Participant.consent_ref``
keeps the consent's id. The consent is the truth: a consent withdrawn (or expired) on My data
ends the participation too, so who takes part is read from the consents, not from the row.
A pilot consent covers the reads under the agreements made from the pilot's data requests
(privacy's subject filter), so a KPI over a consent-based dataset counts the participants.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, NotFound
from datatorg.identity.actor import Actor
from datatorg.pilots import policies
from datatorg.pilots.models import Participant, Pilot, PilotState
from datatorg.pilots.pilots import get_pilot
from datatorg.privacy import service as privacy
from datatorg.privacy.models import Consent, ScopeKind
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

CHANNEL = "web"


def _consent_id(ref: str) -> uuid.UUID | None:
    """The consent's id kept on a participation (older rows hold no privacy consent)."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def _give(session: Session, settings: Settings, actor: Actor, pilot: Pilot) -> str:
    """Give the pilot-scoped consent for the pilot's purpose; returns the consent's id."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    try:
        consent = privacy.give(
            session=session,
            subject=subject,
            purpose=pilot.purpose,
            scope_kind=ScopeKind.pilot,
            scope_ref=str(pilot.id),
            channel=CHANNEL,
        )
    except NotFound:  # the purpose has no privacy notice to consent under
        raise Conflict(
            _("This pilot cannot take participants yet: its purpose has no privacy notice.")
        ) from None
    session.flush()
    return str(consent.id)


def _withdraw(session: Session, settings: Settings, actor: Actor, ref: str) -> None:
    consent_id = _consent_id(ref)
    if consent_id is None:
        return
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    try:
        privacy.withdraw(session=session, subject=subject, consent_id=consent_id, channel=CHANNEL)
    except NotFound:  # erased with its subject: nothing left to withdraw
        return


def _in_force(session: Session, refs: Iterable[str]) -> set[str]:
    """Those of ``refs`` whose consent is in force now."""
    ids = {i for i in map(_consent_id, refs) if i is not None}
    if not ids:
        return set()
    now = utcnow()
    found = session.scalars(select(Consent).where(Consent.id.in_(ids))).all()
    return {str(c.id) for c in found if privacy.state_at(c, now) in privacy.VALID_STATES}


def join(*, session: Session, settings: Settings, actor: Actor, pilot_id: uuid.UUID) -> Participant:
    """Take part in a recruiting pilot, consenting to its purpose. The pilot's row is locked
    first, so simultaneous joins (a double click) are taken one at a time: one joins, the
    others are told the person takes part already."""
    pilot = get_pilot(session=session, pilot_id=pilot_id, lock=True)
    if not policies.can_join(actor):
        raise Forbidden(_("Sign in to take part in a pilot."))
    if not pilot.recruiting or pilot.state != PilotState.running:
        raise Conflict(_("This pilot is not looking for participants."))
    assert actor.user_id is not None
    found = session.get(Participant, (pilot.id, actor.user_id))
    if found is not None and _taking_part(session, found):
        raise Conflict(_("You already take part in this pilot."))
    ref = _give(session, settings, actor, pilot)
    if found is None:
        found = Participant(pilot_id=pilot.id, user_id=actor.user_id)
        session.add(found)
    found.joined_at, found.withdrawn_at, found.consent_ref = utcnow(), None, ref
    session.flush()
    return found


def leave(
    *, session: Session, settings: Settings, actor: Actor, pilot_id: uuid.UUID
) -> Participant:
    """Stop taking part: the consent is withdrawn at once (the pilot locked, as in ``join``)."""
    pilot = get_pilot(session=session, pilot_id=pilot_id, lock=True)
    found = session.get(Participant, (pilot.id, actor.user_id)) if actor.user_id else None
    if found is None or not _taking_part(session, found):
        raise Conflict(_("You do not take part in this pilot."))
    _withdraw(session, settings, actor, found.consent_ref)
    found.withdrawn_at = utcnow()
    session.flush()
    return found


def _taking_part(session: Session, p: Participant) -> bool:
    return p.withdrawn_at is None and p.consent_ref in _in_force(session, [p.consent_ref])


def takes_part(session: Session, pilot_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    """Whether the user takes part: joined, not left, and the consent still in force."""
    if user_id is None:
        return False
    found = session.get(Participant, (pilot_id, user_id))
    return found is not None and _taking_part(session, found)


def count(session: Session, pilot_id: uuid.UUID) -> int:
    """How many take part now (a consent withdrawn on My data no longer counts)."""
    refs = session.scalars(
        select(Participant.consent_ref).where(
            Participant.pilot_id == pilot_id, Participant.withdrawn_at.is_(None)
        )
    ).all()
    return len(_in_force(session, refs))
