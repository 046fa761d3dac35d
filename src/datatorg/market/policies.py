"""Who may do what in the marketplace: pure functions named after the action they guard."""

from __future__ import annotations

import uuid

from datatorg.identity.actor import Actor
from datatorg.identity.models import Role


def can_manage_offers(actor: Actor, provider_org_id: uuid.UUID) -> bool:
    """Publishers (and admins) of the dataset's owning organisation set its offers."""
    return actor.has_role(provider_org_id, Role.publisher)


def can_decide_request(actor: Actor, provider_org_id: uuid.UUID) -> bool:
    """Stewards, publishers and admins of the owning organisation approve, reject, counter."""
    return actor.has_role(provider_org_id, Role.steward, Role.publisher)


def can_request_access(actor: Actor) -> bool:
    """Any signed-in person may ask for data (a token scoped to an agreement may not)."""
    return actor.is_authenticated and actor.agreement_id is None


def can_request_for_org(actor: Actor, org_id: uuid.UUID) -> bool:
    """Requesting on behalf of an organisation needs the consumer role (or admin) there."""
    return actor.has_role(org_id, Role.consumer)


def is_requester(actor: Actor, consumer_user_id: uuid.UUID) -> bool:
    """The consumer who made a request answers counter-offers and may withdraw it."""
    return actor.user_id is not None and actor.user_id == consumer_user_id


def can_view_request(actor: Actor, consumer_user_id: uuid.UUID, provider_org_id: uuid.UUID) -> bool:
    return is_requester(actor, consumer_user_id) or can_decide_request(actor, provider_org_id)


def is_assignee(actor: Actor, user_id: uuid.UUID, org_id: uuid.UUID | None) -> bool:
    """The actor is the agreement's assignee: the person, or a consumer of its organisation."""
    if actor.user_id is not None and actor.user_id == user_id:
        return True
    return org_id is not None and org_id in actor.org_ids(Role.consumer)


def reaches_agreement(actor: Actor, agreement_id: uuid.UUID) -> bool:
    """A key made for one agreement reaches that agreement only (people reach any)."""
    return actor.agreement_id is None or actor.agreement_id == agreement_id


def can_view_agreement(
    actor: Actor, user_id: uuid.UUID, org_id: uuid.UUID | None, assigner_id: uuid.UUID
) -> bool:
    return is_assignee(actor, user_id, org_id) or can_decide_request(actor, assigner_id)


def can_suspend_or_revoke(actor: Actor, assigner_id: uuid.UUID) -> bool:
    """The provider's stewards, publishers and admins suspend or revoke an agreement."""
    return can_decide_request(actor, assigner_id)


def can_terminate(actor: Actor, user_id: uuid.UUID, org_id: uuid.UUID | None) -> bool:
    """The consumer ends its own agreement."""
    return actor.agreement_id is None and is_assignee(actor, user_id, org_id)


def can_create_agreement_token(actor: Actor, user_id: uuid.UUID) -> bool:
    """Only the person the agreement was made with creates tokens for it."""
    return actor.agreement_id is None and actor.user_id == user_id
