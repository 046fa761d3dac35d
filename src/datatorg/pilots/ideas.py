"""Ideas from anyone: submit, list with filters, and one public support per person."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset
from datatorg.db import text
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role
from datatorg.pilots import policies
from datatorg.pilots.calls import call_state, get_call
from datatorg.pilots.common import MAX_PAGE, history_entry, holders_of, notify, page_of
from datatorg.pilots.models import (
    Domain,
    Idea,
    IdeaDataset,
    IdeaSdg,
    IdeaState,
    SubmitterKind,
    Support,
)
from datatorg.pilots.schemas import IdeaCreate, search_words
from datatorg.pilots.states import OPEN
from datatorg.pilots.vocab import N_
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

IdeaSort = Literal["newest", "oldest", "support", "title"]
MAX_QUERY = 100


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def create_idea(
    *, session: Session, settings: Settings | None, actor: Actor, data: IdeaCreate
) -> Idea:
    """Submit an idea (anyone signed in), optionally to an open call."""
    if not policies.can_submit_idea(actor):
        raise Forbidden(_("Sign in to submit an idea."))
    problems: list[dict[str, str]] = []
    if data.call_id is not None:
        call = get_call(session=session, call_id=data.call_id)
        if call_state(call) != "open":
            problems.append(_problem("call_id", _("The call is not open for ideas.")))
        if call.domains and data.domain.value not in call.domains:
            problems.append(_problem("domain", _("The call asks for ideas in other domains.")))
    datasets: list[Dataset] = []
    for ref in data.datasets:
        try:
            datasets.append(catalog.get_visible_dataset(session=session, actor=actor, ref=ref))
        except NotFound:
            problems.append(_problem("datasets", _("No such dataset: {ref}").format(ref=ref[:60])))
    org_id = None
    if data.organisation:
        org = catalog.get_organisation(session=session, ref=data.organisation)
        if org is None or org.id not in actor.org_ids():
            problems.append(
                _problem("organisation", _("You can submit only for your own organisations."))
            )
        else:
            org_id = org.id
    if problems:
        raise Invalid(_("The idea could not be submitted."), errors=problems)
    assert actor.user_id is not None
    idea = Idea(
        call_id=data.call_id,
        title=data.title,
        problem=data.problem,
        solution=data.solution,
        submitter_kind=data.submitter_kind,
        domain=data.domain,
        place=data.place,
        latitude=data.latitude,
        longitude=data.longitude,
        sdg_tags=[IdeaSdg(sdg=n) for n in data.sdgs],
        need_competence=data.need_competence,
        need_infrastructure=data.need_infrastructure,
        need_data=data.need_data,
        need_method=data.need_method,
        submitted_by=actor.user_id,
        organisation_id=org_id,
        state=IdeaState.submitted,
        history=[history_entry("submit", "submitted", actor.user_id)],
    )
    session.add(idea)
    session.flush()
    for ds in datasets:
        session.add(IdeaDataset(idea_id=idea.id, dataset_id=ds.id))
    audit.record(
        session=session,
        actor=actor,
        action="pilots.idea.submit",
        target_type="idea",
        target_id=str(idea.id),
        details={"domain": idea.domain.value, "call_id": str(data.call_id or "")},
    )
    _check_threshold(session, settings, idea)
    session.flush()
    return idea


def get_idea(*, session: Session, idea_id: uuid.UUID, lock: bool = False) -> Idea:
    """Any idea; ideas are public from the moment they are submitted. ``lock``: with its row
    locked until the transaction ends (PostgreSQL; SQLite's writer turn serialises already),
    for a change of state: two at once must not both pass the same check."""
    idea = session.get(
        Idea, idea_id, with_for_update=True if lock else None, populate_existing=lock
    )
    if idea is None:
        raise NotFound(_("No such idea."))
    return idea


def list_ideas(
    *,
    session: Session,
    states: list[IdeaState] | None = None,
    domains: list[Domain] | None = None,
    kinds: list[SubmitterKind] | None = None,
    sdg: int | None = None,
    call_id: uuid.UUID | None = None,
    q: str = "",
    sort: IdeaSort = "newest",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Idea], int]:
    """Ideas filtered by state, domain, submitter kind, goal, call and words; sorted; paged."""
    stmt = select(Idea)
    if states:
        stmt = stmt.where(Idea.state.in_(states))
    if domains:
        stmt = stmt.where(Idea.domain.in_(domains))
    if kinds:
        stmt = stmt.where(Idea.submitter_kind.in_(kinds))
    if call_id is not None:
        stmt = stmt.where(Idea.call_id == call_id)
    if sdg is not None:
        stmt = stmt.where(Idea.id.in_(select(IdeaSdg.idea_id).where(IdeaSdg.sdg == sdg)))
    words = search_words(q)[:MAX_QUERY]
    if words:  # æ, ø, å fold alike on SQLite and PostgreSQL (db/text.py)
        stmt = stmt.where(
            or_(
                text.contains(Idea.title, words),
                text.contains(Idea.problem, words),
                text.contains(Idea.solution, words),
            )
        )
    order = {
        "newest": (Idea.created_at.desc(),),
        "oldest": (Idea.created_at.asc(),),
        "support": (Idea.support_count.desc(), Idea.created_at.desc()),
        "title": (text.fold(Idea.title).asc(),),
    }[sort]
    return page_of(session, stmt.order_by(*order, Idea.id), min(page, MAX_PAGE), per_page)


def idea_datasets(session: Session, idea_id: uuid.UUID) -> list[Dataset]:
    return list(
        session.scalars(
            select(Dataset)
            .join(IdeaDataset, IdeaDataset.dataset_id == Dataset.id)
            .where(IdeaDataset.idea_id == idea_id)
            .order_by(Dataset.slug)
        ).all()
    )


def threshold_of(session: Session, idea: Idea) -> int:
    return get_call(session=session, call_id=idea.call_id).support_threshold if idea.call_id else 0


def _check_threshold(session: Session, settings: Settings | None, idea: Idea) -> None:
    """Tell the coordinators once, when an idea reaches its call's support threshold."""
    if idea.threshold_reached_at is not None or idea.state != IdeaState.submitted:
        return
    if idea.support_count < threshold_of(session, idea):
        return
    idea.threshold_reached_at = utcnow()
    notify(
        session,
        settings,
        holders_of(session, Role.coordinator),
        "idea_ready",
        N_("An idea is ready for screening"),
        N_("The idea “{title}” has the support it needs and waits for screening."),
        f"/ideas/{idea.id}",
        {"title": idea.title},
    )


def supports(session: Session, idea_id: uuid.UUID, user_id: uuid.UUID | None) -> bool:
    if user_id is None:
        return False
    found = session.scalar(
        select(Support.id).where(Support.idea_id == idea_id, Support.user_id == user_id)
    )
    return found is not None


def support(
    *, session: Session, settings: Settings | None, actor: Actor, idea_id: uuid.UUID
) -> Idea:
    """Support an idea publicly: once per person, not one's own, while it is open."""
    idea = get_idea(session=session, idea_id=idea_id)
    if not policies.can_support(actor, idea.submitted_by):
        if policies.is_submitter(actor, idea.submitted_by):
            raise Forbidden(_("You cannot support your own idea."))
        raise Forbidden(_("Sign in to support an idea."))
    if idea.state not in OPEN:
        raise Conflict(_("This idea is no longer open for support."))
    assert actor.user_id is not None
    if supports(session, idea.id, actor.user_id):
        raise Conflict(_("You already support this idea."))
    try:
        with session.begin_nested():
            session.add(Support(idea_id=idea.id, user_id=actor.user_id))
            session.flush()
    except IntegrityError:  # the same person, twice at once: the constraint decides
        raise Conflict(_("You already support this idea.")) from None
    session.execute(
        update(Idea).where(Idea.id == idea.id).values(support_count=Idea.support_count + 1)
    )
    session.refresh(idea)
    _check_threshold(session, settings, idea)
    return idea


def unsupport(*, session: Session, actor: Actor, idea_id: uuid.UUID) -> Idea:
    """Take one's support back while the idea is still open."""
    idea = get_idea(session=session, idea_id=idea_id)
    if not actor.is_authenticated:
        raise Forbidden(_("Sign in to support an idea."))
    if idea.state not in OPEN:
        raise Conflict(_("This idea is no longer open for support."))
    gone = session.execute(
        delete(Support).where(Support.idea_id == idea.id, Support.user_id == actor.user_id)
    )
    if getattr(gone, "rowcount", 0) != 1:
        raise Conflict(_("You do not support this idea."))
    session.execute(
        update(Idea).where(Idea.id == idea.id).values(support_count=Idea.support_count - 1)
    )
    session.refresh(idea)
    return idea


def submitter_org_name(session: Session, idea: Idea) -> str:
    if idea.organisation_id is None:
        return ""
    org = catalog.get_organisation(session=session, ref=str(idea.organisation_id))
    return org.name if org else ""
