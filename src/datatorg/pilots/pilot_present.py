"""Pilots as the API and the pages show them: labels, never codes; personal data only to
those who may see it (the team's names are public, participants are only counted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation
from datatorg.market.vocab import purposes
from datatorg.pilots import calls, ideas, participation, policies
from datatorg.pilots.common import names
from datatorg.pilots.data import data_requests
from datatorg.pilots.kpis import kpi_read, list_kpis
from datatorg.pilots.models import Idea, Pilot, PilotMember, PilotPartner, PilotState, UpdateKind
from datatorg.pilots.pilot_schemas import LabOverview, PilotRead, PilotSummary
from datatorg.pilots.pilots import (
    current_phase,
    list_pilots,
    phases,
    resources,
    team_ids,
    timeline,
)
from datatorg.pilots.present import idea_summary, lab, place, sdgs
from datatorg.pilots.results import reports, result_of
from datatorg.pilots.schemas import Labelled
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _


def pilot_summary(session: Session, pilot: Pilot, idea: Idea | None = None) -> PilotSummary:
    idea = idea or session.get(Idea, pilot.idea_id)
    assert idea is not None
    phase = current_phase(phases(session, pilot.id))
    return PilotSummary(
        id=pilot.id,
        url=f"/pilots/{pilot.id}",
        title=pilot.title,
        state=lab("pilot_state", pilot.state),
        phase=lab("phase", phase) if phase else None,
        domain=lab("domain", idea.domain),
        sdgs=sdgs(idea.sdgs),
        submitter_kind=lab("submitter_kind", idea.submitter_kind),
        place=place(idea.place),
        idea_id=idea.id,
    )


def purpose_label(term: str) -> Labelled:
    found = purposes().get(term)
    return Labelled(code=term, label=found.label(current_locale()) if found else term)


def timeline_entries(session: Session, pilot: Pilot) -> list[dict[str, Any]]:
    rows, _total = timeline(session=session, pilot_id=pilot.id, page=1, per_page=100)
    who = names(session, [u.author_id for u in rows])
    out = []
    for u in rows:
        if u.kind == UpdateKind.event:
            title = _(u.title).format(**{k: str(v) for k, v in (u.params or {}).items()})
        else:
            title = u.title
        out.append(
            {
                "kind": lab("update_kind", u.kind).model_dump(),
                "title": title,
                "body": u.body,
                "author": who.get(u.author_id, "") if u.author_id else "",
                "at": u.created_at.isoformat(),
                "date": u.created_at.date().isoformat(),
            }
        )
    return out


def pilot_read(session: Session, actor: Actor, pilot: Pilot) -> PilotRead:
    idea = session.get(Idea, pilot.idea_id)
    assert idea is not None
    members = session.scalars(
        select(PilotMember).where(PilotMember.pilot_id == pilot.id).order_by(PilotMember.added_at)
    ).all()
    who = names(session, [m.user_id for m in members] + [pilot.lead_user_id])
    team = [
        {
            "user_id": str(m.user_id),
            "name": who.get(m.user_id, ""),
            "role": _("Pilot lead") if m.user_id == pilot.lead_user_id else m.role,
        }
        for m in members
    ]
    partners = []
    for p in session.scalars(select(PilotPartner).where(PilotPartner.pilot_id == pilot.id)):
        org = session.get(Organisation, p.organisation_id)
        partners.append({"organisation": org.name if org else "", "contribution": p.contribution})
    phase_rows = phases(session, pilot.id)
    now_phase = current_phase(phase_rows)
    result = result_of(session, pilot)
    base = pilot_summary(session, pilot, idea)
    return PilotRead(
        **base.model_dump(),
        summary=pilot.summary,
        purpose=purpose_label(pilot.purpose),
        lead=who.get(pilot.lead_user_id, "") if pilot.lead_user_id else "",
        team=team,
        partners=partners,
        phases=[
            {
                "phase": lab("phase", p.phase).model_dump(),
                "starts_on": p.starts_on.isoformat(),
                "ends_on": p.ends_on.isoformat(),
                "note": p.note,
                "current": p.phase == now_phase,
            }
            for p in phase_rows
        ],
        resources=[
            {
                "id": str(r.id),
                "kind": lab("resource_kind", r.kind).model_dump(),
                "description": r.description,
                "amount": r.amount,
                "status": lab("resource_status", r.status).model_dump(),
                "decision_note": r.decision_note,
            }
            for r in resources(session, pilot.id)
        ],
        data_requests=data_requests(session, actor, pilot.id),
        timeline=timeline_entries(session, pilot),
        kpis=[kpi_read(session, k) for k in list_kpis(session, pilot.id)],
        recruiting=pilot.recruiting,
        participation_text=pilot.participation_text,
        participants=participation.count(session, pilot.id),
        joined=participation.takes_part(session, pilot.id, actor.user_id),
        result={
            "outcome": lab("outcome", result.outcome).model_dump(),
            "summary": result.summary,
            "lessons": result.lessons,
            "decided_at": result.decided_at.isoformat(),
        }
        if result
        else None,
        reports=[
            {
                "id": str(r.id),
                "title": r.title,
                "filename": r.filename,
                "size": r.size,
                "url": f"/api/v1/pilots/{pilot.id}/reports/{r.id}",
            }
            for r in reports(session, pilot.id)
        ],
        dpia_reference=idea.dpia_reference
        if policies.can_manage_pilot(actor, team_ids(session, pilot.id))
        else "",
    )


def lab_overview(session: Session) -> LabOverview:
    """What the living lab's front page shows (and ``/api/v1/lab`` returns)."""
    open_calls = calls.open_calls(session=session)
    counts = calls.idea_counts(session, [c.id for c in open_calls])
    latest, idea_total = ideas.list_ideas(session=session, sort="newest", page=1, per_page=6)
    running, pilot_total = list_pilots(
        session=session, states=[PilotState.running], page=1, per_page=6
    )
    return LabOverview(
        open_calls=[calls.call_read(c, counts.get(c.id, 0)) for c in open_calls],
        latest_ideas=[idea_summary(i) for i in latest],
        idea_total=idea_total,
        running_pilots=[pilot_summary(session, p) for p in running],
        running_total=pilot_total,
    )
