"""The public portfolio: ideas and pilots together, filterable, with a map of Halden.

An idea that became a pilot appears once, as the pilot; its status is the pilot's
(running, completed); every other idea has its own state as status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from datatorg.errors import Invalid
from datatorg.pilots import geo
from datatorg.pilots.models import (
    Domain,
    Idea,
    IdeaSdg,
    IdeaState,
    Pilot,
    PilotState,
    SubmitterKind,
)
from datatorg.pilots.present import place, point, sdgs
from datatorg.pilots.vocab import label
from datatorg.web.i18n import gettext as _

STATUSES = [*(s.value for s in IdeaState), *(s.value for s in PilotState)]
MAX_ITEMS = 2000  # each kind; the portfolio of one city's living lab stays well below


def check_statuses(codes: list[str] | None) -> list[str] | None:
    """The status filter, refused (422) when a code is not a status."""
    if not codes:
        return None
    bad = [c for c in codes if c not in STATUSES]
    if bad:
        raise Invalid(
            _("Unknown status: {code}").format(code=bad[0][:30]),
            errors=[{"parameter": "status", "message": _("not a status")}],
        )
    return list(dict.fromkeys(codes))


def status_label(code: str) -> str:
    return (
        label("pilot_state", code) if code in PilotState.__members__ else label("idea_state", code)
    )


@dataclass
class Item:
    kind: str  # idea | pilot
    title: str
    url: str
    status: str
    idea: Idea
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        lat, lon = point(self.idea)
        return {
            "kind": self.kind,
            "kind_label": _("Pilot") if self.kind == "pilot" else _("Idea"),
            "title": self.title,
            "url": self.url,
            "status": {"code": self.status, "label": status_label(self.status)},
            "domain": {"code": self.idea.domain.value, "label": label("domain", self.idea.domain)},
            "submitter_kind": {
                "code": self.idea.submitter_kind.value,
                "label": label("submitter_kind", self.idea.submitter_kind),
            },
            "sdgs": [s.model_dump() for s in sdgs(self.idea.sdgs)],
            "place": place(self.idea.place).model_dump(),
            "latitude": lat,
            "longitude": lon,
            "created_at": self.created_at.isoformat(),
        }


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _filters(
    stmt: S,
    domains: list[Domain] | None,
    kinds: list[SubmitterKind] | None,
    sdg: int | None,
) -> S:
    if domains:
        stmt = stmt.where(Idea.domain.in_(domains))
    if kinds:
        stmt = stmt.where(Idea.submitter_kind.in_(kinds))
    if sdg is not None:
        stmt = stmt.where(Idea.id.in_(select(IdeaSdg.idea_id).where(IdeaSdg.sdg == sdg)))
    return stmt


def items(
    *,
    session: Session,
    statuses: list[str] | None = None,
    domains: list[Domain] | None = None,
    kinds: list[SubmitterKind] | None = None,
    sdg: int | None = None,
) -> list[Item]:
    """Every item that matches, newest first."""
    wanted = set(statuses or STATUSES)
    out: list[Item] = []
    pilot_states = [PilotState(s) for s in wanted if s in PilotState.__members__]
    idea_states = [IdeaState(s) for s in wanted if s in IdeaState.__members__]
    if pilot_states:
        stmt = _filters(
            select(Pilot, Idea).join(Idea, Idea.id == Pilot.idea_id), domains, kinds, sdg
        ).where(Pilot.state.in_(pilot_states))
        for pilot, idea in session.execute(stmt.order_by(Pilot.created_at.desc()).limit(MAX_ITEMS)):
            out.append(
                Item(
                    "pilot",
                    pilot.title,
                    f"/pilots/{pilot.id}",
                    pilot.state.value,
                    idea,
                    pilot.created_at,
                )
            )
    if idea_states:
        ideas = _filters(select(Idea), domains, kinds, sdg).where(
            Idea.state.in_(idea_states), Idea.id.not_in(select(Pilot.idea_id))
        )
        for idea in session.scalars(ideas.order_by(Idea.created_at.desc()).limit(MAX_ITEMS)):
            out.append(
                Item(
                    "idea", idea.title, f"/ideas/{idea.id}", idea.state.value, idea, idea.created_at
                )
            )
    out.sort(key=lambda i: i.created_at, reverse=True)
    return out


def status_counts(
    *,
    session: Session,
    domains: list[Domain] | None = None,
    kinds: list[SubmitterKind] | None = None,
    sdg: int | None = None,
) -> dict[str, int]:
    """How many items have each status under the other filters (the status facet)."""
    counts = dict.fromkeys(STATUSES, 0)
    stmt = _filters(
        select(Pilot.state, func.count()).join(Idea, Idea.id == Pilot.idea_id), domains, kinds, sdg
    ).group_by(Pilot.state)
    for state, n in session.execute(stmt):
        counts[state.value] = int(n)
    by_idea = (
        _filters(select(Idea.state, func.count()), domains, kinds, sdg)
        .where(Idea.id.not_in(select(Pilot.idea_id)))
        .group_by(Idea.state)
    )
    for istate, m in session.execute(by_idea):
        counts[istate.value] = int(m)
    return counts


def markers(found: list[Item], limit: int = 500) -> list[geo.Marker]:
    out = []
    for item in found[:limit]:
        lat, lon = point(item.idea)
        out.append(
            geo.Marker(
                lat=lat,
                lon=lon,
                label=f"{item.title} ({status_label(item.status)})",
                kind=item.kind,
            )
        )
    return out
