"""Who may add data to a dataset: uploads, their review and publication."""

from __future__ import annotations

from datatorg.catalog.models import DatasetRef, DatasetStatus
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role


def can_upload(actor: Actor, dataset: DatasetRef) -> bool:
    """Publishers of the owning organisation (and its admins, and superusers)."""
    return actor.has_role(dataset.publisher_id, Role.publisher)


def is_visible(actor: Actor, dataset: DatasetRef) -> bool:
    """Drafts and retired datasets are seen by members of their organisation only."""
    return dataset.status == DatasetStatus.published or actor.has_role(dataset.publisher_id, *Role)
