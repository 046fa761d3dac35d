"""The living lab's JSON API, part two: pilots, data requests, participants, KPIs, results,
reports and the portfolio."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from datatorg.errors import Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.market.schemas import AccessRequestRead
from datatorg.pilots import data, kpis, participation, pilots, portfolio, results
from datatorg.pilots.models import Domain, PilotState, SubmitterKind
from datatorg.pilots.pilot_present import (
    lab_overview,
    pilot_read,
    pilot_summary,
    timeline_entries,
)
from datatorg.pilots.pilot_schemas import (
    DataRequestCreate,
    KpiCreate,
    KpiRead,
    LabOverview,
    MeasurementCreate,
    MeasurementRead,
    MemberAdd,
    PartnerAdd,
    PhaseDates,
    PilotChange,
    PilotCreate,
    PilotPage,
    PilotRead,
    ResourceCreate,
    ResourceDecision,
    ResultCreate,
    UpdateCreate,
)
from datatorg.pilots.upload import receive
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(prefix="/api/v1", tags=["living lab"])

Page = Annotated[int, Query(ge=1, le=10_000)]
PerPage = Annotated[int, Query(ge=1, le=100)]
Words = Annotated[str, Query(max_length=100)]
Status = Annotated[list[str] | None, Query(max_length=8)]


@router.get("/lab", dependencies=[perm.ANYONE])
def get_lab(session: SessionDep) -> LabOverview:
    """The living lab's front page: open calls, the newest ideas, running pilots."""
    return lab_overview(session)


