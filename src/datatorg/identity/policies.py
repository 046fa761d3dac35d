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
