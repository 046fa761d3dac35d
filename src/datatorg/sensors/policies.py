"""Who may do what with sensor streams (pure functions named after the action)."""

from __future__ import annotations

from datatorg.catalog.models import DatasetRef
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role


def can_manage_stream(actor: Actor, dataset: DatasetRef) -> bool:
    """Publishers (and admins) of the owning organisation, and superusers: make a dataset a
    stream, send observations, register devices, create and change entities."""
    return actor.has_role(dataset.publisher_id, Role.publisher)
