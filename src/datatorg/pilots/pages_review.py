"""The living lab's pages, part two: screening, evaluation, the decision, and the desk where
coordinators and evaluators find their work (twins under ``/api/v1/ideas/{id}/…`` and
``/api/v1/lab/desk``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from datatorg.errors import Conflict, Forbidden, Invalid
from datatorg.identity import permissions as perm
from datatorg.identity.deps import UserActorDep
from datatorg.pilots import comments, ideas, policies, review
from datatorg.pilots.calls import get_call, weights_of
from datatorg.pilots.forms import FormDep, friendly, page, parse_form, values_of
from datatorg.pilots.pages import idea_again
from datatorg.pilots.present import idea_summary
from datatorg.pilots.schemas import (
    Assign,
    Decision,
    DpiaRecord,
    EvaluationCreate,
    ScreeningResult,
    Withdrawal,
)
from datatorg.pilots.vocab import CRITERIA
from datatorg.web.csrf import verify_csrf
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])


def _back(idea_id: uuid.UUID, anchor: str = "review") -> Response:
    return RedirectResponse(f"/ideas/{idea_id}#{anchor}", status_code=303)


@router.post("/ideas/{idea_id}/screen", dependencies=[perm.SIGNED_IN])
def screen(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """Take the idea into screening."""
    try:
        review.start_screening(session=session, actor=actor, idea_id=idea_id)
    except Conflict as exc:
        return idea_again(request, session, actor, idea_id, exc)
    return _back(idea_id)


@router.post("/ideas/{idea_id}/screening", dependencies=[perm.SIGNED_IN])
def screening(
    idea_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    """The privacy check, a note and the evaluators: the idea goes to evaluation."""
    try:
        data = parse_form(ScreeningResult, form, lists=("evaluator_ids",))
        review.complete_screening(
            session=session, settings=settings, actor=actor, idea_id=idea_id, data=data
        )
    except (Invalid, Conflict) as exc:
        values = values_of(form, ("evaluator_ids",))
        return idea_again(request, session, actor, idea_id, exc, values)
    return _back(idea_id)


@router.post("/ideas/{idea_id}/assign", dependencies=[perm.SIGNED_IN])
def assign(
    idea_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    try:
        data = parse_form(Assign, form)
        review.assign_evaluator(
            session=session,
            settings=settings,
            actor=actor,
            idea_id=idea_id,
            evaluator_id=data.evaluator_id,
        )
    except (Invalid, Conflict) as exc:
        return idea_again(request, session, actor, idea_id, exc, values_of(form))
    return _back(idea_id)


@router.post("/ideas/{idea_id}/dpia", dependencies=[perm.SIGNED_IN])
def dpia(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    try:
        data = parse_form(DpiaRecord, form)
        review.record_dpia(session=session, actor=actor, idea_id=idea_id, data=data)
    except (Invalid, Conflict) as exc:
        return idea_again(request, session, actor, idea_id, exc, values_of(form))
    return _back(idea_id)


@router.post("/ideas/{idea_id}/decide", dependencies=[perm.SIGNED_IN])
def decide(
    idea_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
    form: FormDep,
) -> Response:
    """Accept or reject with the published answer."""
    try:
        data = parse_form(Decision, form)
        review.decide(session=session, settings=settings, actor=actor, idea_id=idea_id, data=data)
    except (Invalid, Conflict) as exc:
        return idea_again(request, session, actor, idea_id, exc, values_of(form))
    return _back(idea_id, "answer")


@router.post("/ideas/{idea_id}/withdraw", dependencies=[perm.SIGNED_IN])
def withdraw(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    try:
        data = parse_form(Withdrawal, form)
        review.withdraw(session=session, actor=actor, idea_id=idea_id, reason=data.reason)
    except (Invalid, Conflict) as exc:
        return idea_again(request, session, actor, idea_id, exc, values_of(form))
    return _back(idea_id, "answer")


def _evaluation_page(
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    idea_id: uuid.UUID,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    idea = ideas.get_idea(session=session, idea_id=idea_id)
    assigned = review.assigned(session, idea.id)
    if not policies.can_evaluate(actor, assigned):
        raise Forbidden(_("Only the evaluators assigned to this idea score it."))
    mine = next(
        (
            e
            for e in review.list_evaluations(session=session, idea_id=idea.id)
            if e.evaluator_id == actor.user_id
        ),
        None,
    )
    call = get_call(session=session, call_id=idea.call_id) if idea.call_id else None
    if values is None and mine is not None:
        values = {f"score_{c}": str(mine.scores.get(c, "")) for c in CRITERIA}
        values |= {f"note_{c}": mine.notes.get(c, "") for c in CRITERIA}
        values["comment"] = mine.comment
    return page(
        request,
        "pilots/evaluate.html",
        {
            "idea": idea_summary(idea),
            "problem": idea.problem,
            "solution": idea.solution,
            "weights": weights_of(call),
            "criteria": list(CRITERIA),
            "mine": mine,
            "open": idea.state.value == "evaluating",
            "errors": errors or [],
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/ideas/{idea_id}/evaluate", dependencies=[perm.SIGNED_IN])
def evaluate_form(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep
) -> Response:
    """The scoring form for an assigned evaluator (twin: ``/api/v1/ideas/{id}/evaluations``)."""
    return _evaluation_page(request, session, actor, idea_id)


@router.post("/ideas/{idea_id}/evaluate", dependencies=[perm.SIGNED_IN])
def evaluate_submit(
    idea_id: uuid.UUID, request: Request, session: SessionDep, actor: UserActorDep, form: FormDep
) -> Response:
    raw = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    scores = {c: raw[f"score_{c}"] for c in CRITERIA if raw.get(f"score_{c}")}
    notes = {c: raw[f"note_{c}"] for c in CRITERIA if raw.get(f"note_{c}", "").strip()}
    try:
        data = EvaluationCreate.model_validate(
            {"scores": scores, "notes": notes, "comment": raw.get("comment", "")}
        )
    except ValidationError as exc:
        errors = [
            {"field": str(e["loc"][0]) if e["loc"] else "scores", "message": friendly(e)}
            for e in exc.errors()
        ]
        return _evaluation_page(request, session, actor, idea_id, errors, raw, status_code=422)
    try:
        review.submit_evaluation(session=session, actor=actor, idea_id=idea_id, data=data)
    except Conflict as exc:
        errors = [{"field": "", "message": exc.detail}]
        return _evaluation_page(request, session, actor, idea_id, errors, raw, status_code=409)
    return RedirectResponse(f"/ideas/{idea_id}/evaluate?saved=1", status_code=303)


@router.get("/lab/desk", dependencies=[perm.SIGNED_IN])
def desk(request: Request, session: SessionDep, actor: UserActorDep) -> Response:
    """Work waiting for you (twin: ``/api/v1/lab/desk`` and ``/api/v1/moderation``)."""
    coordinator = policies.can_screen(actor)
    flagged = []
    if coordinator:
        rows, _total = comments.moderation_queue(session=session, actor=actor, per_page=50)
        flagged = list(zip(rows, comments.comment_reads(session, actor, rows), strict=True))
    return page(
        request,
        "pilots/desk.html",
        {
            "coordinator": coordinator,
            "screening": [
                idea_summary(i) for i in review.screening_queue(session=session, actor=actor)
            ]
            if coordinator
            else [],
            "assignments": [
                (idea_summary(i), done)
                for i, done in review.my_assignments(session=session, actor=actor)
            ],
            "flagged": flagged,
        },
    )
