"""The living lab's pages, part one: the lab's front page, calls, ideas, support, comments.

Screening, evaluation and the desk are in ``pages_review``; pilots in ``pages_pilots``. Each
page calls the same services as its JSON twin (named on the page). Forms carry a CSRF
token, work without JavaScript, and answer invalid input with the form again (422).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from datatorg.catalog import service as catalog
from datatorg.errors import Conflict, Forbidden, Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.pilots import calls, comments, ideas, policies, review
from datatorg.pilots.forms import FormDep, page, parse_dict, parse_form, values_of
from datatorg.pilots.models import Domain, IdeaState, SubmitterKind
from datatorg.pilots.pilot_present import lab_overview
from datatorg.pilots.present import dataset_title, idea_read, idea_summary
from datatorg.pilots.schemas import CallCreate, CommentCreate, IdeaCreate, Moderation
from datatorg.pilots.vocab import CRITERIA, DEFAULT_WEIGHTS
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])

PageNo = Annotated[int, Query(ge=1, le=10_000, alias="page")]
PER_PAGE = 20


@router.get("/lab", dependencies=[perm.ANYONE])
def lab(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The living lab: open calls, the newest ideas, running pilots."""
    return page(
        request,
        "pilots/lab.html",
        {**dict(lab_overview(session)), "is_coordinator": policies.is_coordinator(actor)},
    )


# --- calls --------------------------------------------------------------------------------


