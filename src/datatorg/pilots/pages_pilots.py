"""The living lab's pages, part three: pilots (team, phases, resources, data, participants,
timeline, results). KPIs and reports are in ``pages_kpis``; the portfolio in
``pages_portfolio``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from datatorg.errors import Conflict, Forbidden, Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.market.vocab import purposes
from datatorg.pilots import (
    data,
    ideas,
    participation,
    pilots,
    policies,
    results,
)
from datatorg.pilots.calls import today as utc_today
from datatorg.pilots.charts import kpi_chart
from datatorg.pilots.forms import FormDep, page, parse_dict, parse_form, values_of
from datatorg.pilots.models import Domain, IdeaState, PilotState, SubmitterKind
from datatorg.pilots.pilot_present import pilot_read, pilot_summary
from datatorg.pilots.pilot_schemas import (
    DataRequestCreate,
    MemberAdd,
    PartnerAdd,
    PhaseDates,
    PilotChange,
    PilotCreate,
    ResourceCreate,
    ResourceDecision,
    ResultCreate,
    UpdateCreate,
)
from datatorg.pilots.present import idea_summary
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])

PageNo = Annotated[int, Query(ge=1, le=10_000, alias="page")]
PER_PAGE = 20


@router.get("/pilots", dependencies=[perm.ANYONE])
def pilot_list(
    request: Request,
    session: SessionDep,
    state: Annotated[list[PilotState] | None, Query(max_length=2)] = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: pilots.PilotSort = "newest",
    page_no: PageNo = 1,
) -> Response:
    """Pilots with filters, sorting and pages (twin: ``/api/v1/pilots``)."""
    rows, total = pilots.list_pilots(
        session=session,
        states=state,
        domains=domain,
        kinds=submitter_kind,
        sdg=sdg,
        q=q,
        sort=sort,
        page=page_no,
        per_page=PER_PAGE,
    )
    chosen = {
        "state": [s.value for s in state or []],
        "domain": [d.value for d in domain or []],
        "submitter_kind": [k.value for k in submitter_kind or []],
        "sdg": str(sdg or ""),
        "q": q,
        "sort": sort,
    }
    return page(
        request,
        "pilots/pilots.html",
        {
            "items": [pilot_summary(session, p) for p in rows],
            "total": total,
            "page": page_no,
            "pages": max(1, -(-total // PER_PAGE)),
            "chosen": chosen,
        },
    )


def _purpose_options() -> list[tuple[str, str]]:
    loc = current_locale()
    return [(t, p.label(loc)) for t, p in purposes().items()]


def _pilot_form(
    request: Request,
    session: SessionDep,
    actor: Any,
    idea_id: uuid.UUID,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    if not policies.can_create_pilot(actor):
        raise Forbidden(_("Only living-lab coordinators start pilots."))
    idea = ideas.get_idea(session=session, idea_id=idea_id)
    return page(
        request,
        "pilots/pilot_form.html",
        {
            "idea": idea_summary(idea),
            "idea_obj": idea,
            "accepted": idea.state == IdeaState.accepted,
            "purposes": _purpose_options(),
            "values": values or {"title": idea.title, "summary": idea.solution},
            "errors": errors or [],
            "today": utc_today().isoformat(),
        },
        status_code=status_code,
    )


@router.get("/pilots/new", dependencies=[perm.SIGNED_IN])
def pilot_form(
    request: Request, session: SessionDep, actor: UserActorDep, idea: uuid.UUID
) -> Response:
    """Start a pilot from an accepted idea (twin: ``POST /api/v1/pilots``)."""
    return _pilot_form(request, session, actor, idea)


@router.post("/pilots/new", dependencies=[perm.SIGNED_IN])
def pilot_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    raw = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        idea_id = uuid.UUID(raw.get("idea_id", ""))
    except ValueError:
        raise Invalid(_("Choose an accepted idea."), errors=[{"field": "idea_id"}]) from None
    phases_in = [
        {"phase": p, "starts_on": raw.get(f"{p}_starts_on"), "ends_on": raw.get(f"{p}_ends_on")}
        for p in ("exploration", "co_creation", "experimentation", "evaluation")
        if raw.get(f"{p}_starts_on") or raw.get(f"{p}_ends_on")
    ]
    body = {
        "idea_id": str(idea_id),
        "title": raw.get("title") or None,
        "summary": raw.get("summary", ""),
        "purpose": raw.get("purpose") or "ImprovePublicServices",
        "phases": phases_in,
        "recruiting": raw.get("recruiting") == "1",
        "participation_text": raw.get("participation_text", ""),
    }
    try:
        data_in = parse_dict(PilotCreate, body)
        pilot = pilots.create_pilot(session=session, settings=settings, actor=actor, data=data_in)
    except (Invalid, Conflict) as exc:
        errors = exc.extra.get("errors") or [{"field": "", "message": exc.detail}]
        return _pilot_form(request, session, actor, idea_id, raw, errors, exc.status)
    return RedirectResponse(f"/pilots/{pilot.id}", status_code=303)


def pilot_context(session: SessionDep, actor: Any, pilot_id: uuid.UUID) -> dict[str, Any]:
    pilot = pilots.get_pilot(session=session, pilot_id=pilot_id)
    read = pilot_read(session, actor, pilot)
    team = pilots.team_ids(session, pilot.id)
    charts = {
        str(k.id): kpi_chart(
            [(v.period, v.value) for v in k.values],
            title=k.name,
            desc=_("Values of {name} over time, with baseline and target.").format(name=k.name),
            baseline=k.baseline,
            target=k.target,
            baseline_label=_("Baseline"),
            target_label=_("Target"),
        )
        for k in read.kpis
    }
    return {
        "pilot": read,
        "charts": charts,
        "can_manage": policies.can_manage_pilot(actor, team),
        "is_coordinator": policies.is_coordinator(actor),
        "can_request_data": policies.can_request_data(actor, team),
        "can_join": policies.can_join(actor) and read.recruiting and read.state.code == "running",
        "signed_in": actor.is_authenticated,
        "running": read.state.code == "running",
        "today": utc_today().isoformat(),
    }


@router.get("/pilots/{pilot_id}", dependencies=[perm.ANYONE])
def pilot_page(
    pilot_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """A pilot's page (twin: ``/api/v1/pilots/{id}``)."""
    return page(request, "pilots/pilot.html", pilot_context(session, actor, pilot_id))


