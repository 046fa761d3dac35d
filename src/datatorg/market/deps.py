"""What the marketplace tells route permissions (``identity.permissions``): who owns and who
is the consumer side of the agreement, offer, access request or notification a path names."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.errors import NotFound
from datatorg.identity.actor import Actor
from datatorg.identity.permissions import Target, target
from datatorg.market import policies
from datatorg.market.models import AccessRequest, Agreement, Notification, Offer


def _get(session: Session, model: Any, raw: str, what: str) -> Any:
    try:
        found = session.get(model, uuid.UUID(raw))
    except ValueError:
        found = None
    if found is None:
        raise NotFound(f"No such {what}")
    return found


@target("agreement")
def agreement(session: Session, params: Mapping[str, str]) -> Target:
    """The agreement of ``agreement_id``: the providing organisation; its assignee."""
    a: Agreement = _get(session, Agreement, params["agreement_id"], "agreement")
    user, org = a.assignee_user_id, a.assignee_org_id

    def is_consumer(actor: Actor) -> bool:
        return policies.is_assignee(actor, user, org)

    return Target(
        org_id=a.assigner_org_id, consumer=is_consumer, owner_user=user, agreement_id=a.id
    )


@target("access request")
def access_request(session: Session, params: Mapping[str, str]) -> Target:
    """The access request of ``request_id``: the provider; the person who asked."""
    r: AccessRequest = _get(session, AccessRequest, params["request_id"], "access request")
    user = r.consumer_user_id

    def is_requester(actor: Actor) -> bool:
        return policies.is_requester(actor, user)

    return Target(org_id=r.provider_org_id, consumer=is_requester, owner_user=user)


@target("offer")
def offer(session: Session, params: Mapping[str, str]) -> Target:
    """The offer of ``offer_id``: the organisation of its dataset."""
    o: Offer = _get(session, Offer, params["offer_id"], "offer")
    dataset = session.get(Dataset, o.dataset_id)
    return Target(org_id=dataset.publisher_id if dataset is not None else None)


@target("notification")
def notification(session: Session, params: Mapping[str, str]) -> Target:
    """The notification of ``notification_id``: its recipient."""
    n: Notification = _get(session, Notification, params["notification_id"], "notification")
    return Target(owner_user=n.user_id)
