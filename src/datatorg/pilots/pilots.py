"""Pilots made from accepted ideas: team, partners, phases, resources, the timeline."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from sqlalchemy import UnaryExpression, delete, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog import service as catalog
from datatorg.db import text
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import User
from datatorg.pilots import policies
from datatorg.pilots.common import MAX_PAGE, notify, page_of
from datatorg.pilots.ideas import get_idea
from datatorg.pilots.models import (
    Domain,
    Idea,
    IdeaSdg,
    IdeaState,
    Phase,
    Pilot,
    PilotMember,
    PilotPartner,
    PilotPhase,
    PilotResource,
    PilotState,
    PilotUpdate,
    ResourceStatus,
    SubmitterKind,
    UpdateKind,
)
from datatorg.pilots.pilot_schemas import (
    MemberAdd,
    PartnerAdd,
    PhaseDates,
    PilotChange,
    PilotCreate,
    ResourceCreate,
    ResourceDecision,
    UpdateCreate,
)
from datatorg.pilots.schemas import search_words
from datatorg.pilots.vocab import N_
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

PilotSort = Literal["newest", "oldest", "title"]


def event(
    session: Session, pilot: Pilot, title: str, actor: Actor | None, **params: str
) -> PilotUpdate:
    """A platform entry on the timeline: ``title`` is a msgid shown in each reader's language."""
    entry = PilotUpdate(
        pilot_id=pilot.id,
        kind=UpdateKind.event,
        title=title,
        params=params,
        author_id=actor.user_id if actor else None,
    )
    session.add(entry)
    return entry


def get_pilot(*, session: Session, pilot_id: uuid.UUID, lock: bool = False) -> Pilot:
    """A pilot; ``lock``: its row locked for a change of state (see ``ideas.get_idea``)."""
    pilot = session.get(
        Pilot, pilot_id, with_for_update=True if lock else None, populate_existing=lock
    )
    if pilot is None:
        raise NotFound(_("No such pilot."))
    return pilot


def team_ids(session: Session, pilot_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(select(PilotMember.user_id).where(PilotMember.pilot_id == pilot_id)).all()
    )


