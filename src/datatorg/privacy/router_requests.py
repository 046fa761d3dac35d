"""Privacy JSON API for citizens and stewards: My data, data subject requests (with the
access export), donations, and the stewards' queue. The twin of ``pages_requests.py``."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Query, Request, UploadFile
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from datatorg.errors import Conflict, Invalid, PayloadTooLarge
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import UserActorDep
from datatorg.identity.models import Role
from datatorg.privacy import deps, donations, effects, export, mydata, present, requests
from datatorg.privacy import service as privacy
from datatorg.privacy.models import RequestState, RequestType, SubjectRequest
from datatorg.privacy.schemas import RequestAction, RequestCreate, RequestPage, RequestRead
from datatorg.privacy.vocab import N_
from datatorg.settings import Settings
from datatorg.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/me/data", dependencies=[perm.PERSON])
def my_data(session: SessionDep, settings: SettingsDep, actor: UserActorDep) -> dict[str, Any]:
    """Everything held about you: identities, datasets with rows about you (count and
    excerpt), consents, recipients, access events, donations and requests."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    view = mydata.view(session=session, settings=settings, actor=actor, subject=subject)
    return cast(dict[str, Any], mydata.jsonable(view))


def make_request(
    session: SessionDep, settings: Settings, actor: Actor, data: RequestCreate
) -> SubjectRequest:
    """Check and receive a request (shared by the API and the form)."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    details: dict[str, Any] = {}
    if data.type in (RequestType.rectification, RequestType.objection):
        if not data.dataset:
            raise Invalid(
                N_("Name the dataset"), errors=[{"field": "dataset", "message": "required"}]
            )
        details["dataset"] = str(privacy.get_dataset(session=session, ref=data.dataset).id)
    if data.type == RequestType.rectification:
        if not data.correction.strip():
            raise Invalid(
                N_("Say what is wrong and what is right"),
                errors=[{"field": "correction", "message": "required"}],
            )
        details["correction"] = data.correction.strip()
    if data.message.strip():
        details["message"] = data.message.strip()
    return requests.create(
        session=session,
        settings=settings,
        actor=actor,
        subject=subject,
        type=data.type,
        details=details,
    )


@router.get("/me/requests", dependencies=[perm.PERSON])
def my_requests(session: SessionDep, actor: UserActorDep) -> RequestPage:
    """Your data subject requests, newest first."""
    own = requests.list_own(session=session, actor=actor)
    return RequestPage(items=[present.request_read(r) for r in own], total=len(own))


@router.post("/me/requests", status_code=201, dependencies=[perm.PERSON])
def post_request(
    data: RequestCreate, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> RequestRead:
    """Make a request: access, rectification, erasure, restriction or objection. It is due
    one month after receipt."""
    return present.request_read(make_request(session, settings, actor, data))


@router.get("/me/requests/{request_id}", dependencies=[perm.own(deps.subject_request, person=True)])
def my_request(request_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> RequestRead:
    return present.request_read(
        requests.get_own(session=session, actor=actor, request_id=request_id)
    )


@router.post(
    "/me/requests/{request_id}/withdraw",
    dependencies=[perm.own(deps.subject_request, person=True)],
)
def withdraw_request(
    request_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> RequestRead:
    req = requests.get_own(session=session, actor=actor, request_id=request_id)
    requests.act(session=session, settings=settings, actor=actor, req=req, action="withdraw")
    return present.request_read(req)


def export_file(
    session: SessionDep, settings: Settings, actor: Actor, request_id: uuid.UUID
) -> FileResponse:
    """The ZIP of a completed access request (built now, streamed, then deleted)."""
    req = requests.get_own(session=session, actor=actor, request_id=request_id)
    if req.type != RequestType.access or req.state != RequestState.completed:
        raise Conflict(N_("The copy is ready once the access request is completed"))
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    fd, name = tempfile.mkstemp(prefix="datatorg-export-", suffix=".zip")
    os.close(fd)
    try:
        export.build(
            session=session, settings=settings, actor=actor, subject=subject, target=Path(name)
        )
    except BaseException:
        os.unlink(name)
        raise
    return FileResponse(
        name,
        media_type="application/zip",
        filename="mine-data.zip",
        headers={"cache-control": "no-store"},
        background=BackgroundTask(os.unlink, name),
    )


@router.get(
    "/me/requests/{request_id}/export.zip",
    dependencies=[perm.own(deps.subject_request, person=True)],
)
def request_export(
    request_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> FileResponse:
    """Your copy (ZIP: JSON described by a JSON Schema, CSV, signed consent receipts)."""
    return export_file(session, settings, actor, request_id)


# -- donations -----------------------------------------------------------------------------


async def read_upload(request: Request, file: UploadFile) -> bytes:
    """The uploaded file, at most ``donations.MAX_BYTES`` (413 beyond)."""
    raw = await file.read(donations.MAX_BYTES + 1)
    if len(raw) > donations.MAX_BYTES:
        raise PayloadTooLarge(N_("A donation can be at most 5 MB"))
    return raw


@router.get("/me/donations", dependencies=[perm.PERSON])
def my_donations(
    session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> list[dict[str, Any]]:
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    view = mydata.view(session=session, settings=settings, actor=actor, subject=subject)
    return cast(list[dict[str, Any]], mydata.jsonable(view["donations"]))


@router.post("/me/donations", status_code=201, dependencies=[perm.PERSON])
async def donate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=20)],
    purposes: Annotated[list[str], Form()],
) -> dict[str, Any]:
    """Give your own data (multipart: ``file`` CSV or JSON, ``kind`` meter|trips,
    ``purposes`` one or more DPV purposes)."""
    from starlette.concurrency import run_in_threadpool

    raw = await read_upload(request, file)

    def work() -> dict[str, Any]:
        subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
        d = donations.donate(
            session=session,
            settings=settings,
            subject=subject,
            kind_name=kind,
            raw=raw,
            filename=file.filename or "upload",
            purposes=purposes[:20],
        )
        return {"id": str(d.id), "rows": d.rows, "purposes": d.purposes}

    return await run_in_threadpool(work)


@router.post(
    "/me/donations/{donation_id}/withdraw", dependencies=[perm.own(deps.donation, person=True)]
)
def take_back(
    donation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    erase: bool = Query(False),
) -> dict[str, Any]:
    """Take a donation back: consents withdrawn (the next query no longer returns it); with
    ``erase=true`` its rows leave every version and file too."""
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    return donations.take_back(
        session=session, settings=settings, subject=subject, donation_id=donation_id, erase=erase
    )


# -- stewards ------------------------------------------------------------------------------


@router.get("/privacy/requests", dependencies=[perm.role(Role.steward)])
def steward_queue(
    session: SessionDep,
    actor: UserActorDep,
    page: int = Query(1, ge=1, le=10_000),
    open_only: bool = Query(True, alias="open"),
) -> RequestPage:
    """The stewards' queue of data subject requests, the most urgent first (20 a page)."""
    rows, total = requests.queue(
        session=session, actor=actor, open_only=open_only, limit=20, offset=(page - 1) * 20
    )
    return RequestPage(items=[present.request_read(r) for r in rows], total=total)


@router.get("/privacy/requests/{request_id}", dependencies=[perm.role(Role.steward)])
def steward_request(
    request_id: uuid.UUID, session: SessionDep, actor: UserActorDep
) -> dict[str, Any]:
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    return {**present.request_read(req).model_dump(mode="json"), "details": req.details}


@router.post("/privacy/requests/{request_id}/actions", dependencies=[perm.role(Role.steward)])
def steward_action(
    request_id: uuid.UUID,
    data: RequestAction,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> RequestRead:
    """verify (with ``method``), extend (with ``reason``), complete, reject (with ``reason``)."""
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    requests.act(
        session=session,
        settings=settings,
        actor=actor,
        req=req,
        action=data.action,
        reason=data.reason,
        method=data.method,
        effects=effects.effects(session=session, settings=settings),
    )
    return present.request_read(req)


@router.post("/privacy/requests/{request_id}/lift", dependencies=[perm.role(Role.steward)])
def lift(request_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> RequestRead:
    """Lift a completed restriction."""
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    effects.lift_restriction(session=session, actor=actor, req=req)
    return present.request_read(req)
