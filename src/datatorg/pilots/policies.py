"""Who may do what in the living lab: pure functions named after the action they guard.

Coordinators and evaluators are roles held in an organisation (``identity.models.Role``);
for the living lab it is enough to hold the role in any organisation. A token scoped to a
data agreement may read data only: it may do none of this.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from datatorg.identity.actor import Actor
from datatorg.identity.models import Role


def _person(actor: Actor) -> bool:
    return actor.is_authenticated and actor.agreement_id is None


def is_coordinator(actor: Actor) -> bool:
    """Living-lab coordinators (and platform administrators)."""
    return _person(actor) and actor.has_any_role(Role.coordinator)


def is_evaluator(actor: Actor) -> bool:
    return _person(actor) and actor.has_any_role(Role.evaluator, Role.coordinator)


def can_open_call(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_submit_idea(actor: Actor) -> bool:
    """Anyone signed in as a person may submit an idea."""
    return _person(actor)


def is_submitter(actor: Actor, submitted_by: uuid.UUID | None) -> bool:
    return _person(actor) and submitted_by is not None and actor.user_id == submitted_by


def can_support(actor: Actor, submitted_by: uuid.UUID | None) -> bool:
    """One support per person; nobody supports their own idea."""
    return _person(actor) and not is_submitter(actor, submitted_by)


def can_comment(actor: Actor) -> bool:
    return _person(actor)


def can_moderate(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_screen(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_decide(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_evaluate(actor: Actor, assigned: Collection[uuid.UUID]) -> bool:
    """Only the evaluators assigned to an idea score it."""
    return _person(actor) and actor.user_id in assigned


def can_see_evaluations(actor: Actor, assigned: Collection[uuid.UUID]) -> bool:
    """Each evaluator's scores and notes: the coordinators and the assigned evaluators."""
    return is_coordinator(actor) or can_evaluate(actor, assigned)


def can_withdraw(actor: Actor, submitted_by: uuid.UUID | None) -> bool:
    return is_submitter(actor, submitted_by)


def can_create_pilot(actor: Actor) -> bool:
    return is_coordinator(actor)


def is_team_member(actor: Actor, team: Collection[uuid.UUID]) -> bool:
    return _person(actor) and actor.user_id in team


def can_manage_pilot(actor: Actor, team: Collection[uuid.UUID]) -> bool:
    """The team (and coordinators) plan phases, post updates, ask for resources, set KPIs."""
    return is_coordinator(actor) or is_team_member(actor, team)


def can_request_data(actor: Actor, team: Collection[uuid.UUID]) -> bool:
    """A team member asks for data through the marketplace, in their own name."""
    return is_team_member(actor, team)


def can_decide_resource(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_join(actor: Actor) -> bool:
    """Any signed-in person may join a recruiting pilot as a participant."""
    return _person(actor)


def can_conclude(actor: Actor) -> bool:
    """The final evaluation is the coordinator's."""
    return is_coordinator(actor)


def can_see_participants(actor: Actor, team: Collection[uuid.UUID]) -> bool:
    """Who takes part is personal: the team and the coordinators see the list."""
    return can_manage_pilot(actor, team)
