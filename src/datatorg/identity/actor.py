"""Who is asking: the one value every policy function takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from datatorg.identity.models import Role


@dataclass(frozen=True)
class Actor:
    """The caller of a request: a signed-in user, a token holder, or the anonymous public."""

    user_id: uuid.UUID | None = None
    display_name: str = ""
    roles: frozenset[tuple[uuid.UUID, Role]] = field(default_factory=frozenset)
    is_superuser: bool = False
    token_id: uuid.UUID | None = None
    agreement_id: uuid.UUID | None = None  # an agreement-scoped token reads through this only

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, org_id: uuid.UUID, *roles: Role) -> bool:
        """Whether the actor holds any of ``roles`` (or admin) in organisation ``org_id``."""
        if self.is_superuser:
            return True
        wanted = set(roles) | {Role.admin}
        return any(o == org_id and r in wanted for o, r in self.roles)

    def org_ids(self, *roles: Role) -> set[uuid.UUID]:
        """Organisations where the actor holds any of ``roles`` (all roles when none given)."""
        return {o for o, r in self.roles if not roles or r in roles or r == Role.admin}

    def has_any_role(self, *roles: Role) -> bool:
        return self.is_superuser or any(r in roles for _, r in self.roles)


ANONYMOUS = Actor()
