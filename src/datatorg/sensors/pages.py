"""Live sensor pages and their JSON twins: every stream, a stream's devices on a map of
Halden with their latest values, and one device's last day as charts.

The pages work without JavaScript; ``static/sensors.js`` (no inline script: the CSP forbids
it) polls the JSON twin of a stream's page and updates its values and map as readings
arrive.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from datatorg.identity.deps import ActorDep
from datatorg.sensors import dashboard, labels, svg
from datatorg.sensors import deps as access_deps
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(tags=["sensor pages"])
api = APIRouter(prefix="/api/v1/sensors/dashboard", tags=["sensors"])


@router.get("/sensors", include_in_schema=False, dependencies=[access_deps.READ_ANY])
def overview_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    streams = dashboard.overview(session=session, actor=actor, locale=current_locale())
    return render(request, "sensors/overview.html", {"streams": streams})


@api.get("", dependencies=[access_deps.READ_ANY])
def overview_json(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """Every sensor stream the caller may see, with its device count and newest reading."""
    return {"streams": dashboard.overview(session=session, actor=actor, locale=current_locale())}


@router.get("/sensors/{ref}", include_in_schema=False, dependencies=[access_deps.READ_STREAM])
def stream_page(
    ref: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    board = dashboard.live(
        session=session, settings=settings, actor=actor, ref=ref, locale=current_locale()
    )
    title = _("Devices of %(title)s on a map of Halden") % {"title": board["title"]}
    return render(
        request,
        "sensors/stream.html",
        {
            "board": board,
            "map": svg.halden_map(board["devices"], title, labels.legend(board["type"])),
        },
    )


@api.get("/{ref}", dependencies=[access_deps.READ_STREAM])
async def stream_json(
    ref: str, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> JSONResponse:
    """A stream's devices with their latest values (the live page's twin, polled by it)."""
    locale = current_locale()
    board = await run_in_threadpool(
        lambda: dashboard.live(
            session=session, settings=settings, actor=actor, ref=ref, locale=locale
        )
    )
    return JSONResponse(board)


@router.get(
    "/sensors/{ref}/{entity_id}", include_in_schema=False, dependencies=[access_deps.READ_STREAM]
)
def device_page(
    ref: str,
    entity_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> Response:
    data = dashboard.entity(
        session=session,
        settings=settings,
        actor=actor,
        ref=ref,
        entity_id=entity_id,
        locale=current_locale(),
    )
    charts = []
    for i, a in enumerate(data["attributes"]):
        points = data["series"].get(a["name"])
        if points is None:
            continue
        title = _("%(attribute)s the last 24 hours") % {"attribute": a["label"]}
        code = data["units"].get(a["name"], "")
        charts.append(
            {
                "label": a["label"],
                "unit": a["unit"],
                # the table's values as the device's line writes them (a share as percent)
                "points": [(t, dashboard.shown(v, code)) for t, v in points],
                "svg": svg.line_chart(points, title, f"c{i}", a["unit"], percent=code == "P1"),
            }
        )
    return render(request, "sensors/device.html", {"data": data, "charts": charts})


@api.get("/{ref}/{entity_id}", dependencies=[access_deps.READ_STREAM])
def device_json(
    ref: str, entity_id: str, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> dict[str, Any]:
    """One device: latest values and the last 24 hours of each numeric attribute."""
    return dashboard.entity(
        session=session,
        settings=settings,
        actor=actor,
        ref=ref,
        entity_id=entity_id,
        locale=current_locale(),
    )
