"""Ideas and evaluations as the API and the pages show them: labels, never codes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.identity.actor import Actor
from datatorg.pilots import geo
from datatorg.pilots.comments import count_visible
from datatorg.pilots.common import names
from datatorg.pilots.ideas import idea_datasets, submitter_org_name, supports, threshold_of
from datatorg.pilots.models import Call, Evaluation, Idea, IdeaState, Pilot
from datatorg.pilots.review import summary
from datatorg.pilots.schemas import (
    DatasetLink,
    EvaluationRead,
    IdeaRead,
    IdeaSummary,
    Labelled,
)
from datatorg.pilots.vocab import label, sdg_name
from datatorg.web.i18n import current_locale
from datatorg.web.i18n import gettext as _


def lab(vocabulary: str, code: object) -> Labelled:
    return Labelled(code=str(getattr(code, "value", code)), label=label(vocabulary, code))


def place(code: str) -> Labelled:
    found = geo.PLACES.get(code)
    return Labelled(code=code, label=found.name if found else _("All of Halden"))


def point(idea: Idea) -> tuple[float, float]:
    if idea.latitude is not None and idea.longitude is not None:
        return idea.latitude, idea.longitude
    return geo.place_point(idea.place)


def sdgs(numbers: list[int]) -> list[Labelled]:
    return [Labelled(code=str(n), label=sdg_name(n)) for n in numbers]


def pilot_of(session: Session, idea_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Pilot.id).where(Pilot.idea_id == idea_id))


def dataset_title(title_nb: str, title_en: str) -> str:
    return title_en if current_locale() == "en" and title_en else title_nb


def idea_read(session: Session, actor: Actor, idea: Idea) -> IdeaRead:
    lat, lon = point(idea)
    call = session.get(Call, idea.call_id) if idea.call_id else None
    decided = idea.state in (IdeaState.accepted, IdeaState.rejected)
    return IdeaRead(
        id=idea.id,
        url=f"/ideas/{idea.id}",
        title=idea.title,
        problem=idea.problem,
        solution=idea.solution,
        submitter_kind=lab("submitter_kind", idea.submitter_kind),
        organisation=submitter_org_name(session, idea),
        domain=lab("domain", idea.domain),
        place=place(idea.place),
        latitude=lat,
        longitude=lon,
        sdgs=sdgs(idea.sdgs),
        needs={
            "competence": idea.need_competence,
            "infrastructure": idea.need_infrastructure,
            "data": idea.need_data,
            "method": idea.need_method,
        },
        datasets=[
            DatasetLink(
                slug=d.slug,
                title=dataset_title(d.title_nb, d.title_en),
                url=f"/datasets/{d.slug}",
            )
            for d in idea_datasets(session, idea.id)
        ],
        call={"id": str(call.id), "title": call.title, "url": f"/calls/{call.id}"}
        if call
        else None,
        state=lab("idea_state", idea.state),
        support_count=idea.support_count,
        support_threshold=threshold_of(session, idea),
        supported_by_me=supports(session, idea.id, actor.user_id),
        comment_count=count_visible(session, [idea.id]).get(idea.id, 0),
        created_at=idea.created_at,
        answer=idea.answer,
        answered_at=idea.answered_at,
        personal_data=idea.personal_data,
        dpia_required=idea.dpia_required,
        dpia_reference=idea.dpia_reference,
        evaluation=summary(session, idea) if decided else None,
        pilot_id=pilot_of(session, idea.id),
    )


def idea_summary(idea: Idea) -> IdeaSummary:
    return IdeaSummary(
        id=idea.id,
        url=f"/ideas/{idea.id}",
        title=idea.title,
        domain=lab("domain", idea.domain),
        submitter_kind=lab("submitter_kind", idea.submitter_kind),
        state=lab("idea_state", idea.state),
        sdgs=sdgs(idea.sdgs),
        place=place(idea.place),
        support_count=idea.support_count,
        created_at=idea.created_at,
    )


def evaluation_reads(session: Session, rows: list[Evaluation]) -> list[EvaluationRead]:
    who = names(session, [e.evaluator_id for e in rows])
    return [
        EvaluationRead(
            id=e.id,
            idea_id=e.idea_id,
            evaluator=who.get(e.evaluator_id, _("Former user")) if e.evaluator_id else "",
            scores=e.scores,
            notes=e.notes,
            comment=e.comment,
            weighted=e.weighted,
            submitted_at=e.submitted_at,
        )
        for e in rows
    ]
