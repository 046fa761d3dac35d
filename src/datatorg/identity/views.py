"""Helpers shared by the identity router and pages (request facts, read models, guards)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity import service
from datatorg.identity.actor import Actor
from datatorg.identity.models import ApiToken, User
from datatorg.identity.schemas import (
    MembershipRead,
    OrganisationSummary,
    TokenCreate,
    UserRead,
)


def client_address(request: Request) -> str:
    """The client's address as the server sees it (the proxy's view when behind one)."""
    return request.client.host if request.client else "unknown"


def require(allowed: bool, message: str = "You may not do this") -> None:
    """Raise 403 unless ``allowed``."""
    if not allowed:
        raise Forbidden(message)


def current_user(session: Session, actor: Actor) -> User:
    """The signed-in user behind ``actor``."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise Unauthenticated("Sign in or send an API token")
    return user


def user_read(session: Session, user: User) -> UserRead:
    """The account as the API shows it to its owner."""
    memberships = [
        MembershipRead(
            id=m.id,
            organisation=OrganisationSummary.model_validate(m.organisation),
            role=m.role,
        )
        for m in service.memberships_of(session=session, user_id=user.id)
    ]
    return UserRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        locale=user.locale,
        is_superuser=user.is_superuser,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        memberships=memberships,
    )


def create_token(session: Session, user: User, data: TokenCreate) -> tuple[str, ApiToken]:
    """A personal token for ``user`` from the form or API input."""
    expires = utcnow() + timedelta(days=data.days) if data.days else None
    return service.create_token(session=session, user=user, name=data.name, expires_at=expires)
