"""The living lab's JSON API, part one: vocabulary, calls, ideas, support, comments, review.

Pilots, KPIs, results and the portfolio are in ``router_pilots``. Every handler is a plain
``def`` (it runs in the thread pool) and calls the same service as the page it twins.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from datatorg.errors import Forbidden
from datatorg.identity import permissions as perm
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.pilots import calls, comments, geo, ideas, policies, review
from datatorg.pilots.models import Domain, IdeaState, SubmitterKind
from datatorg.pilots.present import evaluation_reads, idea_read, idea_summary
from datatorg.pilots.schemas import (
    Assign,
    CallCreate,
    CallPage,
    CallRead,
    CommentCreate,
    CommentPage,
    CommentRead,
    Decision,
    DpiaRecord,
    EvaluationCreate,
    EvaluationRead,
    IdeaCreate,
    IdeaPage,
    IdeaRead,
    Moderation,
    ScreeningResult,
    Withdrawal,
)
from datatorg.pilots.vocab import all_labels
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.i18n import gettext as _

router = APIRouter(prefix="/api/v1", tags=["living lab"])

Page = Annotated[int, Query(ge=1, le=10_000)]
PerPage = Annotated[int, Query(ge=1, le=100)]
Words = Annotated[str, Query(max_length=100)]


@router.get("/lab/vocabulary", dependencies=[perm.ANYONE])
def vocabulary() -> dict[str, Any]:
    """Every code the living lab uses (domains, states, goals, …) with its label."""
    out: dict[str, Any] = dict(all_labels())
    out["place"] = [{"code": p.code, "label": p.name} for p in geo.PLACES.values()]
    return out


# --- calls --------------------------------------------------------------------------------


@router.get("/calls", dependencies=[perm.ANYONE])
def get_calls(
    session: SessionDep,
    state: calls.CallState | None = None,
    page: Page = 1,
    per_page: PerPage = 20,
) -> CallPage:
    """Calls for ideas: open first (closing soonest), then upcoming, then closed."""
    rows, total = calls.list_calls(session=session, state=state, page=page, per_page=per_page)
    counts = calls.idea_counts(session, [c.id for c in rows])
    return CallPage(
        items=[calls.call_read(c, counts.get(c.id, 0)) for c in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.post("/calls", status_code=201, dependencies=[perm.role(Role.coordinator)])
def post_call(data: CallCreate, session: SessionDep, actor: UserActorDep) -> CallRead:
    """Open a call for ideas (coordinators)."""
    call = calls.create_call(session=session, actor=actor, data=data)
    return calls.call_read(call, 0)


@router.get("/calls/{call_id}", dependencies=[perm.ANYONE])
def get_call(call_id: uuid.UUID, session: SessionDep) -> CallRead:
    call = calls.get_call(session=session, call_id=call_id)
    return calls.call_read(call, calls.idea_counts(session, [call.id]).get(call.id, 0))


# --- ideas --------------------------------------------------------------------------------


@router.get("/ideas", dependencies=[perm.ANYONE])
def get_ideas(
    session: SessionDep,
    state: Annotated[list[IdeaState] | None, Query(max_length=6)] = None,
    domain: Annotated[list[Domain] | None, Query(max_length=10)] = None,
    submitter_kind: Annotated[list[SubmitterKind] | None, Query(max_length=5)] = None,
    sdg: Annotated[int | None, Query(ge=1, le=17)] = None,
    call: uuid.UUID | None = None,
    q: Words = "",
    sort: ideas.IdeaSort = "newest",
    page: Page = 1,
    per_page: PerPage = 20,
) -> IdeaPage:
    """Ideas, filtered by state, domain, submitter kind, goal, call and words."""
    rows, total = ideas.list_ideas(
        session=session,
        states=state,
        domains=domain,
        kinds=submitter_kind,
        sdg=sdg,
        call_id=call,
        q=q,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return IdeaPage(
        items=[idea_summary(i) for i in rows], total=total, page=page, per_page=per_page
    )


@router.post("/ideas", status_code=201, dependencies=[perm.SIGNED_IN])
def post_idea(
    data: IdeaCreate, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> IdeaRead:
    """Submit an idea (anyone signed in)."""
    idea = ideas.create_idea(session=session, settings=settings, actor=actor, data=data)
    return idea_read(session, actor, idea)


@router.get("/ideas/{idea_id}", dependencies=[perm.ANYONE])
def get_idea(idea_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> IdeaRead:
    return idea_read(session, actor, ideas.get_idea(session=session, idea_id=idea_id))


@router.post("/ideas/{idea_id}/support", dependencies=[perm.SIGNED_IN])
def post_support(
    idea_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: UserActorDep
) -> IdeaRead:
    """Support an idea (once per person)."""
    idea = ideas.support(session=session, settings=settings, actor=actor, idea_id=idea_id)
    return idea_read(session, actor, idea)


@router.delete("/ideas/{idea_id}/support", dependencies=[perm.SIGNED_IN])
def delete_support(idea_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> IdeaRead:
    """Take your support back while the idea is open."""
    idea = ideas.unsupport(session=session, actor=actor, idea_id=idea_id)
    return idea_read(session, actor, idea)


@router.post("/ideas/{idea_id}/withdraw", dependencies=[perm.SIGNED_IN])
def post_withdraw(
    idea_id: uuid.UUID, session: SessionDep, actor: UserActorDep, data: Withdrawal | None = None
) -> IdeaRead:
    """The submitter withdraws an open idea."""
    idea = review.withdraw(
        session=session, actor=actor, idea_id=idea_id, reason=data.reason if data else ""
    )
    return idea_read(session, actor, idea)


# --- comments -----------------------------------------------------------------------------


@router.get("/ideas/{idea_id}/comments", dependencies=[perm.ANYONE])
def get_comments(
    idea_id: uuid.UUID, session: SessionDep, actor: ActorDep, page: Page = 1, per_page: PerPage = 50
) -> CommentPage:
    ideas.get_idea(session=session, idea_id=idea_id)
    rows, total = comments.list_comments(
        session=session, idea_id=idea_id, page=page, per_page=per_page
    )
    return CommentPage(
        items=comments.comment_reads(session, actor, rows),
        total=total,
        page=page,
        per_page=per_page,
    )


@router.post("/ideas/{idea_id}/comments", status_code=201, dependencies=[perm.SIGNED_IN])
def post_comment(
    idea_id: uuid.UUID, data: CommentCreate, session: SessionDep, actor: UserActorDep
) -> CommentRead:
    c = comments.add_comment(session=session, actor=actor, idea_id=idea_id, data=data)
    return comments.comment_reads(session, actor, [c])[0]


@router.post("/comments/{comment_id}/flag", dependencies=[perm.PERSON])
def post_flag(comment_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> CommentRead:
    """Report a comment to the moderators."""
    c = comments.flag_comment(session=session, actor=actor, comment_id=comment_id)
    return comments.comment_reads(session, actor, [c])[0]


@router.post("/comments/{comment_id}/moderation", dependencies=[perm.SIGNED_IN])
def post_moderation(
    comment_id: uuid.UUID, data: Moderation, session: SessionDep, actor: UserActorDep
) -> CommentRead:
    """Hide a comment with a reason, or restore it (coordinators)."""
    c = comments.moderate(session=session, actor=actor, comment_id=comment_id, data=data)
    return comments.comment_reads(session, actor, [c])[0]


@router.get("/moderation", dependencies=[perm.role(Role.coordinator)])
def get_moderation(
    session: SessionDep, actor: UserActorDep, page: Page = 1, per_page: PerPage = 20
) -> CommentPage:
    """Reported comments waiting for a moderator."""
    rows, total = comments.moderation_queue(
        session=session, actor=actor, page=page, per_page=per_page
    )
    return CommentPage(
        items=comments.comment_reads(session, actor, rows),
        total=total,
        page=page,
        per_page=per_page,
    )


# --- screening, evaluation, decision ------------------------------------------------------


@router.post("/ideas/{idea_id}/screening", dependencies=[perm.SIGNED_IN])
def post_screening(idea_id: uuid.UUID, session: SessionDep, actor: UserActorDep) -> IdeaRead:
    """Take an idea into screening (coordinators; the call's support threshold applies)."""
    idea = review.start_screening(session=session, actor=actor, idea_id=idea_id)
    return idea_read(session, actor, idea)


@router.post("/ideas/{idea_id}/screening/result", dependencies=[perm.SIGNED_IN])
def post_screening_result(
    idea_id: uuid.UUID,
    data: ScreeningResult,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> IdeaRead:
    """The privacy check and note; assigns the evaluators and starts the evaluation."""
    idea = review.complete_screening(
        session=session, settings=settings, actor=actor, idea_id=idea_id, data=data
    )
    return idea_read(session, actor, idea)


@router.post("/ideas/{idea_id}/evaluators", dependencies=[perm.SIGNED_IN])
def post_evaluator(
    idea_id: uuid.UUID,
    data: Assign,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> IdeaRead:
    idea = review.assign_evaluator(
        session=session,
        settings=settings,
        actor=actor,
        idea_id=idea_id,
        evaluator_id=data.evaluator_id,
    )
    return idea_read(session, actor, idea)


@router.get("/evaluators", dependencies=[perm.role(Role.coordinator)])
def get_evaluators(session: SessionDep, actor: UserActorDep) -> list[dict[str, str]]:
    """Who may be asked to evaluate (coordinators)."""
    if not policies.can_screen(actor):
        raise Forbidden(_("Only living-lab coordinators screen and decide ideas."))
    return [{"id": str(u.id), "name": u.display_name} for u in review.evaluators(session=session)]


@router.post("/ideas/{idea_id}/dpia", dependencies=[perm.SIGNED_IN])
def post_dpia(
    idea_id: uuid.UUID, data: DpiaRecord, session: SessionDep, actor: UserActorDep
) -> IdeaRead:
    """Record the DPIA an idea with personal data needs before it becomes a pilot."""
    idea = review.record_dpia(session=session, actor=actor, idea_id=idea_id, data=data)
    return idea_read(session, actor, idea)


@router.get("/ideas/{idea_id}/evaluations", dependencies=[perm.SIGNED_IN])
def get_evaluations(
    idea_id: uuid.UUID, session: SessionDep, actor: UserActorDep
) -> list[EvaluationRead]:
    """Each evaluator's scores (coordinators and the assigned evaluators)."""
    ideas.get_idea(session=session, idea_id=idea_id)
    if not policies.can_see_evaluations(actor, review.assigned(session, idea_id)):
        raise Forbidden(_("Only coordinators and the idea's evaluators see the scores."))
    return evaluation_reads(session, review.list_evaluations(session=session, idea_id=idea_id))


@router.post("/ideas/{idea_id}/evaluations", status_code=201, dependencies=[perm.SIGNED_IN])
def post_evaluation(
    idea_id: uuid.UUID, data: EvaluationCreate, session: SessionDep, actor: UserActorDep
) -> EvaluationRead:
    """Score the idea on the weighted criteria (assigned evaluators)."""
    e = review.submit_evaluation(session=session, actor=actor, idea_id=idea_id, data=data)
    return evaluation_reads(session, [e])[0]


@router.post("/ideas/{idea_id}/decision", dependencies=[perm.SIGNED_IN])
def post_decision(
    idea_id: uuid.UUID,
    data: Decision,
    session: SessionDep,
    settings: SettingsDep,
    actor: UserActorDep,
) -> IdeaRead:
    """Accept or reject, with an answer published on the idea (coordinators)."""
    idea = review.decide(
        session=session, settings=settings, actor=actor, idea_id=idea_id, data=data
    )
    return idea_read(session, actor, idea)


@router.get("/lab/desk", dependencies=[perm.SIGNED_IN])
def get_desk(session: SessionDep, actor: UserActorDep) -> dict[str, Any]:
    """Work waiting for you: ideas to screen or decide (coordinators), ideas to score."""
    out: dict[str, Any] = {"screening": [], "assignments": []}
    if policies.can_screen(actor):
        out["screening"] = [
            idea_summary(i).model_dump(mode="json")
            for i in review.screening_queue(session=session, actor=actor)
        ]
    out["assignments"] = [
        {**idea_summary(i).model_dump(mode="json"), "scored": done}
        for i, done in review.my_assignments(session=session, actor=actor)
    ]
    return out
