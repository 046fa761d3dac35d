"""Screening, evaluation and the decision on an idea, with a published answer.

The coordinator screens an idea (once it has its call's support), checks privacy (does it
need personal data? then a DPIA is required before any pilot), assigns evaluators; they
score the call's weighted criteria (1–5) with comments; the coordinator accepts or rejects
with an answer the submitter and everyone else can read. The submitter may withdraw while
the idea is open. Every step follows ``states.TABLE``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Membership, Role, User
from datatorg.pilots import policies
from datatorg.pilots.calls import get_call, weights_of
from datatorg.pilots.common import history_entry, notify
from datatorg.pilots.ideas import get_idea, idea_datasets, threshold_of
from datatorg.pilots.models import Assignment, Evaluation, Idea, IdeaState
from datatorg.pilots.schemas import (
    Decision,
    DpiaRecord,
    EvaluationCreate,
    EvaluationSummary,
    ScreeningResult,
)
from datatorg.pilots.states import Event, next_state
from datatorg.pilots.vocab import CRITERIA, N_, label
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _


def _step(session: Session, actor: Actor, idea: Idea, event: Event, note: str = "") -> None:
    idea.state = next_state(idea.state, event)
    idea.history = [
        *idea.history,
        history_entry(event.value, idea.state.value, actor.user_id, note),
    ]
    audit.record(
        session=session,
        actor=actor,
        action=f"pilots.idea.{event.value}",
        target_type="idea",
        target_id=str(idea.id),
    )


def _as_coordinator(session: Session, actor: Actor, idea_id: uuid.UUID) -> Idea:
    idea = get_idea(session=session, idea_id=idea_id, lock=True)
    if not policies.can_screen(actor):
        raise Forbidden(_("Only living-lab coordinators screen and decide ideas."))
    return idea


def assigned(session: Session, idea_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(Assignment.evaluator_id)
            .where(Assignment.idea_id == idea_id)
            .order_by(Assignment.assigned_at)
        ).all()
    )


def start_screening(*, session: Session, actor: Actor, idea_id: uuid.UUID) -> Idea:
    """Take an idea into screening; an idea in a call needs the call's support first."""
    idea = _as_coordinator(session, actor, idea_id)
    next_state(idea.state, Event.screen)  # 409 before anything else
    needed = threshold_of(session, idea)
    if idea.support_count < needed:
        raise Conflict(
            _("The idea needs {needed} supports before screening; it has {count}.").format(
                needed=needed, count=idea.support_count
            ),
            needed=needed,
            support_count=idea.support_count,
        )
    _step(session, actor, idea, Event.screen)
    return idea


def evaluators(*, session: Session) -> list[User]:
    """People who may be asked to evaluate: evaluators and coordinators, by name."""
    ids = select(Membership.user_id).where(Membership.role.in_([Role.evaluator, Role.coordinator]))
    return list(
        session.scalars(
            select(User)
            .where(User.id.in_(ids), User.is_active.is_(True))
            .order_by(User.display_name, User.id)
        ).all()
    )


def assign_evaluator(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    idea_id: uuid.UUID,
    evaluator_id: uuid.UUID,
) -> Idea:
    """Ask an evaluator to score the idea (idempotent)."""
    idea = _as_coordinator(session, actor, idea_id)
    if idea.state not in (IdeaState.screening, IdeaState.evaluating):
        raise Conflict(_("Evaluators are assigned while an idea is screened or evaluated."))
    if evaluator_id not in {u.id for u in evaluators(session=session)}:
        raise Invalid(
            _("That person is not an evaluator."),
            errors=[{"field": "evaluator_ids", "message": _("not an evaluator")}],
        )
    if evaluator_id == idea.submitted_by:
        raise Invalid(
            _("Nobody evaluates their own idea."),
            errors=[{"field": "evaluator_ids", "message": _("the submitter")}],
        )
    if evaluator_id in assigned(session, idea.id):
        return idea
    session.add(Assignment(idea_id=idea.id, evaluator_id=evaluator_id, assigned_by=actor.user_id))
    session.flush()
    notify(
        session,
        settings,
        [evaluator_id],
        "evaluation_assigned",
        N_("You are asked to evaluate an idea"),
        N_("Please score the idea “{title}” on the living lab's criteria."),
        f"/ideas/{idea.id}/evaluate",
        {"title": idea.title},
    )
    return idea


