"""The living lab's pages, part four: KPIs (form, chart with its table, values, a run now)
and attaching reports (twins under ``/api/v1/pilots/{id}/kpis`` and ``…/reports``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.errors import Conflict, Forbidden, Invalid, PayloadTooLarge
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.pilots import kpis, pilots, policies, results
from datatorg.pilots.charts import kpi_chart
from datatorg.pilots.forms import FormDep, page, parse_form, values_of
from datatorg.pilots.pages_pilots import pilot_again
from datatorg.pilots.pilot_present import pilot_summary
from datatorg.pilots.pilot_schemas import KpiCreate, MeasurementCreate
from datatorg.pilots.upload import check_form_csrf, receive
from datatorg.web import csrf
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])


async def csrf_before_upload(request: Request) -> None:
    """The CSRF check of the upload form, before anything else (as ``verify_csrf`` is for
    the other forms): a multipart body is read later, with its size cap, so here the cookie
    must be well signed and the field is compared once the body is read
    (``upload.check_form_csrf``); any other body is checked in full now."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
        secret = request.app.state.settings.secret_key.get_secret_value()
        if not cookie or not csrf.is_well_signed(secret, cookie):
            raise Forbidden(
                _("The form has expired or did not come from this site. Reload and retry.")
            )
    else:
        await verify_csrf(request)


# The report upload reads its own body (with a size cap); CSRF is checked first, as above.
uploads = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_before_upload)])


def _kpi_form(
    request: Request,
    session: SessionDep,
    actor: Any,
    pilot_id: uuid.UUID,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    pilot = pilots.get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_manage_pilot(actor, pilots.team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team and the coordinators change the pilot."))
    return page(
        request,
        "pilots/kpi_form.html",
        {
            "pilot": pilot_summary(session, pilot),
            "values": values or {"source": "manual", "direction": "increase"},
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/pilots/{pilot_id}/kpis/new", dependencies=[perm.SIGNED_IN])
def kpi_form(
    pilot_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """Add a KPI (twin: ``POST /api/v1/pilots/{id}/kpis``)."""
    return _kpi_form(request, session, actor, pilot_id)


@router.post("/pilots/{pilot_id}/kpis/new", dependencies=[perm.SIGNED_IN])
def kpi_submit(
    pilot_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    try:
        data = parse_form(KpiCreate, form)
        kpi = kpis.create_kpi(
            session=session, settings=settings, actor=actor, pilot_id=pilot_id, data=data
        )
    except Invalid as exc:
        return _kpi_form(
            request, session, actor, pilot_id, values_of(form), exc.extra["errors"], 422
        )
    return RedirectResponse(f"/pilots/{pilot_id}/kpis/{kpi.id}", status_code=303)


def _kpi_page(
    request: Request,
    session: SessionDep,
    actor: Any,
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    errors: list[dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    pilot = pilots.get_pilot(session=session, pilot_id=pilot_id)
    kpi = kpis.kpi_read(session, kpis.get_kpi(session=session, pilot_id=pilot_id, kpi_id=kpi_id))
    chart = kpi_chart(
        [(v.period, v.value) for v in kpi.values],
        title=kpi.name,
        desc=_("Values of {name} over time, with baseline and target.").format(name=kpi.name),
        baseline=kpi.baseline,
        target=kpi.target,
        baseline_label=_("Baseline"),
        target_label=_("Target"),
    )
    return page(
        request,
        "pilots/kpi.html",
        {
            "pilot": pilot_summary(session, pilot),
            "kpi": kpi,
            "chart": chart,
            "can_manage": policies.can_manage_pilot(actor, pilots.team_ids(session, pilot.id)),
            "errors": errors or [],
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/pilots/{pilot_id}/kpis/{kpi_id}", dependencies=[perm.ANYONE])
def kpi_page(
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    """A KPI: its chart, its values as a table (twin: ``/api/v1/pilots/{id}/kpis/{kid}``)."""
    return _kpi_page(request, session, actor, pilot_id, kpi_id)


@router.post("/pilots/{pilot_id}/kpis/{kpi_id}/values", dependencies=[perm.SIGNED_IN])
def kpi_value(
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    try:
        data = parse_form(MeasurementCreate, form)
        kpis.add_value(session=session, actor=actor, pilot_id=pilot_id, kpi_id=kpi_id, data=data)
    except Invalid as exc:
        return _kpi_page(
            request, session, actor, pilot_id, kpi_id, exc.extra["errors"], values_of(form), 422
        )
    return RedirectResponse(f"/pilots/{pilot_id}/kpis/{kpi_id}#values", status_code=303)


@router.post("/pilots/{pilot_id}/kpis/{kpi_id}/compute", dependencies=[perm.SIGNED_IN])
def kpi_compute(
    pilot_id: uuid.UUID,
    kpi_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    """Run the KPI's query through the gate now."""
    kpis.run_now(session=session, settings=settings, actor=actor, pilot_id=pilot_id, kpi_id=kpi_id)
    return RedirectResponse(f"/pilots/{pilot_id}/kpis/{kpi_id}?ran=1", status_code=303)


@uploads.post("/pilots/{pilot_id}/reports", dependencies=[perm.SIGNED_IN])
async def report_upload(
    pilot_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    """Attach a report from the pilot page's form."""
    try:
        got = await receive(request, settings.pilot_report_max_bytes)
    except PayloadTooLarge as exc:
        error: Invalid | Conflict = Invalid(
            exc.detail, errors=[{"field": "file", "message": exc.detail}]
        )
        return await run_in_threadpool(pilot_again, request, session, actor, pilot_id, error)
    check_form_csrf(request, got)

    def work() -> Response:
        try:
            if not got.has_file:
                raise Invalid(
                    _("Choose a file to attach."),
                    errors=[{"field": "file", "message": _("Choose a file to attach.")}],
                )
            results.add_report(
                session=session,
                settings=settings,
                actor=actor,
                pilot_id=pilot_id,
                title=got.fields.get("title", ""),
                filename=got.filename,
                content=got.content,
            )
        except Invalid as exc:
            return pilot_again(request, session, actor, pilot_id, exc, got.fields)
        return RedirectResponse(f"/pilots/{pilot_id}#result", status_code=303)

    return await run_in_threadpool(work)
