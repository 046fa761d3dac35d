"""Privacy pages: My data, data subject requests (citizen and steward), donations.
The twin of ``router_requests.py``: the same services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from datatorg.errors import DatatorgError, NotFound
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep
from datatorg.identity.models import Role
from datatorg.privacy import donations, effects, mydata, present, requests, scopes, vocab
from datatorg.privacy import service as privacy
from datatorg.privacy.models import ScopeKind
from datatorg.privacy.pages import private, sign_in
from datatorg.privacy.router_requests import make_request, read_upload
from datatorg.privacy.schemas import RequestCreate
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
FormStr = Annotated[str, Form()]


def problem_text(exc: DatatorgError) -> str:
    """An error in words for a page: the service's sentence, translated (a list after a
    colon, such as column names, is kept as it is)."""
    head, sep, tail = exc.detail.partition(": ")
    return _(head) + sep + tail if sep else _(exc.detail)


@router.get("/my/data", dependencies=[perm.PERSON_PAGE])
def my_data(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/data")
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    view = mydata.view(session=session, settings=settings, actor=actor, subject=subject)
    return private(render(request, "privacy/mydata.html", {"view": view}))


def _requests_page(
    request: Request,
    session: SessionDep,
    actor: Any,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    field: str = "",
) -> Response:
    """The request form and the person's requests; ``field`` names the input the error is
    about, so the page shows it next to that input too."""
    items = [present.request_read(r) for r in requests.list_own(session=session, actor=actor)]
    types = [(k, vocab.label(vocab.REQUEST_TYPE_LABELS, k)) for k in vocab.REQUEST_TYPE_LABELS]
    datasets = [c for c in _declared(session)]
    return private(
        render(
            request,
            "privacy/requests.html",
            {
                "items": items,
                "types": types,
                "datasets": datasets,
                "errors": errors or [],
                "field_errors": {field: errors} if field in FORM_FIELDS and errors else {},
                "values": values or {},
                "done": request.query_params.get("done"),
            },
            status_code=status_code,
        )
    )


# the request form's inputs (an error about one of them is shown next to it)
FORM_FIELDS = ("type", "dataset", "correction", "message")


def _declared(session: SessionDep) -> list[dict[str, str]]:
    return [
        {"slug": str(c.ref), "title": c.label}
        for c in scopes.scope_choices(session=session, every_basis=True)
        if c.kind == ScopeKind.dataset
    ]


@router.get("/my/requests", dependencies=[perm.PERSON_PAGE])
def my_requests(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/requests")
    return _requests_page(request, session, actor)


@router.post("/my/requests", dependencies=[perm.PERSON_PAGE])
def new_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    type: FormStr = "",
    dataset: FormStr = "",
    correction: FormStr = "",
    message: FormStr = "",
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/requests")
    values = {"type": type, "dataset": dataset, "correction": correction, "message": message}
    try:
        data = RequestCreate.model_validate(
            {
                "type": type,
                "dataset": dataset or None,
                "correction": correction,
                "message": message,
            }
        )
    except ValidationError as exc:
        problem = _("Choose what you ask for, and keep the texts short.")
        loc = exc.errors()[0].get("loc", ()) if exc.errors() else ()
        field = str(loc[0]) if loc else ""
        return _requests_page(request, session, actor, [problem], values, 422, field)
    try:
        req = make_request(session, settings, actor, data)
    except DatatorgError as exc:
        status = 409 if exc.status == 409 else 422
        found = exc.extra.get("errors") or [{}]
        field = str(found[0].get("field") or "")
        return _requests_page(request, session, actor, [problem_text(exc)], values, status, field)
    return RedirectResponse(f"/my/requests/{req.id}?done=1", status_code=303)


@router.get("/my/requests/{request_id}", dependencies=[perm.PERSON_PAGE])
def my_request(
    request_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/requests")
    req = requests.get_own(session=session, actor=actor, request_id=request_id)
    context = {"r": present.request_read(req), "steward": False, "errors": []}
    return private(render(request, "privacy/request.html", context))


@router.post("/my/requests/{request_id}/withdraw", dependencies=[perm.PERSON_PAGE])
def withdraw_request(
    request_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/requests")
    req = requests.get_own(session=session, actor=actor, request_id=request_id)
    requests.act(session=session, settings=settings, actor=actor, req=req, action="withdraw")
    return RedirectResponse(f"/my/requests/{req.id}", status_code=303)


# -- stewards ------------------------------------------------------------------------------


@router.get("/privacy/requests", dependencies=[perm.role(Role.steward, signin_page=True)])
def queue(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    page: int = Query(1, ge=1, le=10_000),
    open_only: bool = Query(True, alias="open"),
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/privacy/requests")
    rows, total = requests.queue(
        session=session, actor=actor, open_only=open_only, limit=20, offset=(page - 1) * 20
    )
    context = {
        "items": [present.request_read(r) for r in rows],
        "page": page,
        "pages": max(1, -(-total // 20)),
        "open_only": open_only,
    }
    return private(render(request, "privacy/queue.html", context))


def _steward_page(
    request: Request,
    session: SessionDep,
    actor: Any,
    request_id: uuid.UUID,
    errors: list[str],
    status_code: int = 200,
) -> Response:
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    context = {
        "r": present.request_read(req),
        "details": req.details,
        "steward": True,
        "errors": errors,
    }
    return private(render(request, "privacy/request.html", context, status_code=status_code))


@router.get(
    "/privacy/requests/{request_id}", dependencies=[perm.role(Role.steward, signin_page=True)]
)
def steward_request(
    request_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/privacy/requests")
    return _steward_page(request, session, actor, request_id, [])


@router.post(
    "/privacy/requests/{request_id}/actions",
    dependencies=[perm.role(Role.steward, signin_page=True)],
)
def steward_action(
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    action: FormStr = "",
    reason: FormStr = "",
    method: FormStr = "",
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/privacy/requests")
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    try:
        requests.act(
            session=session,
            settings=settings,
            actor=actor,
            req=req,
            action=action[:20],
            reason=reason[:2000],
            method=method[:40],
            effects=effects.effects(session=session, settings=settings),
        )
    except DatatorgError as exc:
        if isinstance(exc, NotFound):
            raise
        return _steward_page(request, session, actor, request_id, [problem_text(exc)], 422)
    return RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)


@router.post(
    "/privacy/requests/{request_id}/lift", dependencies=[perm.role(Role.steward, signin_page=True)]
)
def lift(request_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    if not actor.is_authenticated:
        return sign_in("/privacy/requests")
    req = requests.get_for_steward(session=session, actor=actor, request_id=request_id)
    effects.lift_restriction(session=session, actor=actor, req=req)
    return RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)


# -- donations -----------------------------------------------------------------------------


def _donations_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Any,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    items = mydata.view(session=session, settings=settings, actor=actor, subject=subject)
    # a kind by its name; the columns its file needs are named as the file must name them
    kinds = [(k, _(v.label), [c for c, _t in v.columns]) for k, v in donations.KINDS.items()]
    context = {
        "items": items["donations"],
        "kinds": kinds,
        "notices": [present.notice_read(n) for n in privacy.notices(session=session)],
        "errors": errors or [],
        "done": request.query_params.get("done"),
    }
    return private(render(request, "privacy/donations.html", context, status_code=status_code))


@router.get("/my/donations", dependencies=[perm.PERSON_PAGE])
def my_donations(
    request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/donations")
    return _donations_page(request, session, settings, actor)


@router.post("/my/donations", dependencies=[perm.PERSON])
async def donate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=20)] = "",
    purposes: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/donations")

    def work(raw: bytes) -> Response:
        subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
        try:
            donations.donate(
                session=session,
                settings=settings,
                subject=subject,
                kind_name=kind,
                raw=raw,
                filename=file.filename or "upload",
                purposes=purposes[:20],
            )
        except DatatorgError as exc:  # refused before anything was stored
            where = exc.extra.get("errors", [{}])[0] if exc.extra.get("errors") else {}
            text = problem_text(exc)
            if where.get("row"):
                text += " — " + _("row") + f" {where['row']}"
            if where.get("column"):
                text += ", " + _("column") + f" {where['column']}"
            return _donations_page(request, session, settings, actor, [text], 422)
        return RedirectResponse("/my/donations?done=given", status_code=303)

    try:
        raw = await read_upload(request, file)
    except DatatorgError as exc:
        return await run_in_threadpool(
            _donations_page, request, session, settings, actor, [problem_text(exc)], 413
        )
    return await run_in_threadpool(work, raw)


@router.post("/my/donations/{donation_id}/withdraw", dependencies=[perm.PERSON_PAGE])
def take_back(
    donation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    erase: FormStr = "0",
) -> Response:
    if not actor.is_authenticated:
        return sign_in("/my/donations")
    subject = privacy.subject_for_actor(session=session, settings=settings, actor=actor)
    donations.take_back(
        session=session,
        settings=settings,
        subject=subject,
        donation_id=donation_id,
        erase=erase == "1",
    )
    return RedirectResponse("/my/donations?done=back", status_code=303)