def _managed(session: Session, actor: Actor, pilot_id: uuid.UUID) -> Pilot:
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_manage_pilot(actor, team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team and the coordinators change the pilot."))
    return pilot


def create_pilot(
    *, session: Session, settings: Settings | None, actor: Actor, data: PilotCreate
) -> Pilot:
    """Make a pilot of an accepted idea (coordinators); a DPIA first if it uses personal data."""
    if not policies.can_create_pilot(actor):
        raise Forbidden(_("Only living-lab coordinators start pilots."))
    idea = get_idea(session=session, idea_id=data.idea_id, lock=True)  # one pilot per idea
    if idea.state != IdeaState.accepted:
        raise Conflict(_("Only an accepted idea becomes a pilot."))
    if session.scalar(select(Pilot.id).where(Pilot.idea_id == idea.id)) is not None:
        raise Conflict(_("This idea is a pilot already."))
    if idea.dpia_required and not idea.dpia_reference:
        raise Conflict(
            _("The idea uses personal data: record its DPIA before the pilot starts."),
            missing="dpia",
        )
    lead = data.lead_id or idea.submitted_by
    if lead is None or session.get(User, lead) is None:
        raise Invalid(
            _("Choose who leads the pilot."),
            errors=[{"field": "lead_id", "message": _("no such person")}],
        )
    pilot = Pilot(
        idea_id=idea.id,
        title=data.title or idea.title,
        summary=data.summary or idea.solution,
        purpose=data.purpose,
        lead_user_id=lead,
        recruiting=data.recruiting,
        participation_text=data.participation_text,
        created_by=actor.user_id,
    )
    session.add(pilot)
    session.flush()
    session.add(PilotMember(pilot_id=pilot.id, user_id=lead, role=""))
    for p in data.phases:
        session.add(
            PilotPhase(
                pilot_id=pilot.id,
                phase=p.phase,
                starts_on=p.starts_on,
                ends_on=p.ends_on,
                note=p.note,
            )
        )
    event(session, pilot, N_("The pilot started"), actor)
    audit.record(
        session=session,
        actor=actor,
        action="pilots.pilot.create",
        target_type="pilot",
        target_id=str(pilot.id),
        details={"idea_id": str(idea.id)},
    )
    notify(
        session,
        settings,
        [lead],
        "pilot_news",
        N_("Your pilot has started"),
        N_("The pilot “{title}” is set up. Plan its phases, KPIs and data on its page."),
        f"/pilots/{pilot.id}",
        {"title": pilot.title},
    )
    session.flush()
    return pilot


def change_pilot(
    *, session: Session, actor: Actor, pilot_id: uuid.UUID, data: PilotChange
) -> Pilot:
    pilot = _managed(session, actor, pilot_id)
    if data.summary is not None:
        pilot.summary = data.summary
    if data.recruiting is not None:
        pilot.recruiting = data.recruiting
    if data.participation_text is not None:
        pilot.participation_text = data.participation_text
    session.flush()
    return pilot


def list_pilots(
    *,
    session: Session,
    states: list[PilotState] | None = None,
    domains: list[Domain] | None = None,
    kinds: list[SubmitterKind] | None = None,
    sdg: int | None = None,
    q: str = "",
    sort: PilotSort = "newest",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Pilot], int]:
    """Pilots filtered by state and by their idea's domain, submitter kind and goals."""
    stmt = select(Pilot).join(Idea, Idea.id == Pilot.idea_id)
    if states:
        stmt = stmt.where(Pilot.state.in_(states))
    if domains:
        stmt = stmt.where(Idea.domain.in_(domains))
    if kinds:
        stmt = stmt.where(Idea.submitter_kind.in_(kinds))
    if sdg is not None:
        stmt = stmt.where(Idea.id.in_(select(IdeaSdg.idea_id).where(IdeaSdg.sdg == sdg)))
    words = search_words(q)
    if words:  # æ, ø, å fold alike on SQLite and PostgreSQL (db/text.py)
        stmt = stmt.where(text.contains(Pilot.title, words))
    order: dict[str, UnaryExpression[Any]] = {
        "newest": Pilot.created_at.desc(),
        "oldest": Pilot.created_at.asc(),
        "title": text.fold(Pilot.title).asc(),
    }
    return page_of(session, stmt.order_by(order[sort], Pilot.id), min(page, MAX_PAGE), per_page)


# --- team and partners --------------------------------------------------------------------


def add_member(*, session: Session, actor: Actor, pilot_id: uuid.UUID, data: MemberAdd) -> Pilot:
    pilot = _managed(session, actor, pilot_id)
    user = identity.get_user_by_email(session=session, email=data.email)
    if user is None or not user.is_active:
        raise Invalid(
            _("Nobody has an account with that e-mail address."),
            errors=[{"field": "email", "message": _("no account")}],
        )
    found = session.get(PilotMember, (pilot.id, user.id))
    if found is not None:
        found.role = data.role
    else:
        session.add(PilotMember(pilot_id=pilot.id, user_id=user.id, role=data.role))
        event(session, pilot, N_("Someone joined the team"), actor)
    session.flush()
    return pilot


def remove_member(
    *, session: Session, actor: Actor, pilot_id: uuid.UUID, user_id: uuid.UUID
) -> Pilot:
    pilot = _managed(session, actor, pilot_id)
    if user_id == pilot.lead_user_id:
        raise Conflict(_("The pilot's lead stays on the team."))
    gone = session.execute(
        delete(PilotMember).where(PilotMember.pilot_id == pilot.id, PilotMember.user_id == user_id)
    )
    if getattr(gone, "rowcount", 0) != 1:
        raise NotFound(_("That person is not on the team."))
    return pilot


def add_partner(*, session: Session, actor: Actor, pilot_id: uuid.UUID, data: PartnerAdd) -> Pilot:
    pilot = _managed(session, actor, pilot_id)
    org = catalog.get_organisation(session=session, ref=data.organisation)
    if org is None:
        raise Invalid(
            _("No such organisation."),
            errors=[{"field": "organisation", "message": _("no such organisation")}],
        )
    found = session.scalar(
        select(PilotPartner).where(
            PilotPartner.pilot_id == pilot.id, PilotPartner.organisation_id == org.id
        )
    )
    if found is not None:
        found.contribution = data.contribution
    else:
        session.add(
            PilotPartner(pilot_id=pilot.id, organisation_id=org.id, contribution=data.contribution)
        )
        event(session, pilot, N_("{organisation} became a partner"), actor, organisation=org.name)
    session.flush()
    return pilot