@router.get("/pilots", dependencies=[perm.ANYONE])
def get_pilots(
    session: SessionDep,
    state: Annotated[list[PilotState] | None, Query(max_length=2)] = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    q: Words = "",
    sort: pilots.PilotSort = "newest",
    page: Page = 1,
    per_page: PerPage = 20,
) -> PilotPage:
    """Pilots, filtered by state and by their idea's domain, submitter kind and goal."""
    rows, total = pilots.list_pilots(
        session=session,
        states=state,
        domains=domain,
        kinds=submitter_kind,
        sdg=sdg,
        q=q,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return PilotPage(
        items=[pilot_summary(session, p) for p in rows], total=total, page=page, per_page=per_page
    )


@router.post("/pilots", status_code=201, dependencies=[perm.SIGNED_IN])
def post_pilot(
    data_in: PilotCreate, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> PilotRead:
    """Make a pilot of an accepted idea (coordinators)."""
    pilot = pilots.create_pilot(session=session, settings=settings, actor=actor, data=data_in)
    return pilot_read(session, actor, pilot)


@router.get("/pilots/{pilot_id}", dependencies=[perm.ANYONE])
def get_pilot(pilot_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> PilotRead:
    return pilot_read(session, actor, pilots.get_pilot(session=session, pilot_id=pilot_id))


@router.patch("/pilots/{pilot_id}", dependencies=[perm.SIGNED_IN])
def patch_pilot(
    pilot_id: uuid.UUID, data_in: PilotChange, session: SessionDep, actor: UserActorDep
) -> PilotRead:
    pilot = pilots.change_pilot(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return pilot_read(session, actor, pilot)


@router.post("/pilots/{pilot_id}/members", dependencies=[perm.SIGNED_IN])
def post_member(
    pilot_id: uuid.UUID, data_in: MemberAdd, session: SessionDep, actor: UserActorDep
) -> PilotRead:
    """Add someone to the team by their account's e-mail address."""
    pilot = pilots.add_member(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return pilot_read(session, actor, pilot)


@router.delete("/pilots/{pilot_id}/members/{user_id}", dependencies=[perm.SIGNED_IN])
def delete_member(
    pilot_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, actor: UserActorDep
) -> PilotRead:
    pilot = pilots.remove_member(session=session, actor=actor, pilot_id=pilot_id, user_id=user_id)
    return pilot_read(session, actor, pilot)


@router.post("/pilots/{pilot_id}/partners", dependencies=[perm.SIGNED_IN])
def post_partner(
    pilot_id: uuid.UUID, data_in: PartnerAdd, session: SessionDep, actor: UserActorDep
) -> PilotRead:
    pilot = pilots.add_partner(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return pilot_read(session, actor, pilot)


@router.put("/pilots/{pilot_id}/phases", dependencies=[perm.SIGNED_IN])
def put_phase(
    pilot_id: uuid.UUID, data_in: PhaseDates, session: SessionDep, actor: UserActorDep
) -> PilotRead:
    """Set the dates of one phase (exploration, co-creation, experimentation, evaluation)."""
    pilot = pilots.set_phase(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return pilot_read(session, actor, pilot)


@router.post("/pilots/{pilot_id}/resources", status_code=201, dependencies=[perm.SIGNED_IN])
def post_resource(
    pilot_id: uuid.UUID, data_in: ResourceCreate, session: SessionDep, actor: UserActorDep
) -> dict[str, Any]:
    res = pilots.request_resource(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return {"id": str(res.id), "status": res.status.value}


@router.post("/pilots/{pilot_id}/resources/{resource_id}/decision", dependencies=[perm.SIGNED_IN])
def post_resource_decision(
    pilot_id: uuid.UUID,
    resource_id: uuid.UUID,
    data_in: ResourceDecision,
    session: SessionDep,
    actor: UserActorDep,
) -> dict[str, Any]:
    """Grant or decline a resource (coordinators)."""
    res = pilots.decide_resource(
        session=session, actor=actor, pilot_id=pilot_id, resource_id=resource_id, data=data_in
    )
    return {"id": str(res.id), "status": res.status.value}


@router.get("/pilots/{pilot_id}/offers", dependencies=[perm.ANYONE])
def get_pilot_offers(pilot_id: uuid.UUID, session: SessionDep) -> list[dict[str, Any]]:
    """Offers the pilot may ask under: those that allow its purpose."""
    pilot = pilots.get_pilot(session=session, pilot_id=pilot_id)
    return [
        {"offer_id": str(o.id), "title": o.title, "dataset": d.slug, "columns": o.columns}
        for o, d in data.offers_for_pilot(session, pilot.purpose)
    ]


@router.post("/pilots/{pilot_id}/data-requests", status_code=201, dependencies=[perm.SIGNED_IN])
def post_data_request(
    pilot_id: uuid.UUID,
    data_in: DataRequestCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> AccessRequestRead:
    """Ask for data for the pilot through the marketplace (a team member)."""
    req = data.request_data(
        session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=data_in
    )
    return AccessRequestRead.model_validate(req)


@router.get("/pilots/{pilot_id}/data-requests", dependencies=[perm.ANYONE])
def get_data_requests(
    pilot_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> list[dict[str, Any]]:
    """The pilot's data requests and the agreements made from them."""
    pilots.get_pilot(session=session, pilot_id=pilot_id)
    return data.data_requests(session, actor, pilot_id)


@router.post("/pilots/{pilot_id}/updates", status_code=201, dependencies=[perm.SIGNED_IN])
def post_update(
    pilot_id: uuid.UUID, data_in: UpdateCreate, session: SessionDep, actor: UserActorDep
) -> dict[str, str]:
    entry = pilots.post_update(session=session, actor=actor, pilot_id=pilot_id, data=data_in)
    return {"id": str(entry.id)}


@router.get("/pilots/{pilot_id}/timeline", dependencies=[perm.ANYONE])
def get_timeline(pilot_id: uuid.UUID, session: SessionDep) -> list[dict[str, Any]]:
    return timeline_entries(session, pilots.get_pilot(session=session, pilot_id=pilot_id))


@router.post("/pilots/{pilot_id}/participation", status_code=201, dependencies=[perm.PERSON])
def post_participation(
    pilot_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> dict[str, Any]:
    """Take part in the pilot, consenting to its purpose (a consent scoped to this pilot)."""
    p = participation.join(session=session, settings=settings, actor=actor, pilot_id=pilot_id)
    return {"pilot_id": str(p.pilot_id), "joined_at": p.joined_at.isoformat(), "taking_part": True}


@router.delete("/pilots/{pilot_id}/participation", dependencies=[perm.PERSON])
def delete_participation(
    pilot_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> dict[str, Any]:
    """Stop taking part: the consent is withdrawn at once."""
    p = participation.leave(session=session, settings=settings, actor=actor, pilot_id=pilot_id)
    return {"pilot_id": str(p.pilot_id), "taking_part": False}


# --- KPIs ---------------------------------------------------------------------------------


@router.get("/pilots/{pilot_id}/kpis", dependencies=[perm.ANYONE])
def get_kpis(pilot_id: uuid.UUID, session: SessionDep) -> list[KpiRead]:
    pilots.get_pilot(session=session, pilot_id=pilot_id)
    return [kpis.kpi_read(session, k) for k in kpis.list_kpis(session, pilot_id)]


@router.post("/pilots/{pilot_id}/kpis", status_code=201, dependencies=[perm.SIGNED_IN])
def post_kpi(
    pilot_id: uuid.UUID,
    data_in: KpiCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> KpiRead:
    """Add a KPI; one computed from a dataset is run through the gate at once."""
    kpi = kpis.create_kpi(
        session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=data_in
    )
    return kpis.kpi_read(session, kpi)


@router.get("/pilots/{pilot_id}/kpis/{kpi_id}", dependencies=[perm.ANYONE])
def get_kpi(pilot_id: uuid.UUID, kpi_id: uuid.UUID, session: SessionDep) -> KpiRead:
    return kpis.kpi_read(session, kpis.get_kpi(session=session, pilot_id=pilot_id, kpi_id=kpi_id))


@router.post(
    "/pilots/{pilot_id}/kpis/{kpi_id}/values", status_code=201, dependencies=[perm.SIGNED_IN]
)
def post_value(
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    data_in: MeasurementCreate,
    session: SessionDep,
    actor: UserActorDep,
) -> MeasurementRead:
    """Enter a value by hand (KPIs entered by hand)."""
    m = kpis.add_value(session=session, actor=actor, pilot_id=pilot_id, kpi_id=kpi_id, data=data_in)
    return MeasurementRead(period=m.period, value=m.value, computed=m.computed, note=m.note)


@router.post("/pilots/{pilot_id}/kpis/{kpi_id}/compute", dependencies=[perm.SIGNED_IN])
def post_compute(
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> KpiRead:
    """Re-run a dataset KPI through the gate now."""
    kpi = kpis.run_now(
        session=session, settings=settings, actor=actor, pilot_id=pilot_id, kpi_id=kpi_id
    )
    return kpis.kpi_read(session, kpi)


# --- results and reports ------------------------------------------------------------------


@router.post("/pilots/{pilot_id}/result", status_code=201, dependencies=[perm.SIGNED_IN])
def post_result(
    pilot_id: uuid.UUID,
    data_in: ResultCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> PilotRead:
    """The final evaluation: scale up, iterate or stop, with lessons (coordinators)."""
    results.conclude(
        session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=data_in
    )
    return pilot_read(session, actor, pilots.get_pilot(session=session, pilot_id=pilot_id))


@router.get("/pilots/{pilot_id}/reports", dependencies=[perm.ANYONE])
def get_reports(pilot_id: uuid.UUID, session: SessionDep) -> list[dict[str, Any]]:
    pilots.get_pilot(session=session, pilot_id=pilot_id)
    return [
        {
            "id": str(r.id),
            "title": r.title,
            "filename": r.filename,
            "media_type": r.media_type,
            "size": r.size,
            "sha256": r.sha256,
            "url": f"/api/v1/pilots/{pilot_id}/reports/{r.id}",
        }
        for r in results.reports(session, pilot_id)
    ]


@router.post("/pilots/{pilot_id}/reports", status_code=201, dependencies=[perm.SIGNED_IN])
async def post_report(
    pilot_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> dict[str, Any]:
    """Attach a report (multipart: ``file`` and ``title``); PDF, ODT, DOCX, XLSX, CSV, TXT,
    PNG or JPEG, at most ``DATATORG_PILOT_REPORT_MAX_BYTES``."""
    got = await receive(request, settings.pilot_report_max_bytes)
    if not got.has_file:
        raise Invalid(
            _("Choose a file to attach."), errors=[{"field": "file", "message": _("no file")}]
        )

    def work() -> dict[str, Any]:
        r = results.add_report(
            session=session,
            settings=settings,
            actor=actor,
            pilot_id=pilot_id,
            title=got.fields.get("title", ""),
            filename=got.filename,
            content=got.content,
        )
        return {"id": str(r.id), "filename": r.filename, "size": r.size, "sha256": r.sha256}

    return await run_in_threadpool(work)


@router.get("/pilots/{pilot_id}/reports/{report_id}", dependencies=[perm.ANYONE])
def get_report(pilot_id: uuid.UUID, report_id: uuid.UUID, session: SessionDep) -> Response:
    """The report file itself (always as an attachment)."""
    r = results.get_report(session=session, pilot_id=pilot_id, report_id=report_id)
    return Response(
        r.content,
        media_type=r.media_type,
        headers={"Content-Disposition": results.content_disposition(r.filename)},
    )


# --- portfolio ----------------------------------------------------------------------------


@router.get("/portfolio", dependencies=[perm.ANYONE])
def get_portfolio(
    session: SessionDep,
    status: Status = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    page: Page = 1,
    per_page: PerPage = 20,
) -> dict[str, Any]:
    """Ideas and pilots together, filterable by status, domain, goal and submitter kind."""
    statuses = portfolio.check_statuses(status)
    found = portfolio.items(
        session=session, statuses=statuses, domains=domain, kinds=submitter_kind, sdg=sdg
    )
    return {
        "items": [i.as_dict() for i in found[(page - 1) * per_page : page * per_page]],
        "total": len(found),
        "page": page,
        "per_page": per_page,
        "status_counts": portfolio.status_counts(
            session=session, domains=domain, kinds=submitter_kind, sdg=sdg
        ),
    }
