"""Who may read a dataset's contents, before any agreement is consulted."""

from __future__ import annotations

from datatorg.catalog.models import DatasetRef, DatasetStatus
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role

OWNER_ROLES = tuple(Role)


def is_owner(actor: Actor, dataset: DatasetRef) -> bool:
    """Members of the publishing organisation (any role) and superusers."""
    return actor.has_role(dataset.publisher_id, *OWNER_ROLES)


def can_upload(actor: Actor, dataset: DatasetRef) -> bool:
    """Publishers of the owning organisation (and its admins, and superusers)."""
    return actor.has_role(dataset.publisher_id, Role.publisher)


def is_visible(actor: Actor, dataset: DatasetRef) -> bool:
    """Drafts and retired datasets are seen by their owners only."""
    return dataset.status == DatasetStatus.published or is_owner(actor, dataset)


HIDDEN_ROLES = ("direct_identifier", "subject_key")


def visible_columns(actor: Actor, dataset: DatasetRef, schema: dict[str, object]) -> list[str]:
    """Columns a reader may ask for: owners see all; others never see direct identifiers or
    subject keys (pseudonymised subject keys come with the privacy work)."""
    fields = schema.get("fields", [])
    assert isinstance(fields, list)
    if is_owner(actor, dataset):
        return [f["name"] for f in fields]
    return [f["name"] for f in fields if f.get("role") not in HIDDEN_ROLES]
