"""Server-side browser sessions (filled in by the identity work: login, logout, expiry)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from datatorg.identity.models import User

SESSION_COOKIE = "datatorg_session"


def user_for_request(*, request: Request, session: Session) -> User | None:
    """The user signed in on this browser, if any."""
    return None