def pilot_again(
    request: Request,
    session: SessionDep,
    actor: Any,
    pilot_id: uuid.UUID,
    exc: Invalid | Conflict,
    values: dict[str, Any] | None = None,
) -> Response:
    ctx = pilot_context(session, actor, pilot_id)
    ctx["errors"] = exc.extra.get("errors") or [{"field": "", "message": exc.detail}]
    ctx["values"] = values or {}
    return page(request, "pilots/pilot.html", ctx, status_code=exc.status)


FORMS: dict[str, tuple[type[BaseModel], str]] = {
    "members": (MemberAdd, "team"),
    "partners": (PartnerAdd, "team"),
    "phases": (PhaseDates, "phases"),
    "resources": (ResourceCreate, "resources"),
    "updates": (UpdateCreate, "timeline"),
    "settings": (PilotChange, "participate"),
    "result": (ResultCreate, "result"),
}


@router.post("/pilots/{pilot_id}/{action}", dependencies=[perm.SIGNED_IN])
def pilot_action(
    pilot_id: uuid.UUID,
    action: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    """The forms on a pilot's page: team, partners, phases, resources, timeline, settings,
    the final evaluation, and joining or leaving as a participant."""
    anchor = "main"
    try:
        if action == "join":
            participation.join(session=session, settings=settings, actor=actor, pilot_id=pilot_id)
            anchor = "participate"
        elif action == "leave":
            participation.leave(session=session, settings=settings, actor=actor, pilot_id=pilot_id)
            anchor = "participate"
        elif action in FORMS:
            model, anchor = FORMS[action]
            raw = {k: v for k, v in values_of(form).items() if v not in (None, "")}
            if action == "settings":
                raw["recruiting"] = form.get("recruiting") == "1"
            data_in = parse_dict(model, raw)
            _run(action, session, settings, actor, pilot_id, data_in)
        else:
            raise Invalid(_("No such form."), errors=[{"field": "", "message": _("No such form.")}])
    except (Invalid, Conflict) as exc:
        return pilot_again(request, session, actor, pilot_id, exc, values_of(form))
    return RedirectResponse(f"/pilots/{pilot_id}#{anchor}", status_code=303)


def _run(action: str, session: Any, settings: Any, actor: Any, pilot_id: uuid.UUID, d: Any) -> None:
    if action == "members":
        pilots.add_member(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "partners":
        pilots.add_partner(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "phases":
        pilots.set_phase(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "resources":
        pilots.request_resource(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "updates":
        pilots.post_update(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "settings":
        pilots.change_pilot(session=session, actor=actor, pilot_id=pilot_id, data=d)
    elif action == "result":
        results.conclude(session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=d)


@router.post("/pilots/{pilot_id}/resources/{resource_id}/decision", dependencies=[perm.SIGNED_IN])
def resource_decision(
    pilot_id: uuid.UUID,
    resource_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    try:
        data_in = parse_form(ResourceDecision, form)
        pilots.decide_resource(
            session=session, actor=actor, pilot_id=pilot_id, resource_id=resource_id, data=data_in
        )
    except (Invalid, Conflict) as exc:
        return pilot_again(request, session, actor, pilot_id, exc, values_of(form))
    return RedirectResponse(f"/pilots/{pilot_id}#resources", status_code=303)


# --- data requests ------------------------------------------------------------------------


def _data_form(
    request: Request,
    session: SessionDep,
    actor: Any,
    pilot_id: uuid.UUID,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    pilot = pilots.get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_request_data(actor, pilots.team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team asks for data for it."))
    today = utc_today()
    offers = data.offers_for_pilot(session, pilot.purpose)
    purpose = purposes().get(pilot.purpose)
    return page(
        request,
        "pilots/data_request_form.html",
        {
            "pilot": pilot_summary(session, pilot),
            "purpose": purpose.label(current_locale()) if purpose else pilot.purpose,
            "offers": offers,
            "orgs": [],
            "values": values
            or {
                "period_start": today.isoformat(),
                "period_end": today.replace(year=today.year + 1).isoformat()
                if not (today.month == 2 and today.day == 29)
                else today.replace(year=today.year + 1, day=28).isoformat(),
                "description": _("For the pilot “{title}”: ").format(title=pilot.title),
            },
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/pilots/{pilot_id}/data-requests/new", dependencies=[perm.SIGNED_IN])
def data_form(
    pilot_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """Ask for data for the pilot (twin: ``POST /api/v1/pilots/{id}/data-requests``)."""
    return _data_form(request, session, actor, pilot_id)


@router.post("/pilots/{pilot_id}/data-requests/new", dependencies=[perm.SIGNED_IN])
def data_submit(
    pilot_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    try:
        data_in = parse_form(DataRequestCreate, form, lists=("columns",))
        data.request_data(
            session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=data_in
        )
    except (Invalid, Conflict) as exc:
        errors = exc.extra.get("errors") or [{"field": "", "message": exc.detail}]
        values = values_of(form, ("columns",))
        return _data_form(request, session, actor, pilot_id, values, errors, exc.status)
    return RedirectResponse(f"/pilots/{pilot_id}#data", status_code=303)
