"""Factories for test data: small functions with sensible defaults."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from datatorg.identity import service
from datatorg.identity.actor import Actor
from datatorg.identity.models import Organisation, OrgKind, Role, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_org(
    session: Session,
    *,
    slug: str | None = None,
    kind: OrgKind = OrgKind.public_sector,
    name: str | None = None,
) -> Organisation:
    n = next(_seq)
    return service.create_organisation(
        session=session, slug=slug or f"org-{n}", name=name or f"Organisasjon {n}", kind=kind
    )


def make_user(
    session: Session,
    *,
    email: str | None = None,
    org: Organisation | None = None,
    roles: tuple[Role, ...] = (),
    password: str = PASSWORD,
    superuser: bool = False,
) -> User:
    n = next(_seq)
    user = service.create_user(
        session=session,
        email=email or f"user{n}@example.no",
        display_name=f"Bruker {n}",
        password=password,
        is_superuser=superuser,
    )
    for role in roles:
        assert org is not None, "roles need an organisation"
        service.add_membership(session=session, user=user, organisation=org, role=role)
    return user


def make_token(session: Session, user: User, **kwargs: object) -> dict[str, str]:
    """Headers that authenticate as ``user`` with a fresh API token."""
    plaintext, _ = service.create_token(session=session, user=user, name="test", **kwargs)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {plaintext}"}


def actor_of(session: Session, user: User) -> Actor:
    return service.actor_for_user(session=session, user=user)
