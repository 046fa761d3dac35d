"""Who may read a dataset's contents before any agreement is consulted (need-to-know).

Inside the owning organisation, reading the contents of a non-open dataset is a duty of the
publisher, steward and admin roles (and of superusers, the platform's operators); the other
roles (consumer, citizen, coordinator, evaluator) read through an agreement like anyone
else. Columns with the ``direct_identifier`` or ``subject_key`` role are read by stewards of
the owning organisation only (the role itself: an admin or superuser who needs them takes the
steward role, which the audit log shows). See docs/data.md, "Need to know".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from datatorg.catalog import service as catalog
from datatorg.catalog.models import Dataset, DatasetRef, DatasetStatus
from datatorg.identity.actor import Actor
from datatorg.identity.models import Role

# Roles whose duty it is to read the organisation's own non-open contents (admin implied).
DUTY_ROLES = (Role.publisher, Role.steward)
# The role that reads direct identifiers and subject keys of the organisation's data.
IDENTIFIER_ROLE = Role.steward
# Column roles only the identifier role sees.
IDENTIFYING_ROLES = ("direct_identifier", "subject_key")


def is_member(actor: Actor, dataset: DatasetRef) -> bool:
    """Any role in the publishing organisation (and superusers)."""
    return actor.has_role(dataset.publisher_id, *Role)


def is_visible(actor: Actor, dataset: DatasetRef) -> bool:
    """Drafts and retired datasets are seen by members of their organisation only."""
    return dataset.status == DatasetStatus.published or is_member(actor, dataset)


def reads_own_contents(actor: Actor, dataset: DatasetRef) -> bool:
    """Whether the actor reads the dataset's contents as its owner: a publisher, steward or
    admin of the publishing organisation, or a superuser — signed in as a person (an
    agreement-scoped token reads through its agreement only)."""
    return actor.agreement_id is None and actor.has_role(dataset.publisher_id, *DUTY_ROLES)


def owner_role(actor: Actor, dataset: DatasetRef) -> str:
    """The duty an owner read is made under, for the audit record."""
    held = {r for o, r in actor.roles if o == dataset.publisher_id}
    for role in (Role.steward, Role.publisher, Role.admin):
        if role in held:
            return role.value
    return "superuser"


def sees_identifiers(actor: Actor, dataset: DatasetRef) -> bool:
    """Stewards of the publishing organisation read direct identifiers and subject keys."""
    return actor.agreement_id is None and (dataset.publisher_id, IDENTIFIER_ROLE) in actor.roles


def _dataset_page(session: Session, actor: Actor, dataset: Dataset) -> dict[str, Any]:
    """The dataset page's part (``catalog.service.dataset_page_part``): whether the reader
    reads the contents as its owner, by the rule the gate decides with (so the page offers
    "See data" to an evaluator of the owning organisation only under an agreement)."""
    return {"reads_own": reads_own_contents(actor, dataset)}


catalog.dataset_page_part("access", _dataset_page)