@router.get("/calls", dependencies=[perm.ANYONE])
def call_list(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    state: calls.CallState | None = None,
    page_no: PageNo = 1,
) -> Response:
    rows, total = calls.list_calls(session=session, state=state, page=page_no, per_page=PER_PAGE)
    counts = calls.idea_counts(session, [c.id for c in rows])
    return page(
        request,
        "pilots/calls.html",
        {
            "items": [calls.call_read(c, counts.get(c.id, 0)) for c in rows],
            "total": total,
            "page": page_no,
            "pages": max(1, -(-total // PER_PAGE)),
            "state": state or "",
            "can_open": policies.can_open_call(actor),
        },
    )


@router.get("/calls/new", dependencies=[perm.role(Role.coordinator)])
def call_form(request: Request, actor: UserActorDep) -> Response:
    if not policies.can_open_call(actor):
        raise Forbidden(_("Only living-lab coordinators open calls for ideas."))
    defaults = {f"weight_{c}": str(w) for c, w in DEFAULT_WEIGHTS.items()}
    return page(
        request, "pilots/call_form.html", {"today": calls.today().isoformat(), "values": defaults}
    )


@router.post("/calls/new", dependencies=[perm.role(Role.coordinator)])
def call_submit(
    request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    body: dict[str, Any] = {
        k: v for k, v in values_of(form, ("domains",)).items() if v not in (None, "", [])
    }
    weights = {c: body.pop(f"weight_{c}") for c in CRITERIA if f"weight_{c}" in body}
    if weights:
        body["weights"] = weights
    try:
        data = parse_dict(CallCreate, body)
        call = calls.create_call(session=session, actor=actor, data=data)
    except Invalid as exc:
        return page(
            request,
            "pilots/call_form.html",
            {
                "errors": exc.extra["errors"],
                "values": values_of(form, ("domains",)),
                "today": calls.today().isoformat(),
            },
            status_code=422,
        )
    return RedirectResponse(f"/calls/{call.id}", status_code=303)


@router.get("/calls/{call_id}", dependencies=[perm.ANYONE])
def call_page(call_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
    call = calls.get_call(session=session, call_id=call_id)
    rows, total = ideas.list_ideas(session=session, call_id=call.id, sort="support", per_page=50)
    return page(
        request,
        "pilots/call.html",
        {
            "call": calls.call_read(call, total),
            "ideas": [idea_summary(i) for i in rows],
        },
    )


# --- ideas --------------------------------------------------------------------------------


@router.get("/ideas", dependencies=[perm.ANYONE])
def idea_list(
    request: Request,
    session: SessionDep,
    state: Annotated[list[IdeaState] | None, Query(max_length=6)] = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: ideas.IdeaSort = "newest",
    page_no: PageNo = 1,
) -> Response:
    """Ideas with filters, sorting and pages (twin: ``/api/v1/ideas``)."""
    rows, total = ideas.list_ideas(
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
        "pilots/ideas.html",
        {
            "items": [idea_summary(i) for i in rows],
            "total": total,
            "page": page_no,
            "pages": max(1, -(-total // PER_PAGE)),
            "chosen": chosen,
        },
    )


def _idea_form(
    request: Request,
    session: SessionDep,
    actor: Any,
    values: dict[str, Any],
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    orgs = catalog.organisations_by_id(session=session, ids=actor.org_ids())
    return page(
        request,
        "pilots/idea_form.html",
        {
            "open_calls": calls.open_calls(session=session),
            "orgs": sorted(((o.slug, o.name) for o in orgs.values()), key=lambda o: o[1]),
            "datasets": [
                (d.slug, dataset_title(d.title_nb, d.title_en))
                for d in catalog.published_datasets(session=session)
            ],
            "values": values,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/ideas/new", dependencies=[perm.SIGNED_IN])
def idea_form(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    call: uuid.UUID | None = None,
) -> Response:
    """The form to submit an idea (twin: ``POST /api/v1/ideas``)."""
    return _idea_form(request, session, actor, {"call_id": str(call) if call else ""})


LISTS = ("sdgs", "datasets")


@router.post("/ideas/new", dependencies=[perm.SIGNED_IN])
def idea_submit(
    request: Request, session: SessionDep, settings: SettingsDep, actor: UserActorDep, form: FormDep
) -> Response:
    try:
        data = parse_form(IdeaCreate, form, lists=LISTS)
        idea = ideas.create_idea(session=session, settings=settings, actor=actor, data=data)
    except Invalid as exc:
        values = values_of(form, LISTS)
        return _idea_form(request, session, actor, values, exc.extra["errors"], 422)
    return RedirectResponse(f"/ideas/{idea.id}?submitted=1", status_code=303)


def idea_context(session: SessionDep, actor: Any, idea_id: uuid.UUID) -> dict[str, Any]:
    idea = ideas.get_idea(session=session, idea_id=idea_id)
    read = idea_read(session, actor, idea)
    rows, _total = comments.list_comments(session=session, idea_id=idea.id, per_page=200)
    assigned = review.assigned(session, idea.id)
    return {
        "idea": read,
        "comments": comments.comment_reads(session, actor, rows),
        "can_support": policies.can_support(actor, idea.submitted_by)
        and idea.state in (IdeaState.submitted, IdeaState.screening, IdeaState.evaluating),
        "is_submitter": policies.is_submitter(actor, idea.submitted_by),
        "can_comment": policies.can_comment(actor),
        "can_moderate": policies.can_moderate(actor),
        "is_coordinator": policies.is_coordinator(actor),
        "can_evaluate": policies.can_evaluate(actor, assigned),
        "evaluators": review.evaluators(session=session) if policies.can_screen(actor) else [],
        "assigned": assigned,
        "evaluations": review.list_evaluations(session=session, idea_id=idea.id)
        if policies.can_see_evaluations(actor, assigned)
        else [],
        "signed_in": actor.is_authenticated,
    }


@router.get("/ideas/{idea_id}", dependencies=[perm.ANYONE])
def idea_page(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """An idea's public page (twin: ``/api/v1/ideas/{id}``)."""
    ctx = idea_context(session, actor, idea_id)
    ctx["submitted"] = request.query_params.get("submitted") == "1"
    return page(request, "pilots/idea.html", ctx)


def idea_again(
    request: Request,
    session: SessionDep,
    actor: Any,
    idea_id: uuid.UUID,
    exc: Invalid | Conflict,
    values: dict[str, Any] | None = None,
) -> Response:
    """The idea page again with the problem at the top (422 for a form, 409 for a state)."""
    ctx = idea_context(session, actor, idea_id)
    errors = exc.extra.get("errors") or [{"field": "", "message": exc.detail}]
    ctx.update({"errors": errors, "values": values or {}})
    return page(request, "pilots/idea.html", ctx, status_code=exc.status)


@router.post("/ideas/{idea_id}/support", dependencies=[perm.SIGNED_IN])
def support(
    idea_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> Response:
    try:
        ideas.support(session=session, settings=settings, actor=actor, idea_id=idea_id)
    except Conflict as exc:
        return idea_again(request, session, actor, idea_id, exc)
    return RedirectResponse(f"/ideas/{idea_id}#support", status_code=303)


@router.post("/ideas/{idea_id}/unsupport", dependencies=[perm.SIGNED_IN])
def unsupport(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    try:
        ideas.unsupport(session=session, actor=actor, idea_id=idea_id)
    except Conflict as exc:
        return idea_again(request, session, actor, idea_id, exc)
    return RedirectResponse(f"/ideas/{idea_id}#support", status_code=303)


@router.post("/ideas/{idea_id}/comments", dependencies=[perm.SIGNED_IN])
def comment(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    try:
        data = parse_form(CommentCreate, form)
        comments.add_comment(session=session, actor=actor, idea_id=idea_id, data=data)
    except Invalid as exc:
        return idea_again(request, session, actor, idea_id, exc, values_of(form))
    return RedirectResponse(f"/ideas/{idea_id}#comments", status_code=303)


@router.post("/comments/{comment_id}/flag", dependencies=[perm.SIGNED_IN])
def flag(
    comment_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    found = comments.get_comment(session=session, comment_id=comment_id)
    try:
        comments.flag_comment(session=session, actor=actor, comment_id=comment_id)
    except Conflict as exc:
        return idea_again(request, session, actor, found.idea_id, exc)
    return RedirectResponse(f"/ideas/{found.idea_id}?flagged=1#c-{comment_id}", status_code=303)


@router.post("/comments/{comment_id}/moderate", dependencies=[perm.SIGNED_IN])
def moderate(
    comment_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    found = comments.get_comment(session=session, comment_id=comment_id)
    try:
        data = parse_dict(
            Moderation, {"action": form.get("action"), "reason": form.get("reason") or ""}
        )
        comments.moderate(session=session, actor=actor, comment_id=comment_id, data=data)
    except Invalid as exc:
        return idea_again(request, session, actor, found.idea_id, exc, values_of(form))
    back = form.get("next")
    target = "/lab/desk#moderation" if back == "desk" else f"/ideas/{found.idea_id}#c-{comment_id}"
    return RedirectResponse(target, status_code=303)