def complete_screening(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    idea_id: uuid.UUID,
    data: ScreeningResult,
) -> Idea:
    """Record the privacy check and a note, assign the evaluators, and start evaluation."""
    idea = _as_coordinator(session, actor, idea_id)
    next_state(idea.state, Event.evaluate)
    personal = [d for d in idea_datasets(session, idea.id) if d.has_personal_data]
    if personal and not data.personal_data:
        raise Invalid(
            _("The idea asks for a dataset with personal data."),
            errors=[
                {
                    "field": "personal_data",
                    "message": _("it asks for {title}, which holds personal data").format(
                        title=personal[0].title_nb
                    ),
                }
            ],
        )
    idea.personal_data = data.personal_data
    idea.dpia_required = data.personal_data
    idea.screening_note = data.note
    for evaluator_id in dict.fromkeys(data.evaluator_ids):
        assign_evaluator(
            session=session,
            settings=settings,
            actor=actor,
            idea_id=idea.id,
            evaluator_id=evaluator_id,
        )
    _step(session, actor, idea, Event.evaluate)
    return idea


def record_dpia(*, session: Session, actor: Actor, idea_id: uuid.UUID, data: DpiaRecord) -> Idea:
    """Record the data protection impact assessment an idea with personal data needs."""
    idea = _as_coordinator(session, actor, idea_id)
    if not idea.dpia_required:
        raise Conflict(_("This idea needs no DPIA: it uses no personal data."))
    idea.dpia_reference = data.reference
    audit.record(
        session=session,
        actor=actor,
        action="pilots.idea.dpia",
        target_type="idea",
        target_id=str(idea.id),
    )
    return idea


def weighted_score(scores: dict[str, int], weights: dict[str, int]) -> float:
    """Σ weight × score / Σ weight, on the 1–5 scale, rounded to two decimals."""
    total = sum(weights.get(c, 0) for c in CRITERIA)
    if total == 0:
        return round(sum(scores[c] for c in CRITERIA) / len(CRITERIA), 2)
    return round(sum(weights.get(c, 0) * scores[c] for c in CRITERIA) / total, 2)


def submit_evaluation(
    *, session: Session, actor: Actor, idea_id: uuid.UUID, data: EvaluationCreate
) -> Evaluation:
    """An assigned evaluator scores the idea; scoring again replaces the earlier scores."""
    idea = get_idea(session=session, idea_id=idea_id)
    if not policies.can_evaluate(actor, assigned(session, idea.id)):
        raise Forbidden(_("Only the evaluators assigned to this idea score it."))
    if idea.state != IdeaState.evaluating:
        raise Conflict(_("Ideas are scored while they are being evaluated."))
    call = get_call(session=session, call_id=idea.call_id) if idea.call_id else None
    scores = {c: int(data.scores[c]) for c in CRITERIA}  # type: ignore[index]
    weighted = weighted_score(scores, weights_of(call))
    found = session.scalar(
        select(Evaluation).where(
            Evaluation.idea_id == idea.id, Evaluation.evaluator_id == actor.user_id
        )
    )
    if found is None:
        found = Evaluation(idea_id=idea.id, evaluator_id=actor.user_id, scores={}, weighted=0)
        session.add(found)
    found.scores = scores
    found.notes = {str(c): n for c, n in data.notes.items() if n}
    found.comment = data.comment
    found.weighted = weighted
    found.submitted_at = utcnow()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="pilots.idea.score",
        target_type="idea",
        target_id=str(idea.id),
        details={"weighted": weighted},
    )
    return found


