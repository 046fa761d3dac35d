"""Who may do what with accounts, tokens, organisations and memberships (pure functions)."""

from __future__ import annotations

from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation, Role


def can_manage_own_account(actor: Actor) -> bool:
    """Signed in as a person (an agreement-scoped token may only read data)."""
    return actor.is_authenticated and actor.agreement_id is None


def can_create_organisation(actor: Actor) -> bool:
    """Only platform administrators register organisations."""
    return actor.is_superuser and actor.agreement_id is None


def can_view_members(actor: Actor, organisation: Organisation) -> bool:
    """Members lists (with e-mail addresses) are for the organisation's admins."""
    return actor.agreement_id is None and actor.has_role(organisation.id, Role.admin)


def can_manage_members(actor: Actor, organisation: Organisation) -> bool:
    """Admins of the organisation (and platform administrators) grant and remove roles."""
    return actor.agreement_id is None and actor.has_role(organisation.id, Role.admin)


# Roles whose power is not bounded by the organisation they are held in: a living-lab
# coordinator screens and decides every idea (their own organisation's too), starts and
# concludes every pilot and sees its participants; an evaluator can be assigned any idea.
LAB_ROLES = frozenset({Role.coordinator, Role.evaluator})


def can_grant(actor: Actor, organisation: Organisation, role: Role) -> bool:
    """An organisation's admins grant its roles, except the living lab's: only platform
    administrators name coordinators and evaluators (else the admin of a startup could make
    themselves coordinator and accept the startup's own idea)."""
    if not can_manage_members(actor, organisation):
        return False
    return role not in LAB_ROLES or actor.is_superuser
