"""Server-side browser sessions.

The ``datatorg_session`` cookie holds a random token (about 256 bits); the database holds only
its SHA-256 digest, the user and an absolute expiry (``settings.session_hours`` after login).
Signing in always starts a new session (the old one, if any, is deleted), so a session id
planted before login is worthless after it. Signing out deletes the row, so a copied cookie
stops working at once, on every worker.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from datatorg.db.base import utcnow
from datatorg.identity.models import BrowserSession, User
from datatorg.identity.tokens import digest
from datatorg.settings import Settings
from datatorg.web import csrf

SESSION_COOKIE = "datatorg_session"
_MISSING = object()


def start_session(
    *, session: Session, user: User, settings: Settings, replacing: str | None = None
) -> str:
    """A new session for ``user``; returns the cookie value (shown to the browser only)."""
    now = utcnow()
    if replacing:
        end_session(session=session, token=replacing)
    session.execute(
        delete(BrowserSession).where(
            BrowserSession.user_id == user.id, BrowserSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        BrowserSession(
            user_id=user.id,
            digest=digest(token),
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    session.flush()
    return token


def end_session(*, session: Session, token: str) -> None:
    """Delete the session behind ``token`` (signing out)."""
    session.execute(delete(BrowserSession).where(BrowserSession.digest == digest(token)))


def end_all_sessions(*, session: Session, user_id: uuid.UUID) -> None:
    """Delete every session of a user (after a password reset)."""
    session.execute(delete(BrowserSession).where(BrowserSession.user_id == user_id))


def user_for_token(*, session: Session, token: str) -> User | None:
    """The active user behind a session cookie value, or None when unknown or expired."""
    if not token or len(token) > 100:
        return None
    record = session.scalar(select(BrowserSession).where(BrowserSession.digest == digest(token)))
    if record is None or record.expires_at <= utcnow():
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    return user


def user_for_request(*, request: Request, session: Session) -> User | None:
    """The user signed in on this browser, if any (looked up once per request)."""
    cached = getattr(request.state, "browser_user", _MISSING)
    if cached is not _MISSING:
        return cached if isinstance(cached, User) else None
    user = user_for_token(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    request.state.browser_user = user
    return user


def _fresh_csrf_cookie(response: Response, settings: Settings) -> None:
    """A new CSRF token whenever the signed-in identity changes."""
    response.set_cookie(
        csrf.CSRF_COOKIE,
        csrf.new_token(settings.secret_key.get_secret_value()),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Give the browser its session cookie (HttpOnly, SameSite=Lax, Secure outside plain dev)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    _fresh_csrf_cookie(response, settings)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
    _fresh_csrf_cookie(response, settings)
