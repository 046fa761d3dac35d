"""Who may do what with a dataset: pure functions named after the action they guard."""

from __future__ import annotations

import uuid

from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role


def is_member(actor: Actor, org_id: uuid.UUID) -> bool:
    """Whether the actor belongs to the organisation in any role (or is a superuser)."""
    return actor.is_superuser or org_id in actor.org_ids()


def can_view_dataset(actor: Actor, dataset: Dataset) -> bool:
    """Published and retired datasets are public metadata; drafts only for the owner org."""
    if dataset.status != DatasetStatus.draft:
        return True
    return is_member(actor, dataset.publisher_id)


def can_create_dataset(actor: Actor, org_id: uuid.UUID) -> bool:
    """Publishers (and admins) of the organisation may add datasets to it."""
    return actor.has_role(org_id, Role.publisher)


def can_edit_dataset(actor: Actor, dataset: Dataset) -> bool:
    """Only publishers (and admins) of the owning organisation may change a dataset."""
    return actor.has_role(dataset.publisher_id, Role.publisher)


can_publish_dataset = can_edit_dataset
can_retire_dataset = can_edit_dataset


def can_see_governance(actor: Actor, dataset: Dataset) -> bool:
    """Governance details of a non-open dataset are for its own organisation."""
    return dataset.is_open or is_member(actor, dataset.publisher_id)


def can_see_history(actor: Actor, dataset: Dataset) -> bool:
    return is_member(actor, dataset.publisher_id)