# --- phases, resources, timeline ----------------------------------------------------------


def set_phase(*, session: Session, actor: Actor, pilot_id: uuid.UUID, data: PhaseDates) -> Pilot:
    pilot = _managed(session, actor, pilot_id)
    found = session.get(PilotPhase, (pilot.id, data.phase))
    if found is None:
        found = PilotPhase(pilot_id=pilot.id, phase=data.phase)
        session.add(found)
    found.starts_on, found.ends_on, found.note = data.starts_on, data.ends_on, data.note
    session.flush()
    return pilot


def phases(session: Session, pilot_id: uuid.UUID) -> list[PilotPhase]:
    order = {p: i for i, p in enumerate(Phase)}
    rows = session.scalars(select(PilotPhase).where(PilotPhase.pilot_id == pilot_id)).all()
    return sorted(rows, key=lambda p: order[p.phase])


def current_phase(rows: list[PilotPhase], on: date | None = None) -> Phase | None:
    """The phase whose dates hold ``on``; else the last one begun; else none."""
    on = on or utcnow().date()
    for p in rows:
        if p.starts_on <= on <= p.ends_on:
            return p.phase
    begun = [p for p in rows if p.starts_on <= on]
    return begun[-1].phase if begun else None


def request_resource(
    *, session: Session, actor: Actor, pilot_id: uuid.UUID, data: ResourceCreate
) -> PilotResource:
    pilot = _managed(session, actor, pilot_id)
    res = PilotResource(
        pilot_id=pilot.id,
        kind=data.kind,
        description=data.description,
        amount=data.amount,
        requested_by=actor.user_id,
    )
    session.add(res)
    session.flush()
    return res


def decide_resource(
    *,
    session: Session,
    actor: Actor,
    pilot_id: uuid.UUID,
    resource_id: uuid.UUID,
    data: ResourceDecision,
) -> PilotResource:
    """Grant or decline a resource the pilot asked for (coordinators)."""
    if not policies.can_decide_resource(actor):
        raise Forbidden(_("Only living-lab coordinators grant resources."))
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    res = session.get(PilotResource, resource_id)
    if res is None or res.pilot_id != pilot.id:
        raise NotFound(_("No such resource request."))
    if res.status != ResourceStatus.requested:
        raise Conflict(_("This resource request is decided already."))
    res.status = ResourceStatus(data.status)
    res.decision_note = data.note
    res.decided_by, res.decided_at = actor.user_id, utcnow()
    msg = (
        N_("Resource granted: {what}")
        if data.status == "granted"
        else N_("Resource declined: {what}")
    )
    event(session, pilot, msg, actor, what=res.description[:120])
    session.flush()
    return res


def resources(session: Session, pilot_id: uuid.UUID) -> list[PilotResource]:
    return list(
        session.scalars(
            select(PilotResource)
            .where(PilotResource.pilot_id == pilot_id)
            .order_by(PilotResource.requested_at, PilotResource.id)
        ).all()
    )


def post_update(
    *, session: Session, actor: Actor, pilot_id: uuid.UUID, data: UpdateCreate
) -> PilotUpdate:
    pilot = _managed(session, actor, pilot_id)
    entry = PilotUpdate(
        pilot_id=pilot.id,
        kind=UpdateKind(data.kind),
        title=data.title,
        body=data.body,
        author_id=actor.user_id,
    )
    session.add(entry)
    session.flush()
    return entry


def timeline(
    *, session: Session, pilot_id: uuid.UUID, page: int = 1, per_page: int = 50
) -> tuple[list[PilotUpdate], int]:
    """The pilot's timeline, newest first."""
    stmt = (
        select(PilotUpdate)
        .where(PilotUpdate.pilot_id == pilot_id)
        .order_by(PilotUpdate.created_at.desc(), PilotUpdate.id)
    )
    return page_of(session, stmt, page, per_page)
