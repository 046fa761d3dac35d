"""The living lab's part of the Halden demo world.

An open call for ideas; ideas in every state (submitted, screening, evaluating, accepted,
rejected, withdrawn), with support, comments (one hidden by a moderator, one reported) and
evaluations; two running pilots — energy use in municipal buildings, and sensor-based waste
collection — whose dataset KPIs are computed through the gate from the demo datasets; and one
completed pilot with its final evaluation and a report.

Everything goes through the living lab's services as the people in it would. Dates are
relative to the day it runs; loading again adds nothing (the demo call's title is the mark).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.demo import pilots_pilots, pilots_waste
from datatorg.demo.pilots_ideas import IDEAS
from datatorg.identity import service as identity
from datatorg.identity.actor import Actor
from datatorg.identity.models import User
from datatorg.pilots import service as lab
from datatorg.pilots.calls import today as lab_today
from datatorg.pilots.models import Call, Idea, Kpi
from datatorg.pilots.schemas import (
    CallCreate,
    CommentCreate,
    Decision,
    EvaluationCreate,
    IdeaCreate,
    Moderation,
    ScreeningResult,
)
from datatorg.settings import Settings

CALL_TITLE = "Smartere tjenester i Halden 2027"
SUPPORTERS = [f"innbygger{n}@demo.datatorg.no" for n in range(1, 6)]


def _user(session: Session, email: str, name: str | None = None) -> User:
    found = identity.get_user_by_email(session=session, email=email)
    if found is not None:
        return found
    return identity.create_user(
        session=session, email=email, display_name=name or email.split("@")[0], password=None
    )


def _actor(session: Session, email: str) -> Actor:
    user = identity.get_user_by_email(session=session, email=email)
    assert user is not None, email
    return identity.actor_for_user(session=session, user=user)


def _scores(**kw: int) -> EvaluationCreate:
    base = {
        "impact": 4,
        "feasibility": 4,
        "sustainability": 4,
        "citizen_involvement": 3,
        "data_availability": 4,
        "privacy_risk": 5,
    }
    base.update(kw)
    return EvaluationCreate.model_validate({"scores": base, "comment": "Vurdert i demoen."})


def load(*, session: Session, settings: Settings) -> None:
    """Add the living lab's demo part when it is missing."""
    if session.scalar(select(Call.id).where(Call.title == CALL_TITLE)) is not None:
        return
    needed = [
        "coordinator@demo.datatorg.no",
        "evaluator@demo.datatorg.no",
        "forsker@ife.demo.datatorg.no",
        "utvikler@gronn-start.demo.datatorg.no",
    ]
    if any(identity.get_user_by_email(session=session, email=e) is None for e in needed):
        return  # the identity and market parts make these people
    supporters = [_user(session, e, f"Innbygger {i + 1}") for i, e in enumerate(SUPPORTERS)]
    coord = _actor(session, "coordinator@demo.datatorg.no")
    evaluator = _actor(session, "evaluator@demo.datatorg.no")
    today = lab_today()
    call = lab.create_call(
        session=session,
        actor=coord,
        data=CallCreate(
            title=CALL_TITLE,
            theme="Bærekraftige kommunale tjenester",
            description="Vi søker idéer som gjør kommunens tjenester bedre for innbyggerne, "
            "sparer energi eller gjør byen tryggere – gjerne med data fra Datatorg.",
            criteria="Effekt for innbyggerne, gjennomførbarhet i 2027, og at dataene finnes.",
            opens_on=today - timedelta(days=20),
            closes_on=today + timedelta(days=40),
            support_threshold=3,
        ),
    )
    ideas = {spec["key"]: _idea(session, settings, spec, call, supporters) for spec in IDEAS}
    for spec in IDEAS:
        _advance(session, settings, ideas[spec["key"]], spec, coord, evaluator)
    _talk(session, ideas, supporters, coord)
    energy = pilots_pilots.energy_pilot(session, settings, ideas["energy"], coord, today)
    waste = pilots_waste.waste_pilot(session, settings, ideas["waste"], coord, today)
    pilots_pilots.completed_pilot(session, settings, ideas["light"], coord, today)
    for pilot in (energy, waste):
        for kpi in session.scalars(select(Kpi).where(Kpi.pilot_id == pilot.id)):
            if kpi.dataset_id is not None:
                lab.compute(session=session, settings=settings, kpi=kpi)
                pilots_pilots.set_baseline(session, kpi)
    session.flush()