def list_evaluations(*, session: Session, idea_id: uuid.UUID) -> list[Evaluation]:
    return list(
        session.scalars(
            select(Evaluation)
            .where(Evaluation.idea_id == idea_id)
            .order_by(Evaluation.submitted_at, Evaluation.id)
        ).all()
    )


def summary(session: Session, idea: Idea) -> EvaluationSummary:
    """The mean weighted score and the mean of each criterion over the evaluations."""
    rows = list_evaluations(session=session, idea_id=idea.id)
    n = len(rows)
    criteria = []
    for c in CRITERIA:
        mean = round(sum(e.scores.get(c, 0) for e in rows) / n, 2) if n else None
        criteria.append({"criterion": c, "label": label("criterion", c), "mean": mean})
    return EvaluationSummary(
        evaluations=n,
        weighted=round(sum(e.weighted for e in rows) / n, 2) if n else None,
        criteria=criteria,
    )


def _answer(
    session: Session, settings: Settings | None, actor: Actor, idea: Idea, answer: str
) -> None:
    idea.answer = answer
    idea.answered_at = utcnow()
    idea.decided_by = actor.user_id
    body = (
        N_("The living lab has accepted your idea “{title}”. Read the answer on its page.")
        if idea.state == IdeaState.accepted
        else N_("The living lab has not accepted your idea “{title}”. Read why on its page.")
    )
    notify(
        session,
        settings,
        [idea.submitted_by],
        "idea_answered",
        N_("Your idea has an answer"),
        body,
        f"/ideas/{idea.id}",
        {"title": idea.title},
    )


def decide(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    idea_id: uuid.UUID,
    data: Decision,
) -> Idea:
    """Accept (after at least one evaluation) or reject, with a published answer."""
    idea = _as_coordinator(session, actor, idea_id)
    event = Event.accept if data.decision == "accept" else Event.reject
    next_state(idea.state, event)
    if event == Event.accept and not list_evaluations(session=session, idea_id=idea.id):
        raise Conflict(_("An idea is accepted only after at least one evaluation."))
    _step(session, actor, idea, event)
    _answer(session, settings, actor, idea, data.answer)
    return idea


def withdraw(*, session: Session, actor: Actor, idea_id: uuid.UUID, reason: str = "") -> Idea:
    """The submitter withdraws an open idea; the reason (if any) is published."""
    idea = get_idea(session=session, idea_id=idea_id, lock=True)
    if not policies.can_withdraw(actor, idea.submitted_by):
        raise Forbidden(_("Only the person who submitted the idea withdraws it."))
    _step(session, actor, idea, Event.withdraw)
    idea.answer = reason
    idea.answered_at = utcnow()
    return idea


def screening_queue(*, session: Session, actor: Actor) -> list[Idea]:
    """Ideas waiting for the coordinator: ready for screening, in screening, in evaluation."""
    if not policies.can_screen(actor):
        raise Forbidden(_("Only living-lab coordinators screen and decide ideas."))
    rows = session.scalars(
        select(Idea)
        .where(Idea.state.in_([IdeaState.submitted, IdeaState.screening, IdeaState.evaluating]))
        .order_by(Idea.created_at, Idea.id)
    ).all()
    return [i for i in rows if i.state != IdeaState.submitted or _ready(session, i)]


def _ready(session: Session, idea: Idea) -> bool:
    return idea.support_count >= threshold_of(session, idea)


def my_assignments(*, session: Session, actor: Actor) -> list[tuple[Idea, bool]]:
    """Ideas the actor is asked to evaluate, and whether they have scored each."""
    if actor.user_id is None:
        raise NotFound(_("No such page."))
    rows = session.execute(
        select(Idea)
        .join(Assignment, Assignment.idea_id == Idea.id)
        .where(Assignment.evaluator_id == actor.user_id, Idea.state == IdeaState.evaluating)
        .order_by(Assignment.assigned_at)
    ).scalars()
    done = set(
        session.scalars(
            select(Evaluation.idea_id).where(Evaluation.evaluator_id == actor.user_id)
        ).all()
    )
    return [(i, i.id in done) for i in rows]