def _idea(
    session: Session, settings: Settings, spec: dict[str, Any], call: Call, supporters: list[User]
) -> Idea:
    actor = _actor(session, spec["by"])
    fields = {
        k: v
        for k, v in spec.items()
        if k not in ("key", "by", "to", "call", "personal", "datasets")
    }
    known = [s for s in spec.get("datasets", []) if pilots_pilots.dataset(session, s) is not None]
    idea = lab.create_idea(
        session=session,
        settings=settings,
        actor=actor,
        data=IdeaCreate.model_validate(
            {**fields, "datasets": known, "call_id": call.id if spec.get("call") else None}
        ),
    )
    wanted = {"submitted": 2, "screening": 3, "evaluating": 4}.get(spec["to"], 5)
    for user in supporters[:wanted]:
        lab.support(
            session=session,
            settings=settings,
            actor=identity.actor_for_user(session=session, user=user),
            idea_id=idea.id,
        )
    return idea


def _advance(
    session: Session,
    settings: Settings,
    idea: Idea,
    spec: dict[str, Any],
    coord: Actor,
    evaluator: Actor,
) -> None:
    target = spec["to"]
    if target == "submitted":
        return
    if target == "withdrawn":
        lab.withdraw(
            session=session,
            actor=_actor(session, spec["by"]),
            idea_id=idea.id,
            reason="Parkeringshuset skal rives; jeg sender en ny idé senere.",
        )
        return
    lab.start_screening(session=session, actor=coord, idea_id=idea.id)
    if target == "screening":
        return
    assert evaluator.user_id is not None and coord.user_id is not None
    lab.complete_screening(
        session=session,
        settings=settings,
        actor=coord,
        idea_id=idea.id,
        data=ScreeningResult(
            personal_data=bool(spec.get("personal")),
            note="Screenet i demoen.",
            evaluator_ids=[evaluator.user_id, coord.user_id],
        ),
    )
    lab.submit_evaluation(session=session, actor=evaluator, idea_id=idea.id, data=_scores(impact=5))
    if target == "evaluating":
        return
    lab.submit_evaluation(
        session=session, actor=coord, idea_id=idea.id, data=_scores(feasibility=3)
    )
    answers = {
        "accepted": ("accept", "Idéen er godtatt. Vi setter opp en pilot sammen med dere."),
        "rejected": (
            "reject",
            "Takk for idéen! Biblioteket lager allerede en felles kalender; vi foreslår at "
            "dere bidrar der.",
        ),
    }
    decision, answer = answers[target]
    lab.decide(
        session=session,
        settings=settings,
        actor=coord,
        idea_id=idea.id,
        data=Decision(decision=decision, answer=answer),
    )


def _talk(session: Session, ideas: dict[str, Idea], supporters: list[User], coord: Actor) -> None:
    said = [
        ("schoolroad", 0, "Endelig! Det er kaotisk ved Os skole hver morgen."),
        ("schoolroad", 1, "Kan tellepunktene også telle syklister?"),
        ("waste", 2, "Hvor mye sparer kommunen på dette?"),
        ("flood", 3, "Husk å varsle på engelsk og polsk også."),
        ("flood", 4, "Kjøp billige sensorer fra nettet, det holder!!! Ring meg på 12345678"),
    ]
    made = []
    for key, who, text in said:
        made.append(
            lab.add_comment(
                session=session,
                actor=identity.actor_for_user(session=session, user=supporters[who]),
                idea_id=ideas[key].id,
                data=CommentCreate(body=text),
            )
        )
    lab.flag_comment(
        session=session,
        actor=identity.actor_for_user(session=session, user=supporters[0]),
        comment_id=made[-1].id,
    )
    lab.moderate(
        session=session,
        actor=coord,
        comment_id=made[-1].id,
        data=Moderation(action="hide", reason="Inneholdt et telefonnummer (personopplysning)."),
    )
    lab.flag_comment(
        session=session,
        actor=identity.actor_for_user(session=session, user=supporters[1]),
        comment_id=made[2].id,
    )
