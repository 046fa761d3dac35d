"""Signing up, signing in (throttled) and resetting a password: one service for page and API.

Login throttling counts failed attempts in the ``login_failures`` table, so every worker sees
the same counts. An attempt is refused with 429 when, within the last minute, the account or
the client address has ``settings.login_attempts_per_minute`` failures. Keys are HMAC digests
(under the secret key) of the normalised e-mail and of the client address: nothing personal is
stored in the clear. A successful login clears that account's failures only, so it cannot be
used to reset the counter of an address that is guessing other accounts' passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Invalid, TooManyRequests
from datatorg.identity import service, sessions
from datatorg.identity.models import LoginFailure, PasswordReset, User
from datatorg.identity.passwords import hash_password, needs_rehash, verify_password
from datatorg.identity.schemas import SignupCreate
from datatorg.identity.tokens import digest
from datatorg.settings import Settings
from datatorg.web.urls import base_for

WINDOW = timedelta(minutes=1)
KEEP_FAILURES = timedelta(hours=1)
RESETS_PER_HOUR = 3


@dataclass(frozen=True)
class ThrottleKeys:
    account: str
    address: str


def throttle_keys(*, settings: Settings, email: str, address: str) -> ThrottleKeys:
    """Keyed digests of the account and the client address (never stored in the clear)."""
    key = settings.secret_key.get_secret_value().encode()

    def mac(kind: str, value: str) -> str:
        return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    return ThrottleKeys(
        account=mac("account", service.normalise_email(email)), address=mac("address", address)
    )


def check_throttle(*, session: Session, settings: Settings, keys: ThrottleKeys) -> None:
    """Raise 429 (with Retry-After) when the account or the address failed too often lately."""
    now = utcnow()
    since = now - WINDOW
    limit = settings.login_attempts_per_minute
    for column, value in (
        (LoginFailure.account_key, keys.account),
        (LoginFailure.address_key, keys.address),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == value, LoginFailure.at > since
            )
        ).one()
        if count >= limit:
            first = oldest if oldest is not None else now
            wait = (first + WINDOW - now).total_seconds()
            raise TooManyRequests(
                "Too many failed sign-in attempts. Wait a minute and try again.",
                retry_after=max(1, math.ceil(wait)),
            )


def record_failure(*, session: Session, keys: ThrottleKeys) -> None:
    """Count one failed attempt (and forget failures older than an hour)."""
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP_FAILURES))
    session.add(LoginFailure(account_key=keys.account, address_key=keys.address, at=now))
    session.flush()


def authenticate(
    *, session: Session, settings: Settings, email: str, password: str, address: str
) -> User | None:
    """The user whose e-mail and password match, or None (the failure is counted).

    Raises ``TooManyRequests`` before checking anything when the attempt is throttled. The
    caller must let a None result commit, or the failure is not counted.
    """
    keys = throttle_keys(settings=settings, email=email, address=address)
    check_throttle(session=session, settings=settings, keys=keys)
    user = service.get_user_by_email(session=session, email=email)
    # The check is slow on purpose: no transaction (nor the write turn) is held during it.
    session.commit()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        record_failure(session=session, keys=keys)
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.account_key == keys.account))
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def sign_up(*, session: Session, data: SignupCreate) -> User:
    """A new account with no role in any organisation; the terms were accepted now."""
    user = service.create_user(
        session=session,
        email=data.email,
        display_name=data.display_name,
        password=data.password,
        locale=data.locale,
    )
    user.terms_accepted_at = utcnow()
    return user


@dataclass(frozen=True)
class ResetIssued:
    """A reset link to mail to ``email``; only its digest is stored."""

    email: str
    link: str


def request_password_reset(
    *, session: Session, settings: Settings, email: str
) -> ResetIssued | None:
    """A fresh reset link for an active account, or None (unknown, inactive, or asked too often).

    Callers answer the same way either way, so the answer does not tell whether an account
    exists.
    """
    user = service.get_user_by_email(session=session, email=email)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1)
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            user_id=user.id,
            digest=digest(token),
            expires_at=now + timedelta(minutes=settings.reset_token_minutes),
            created_at=now,
        )
    )
    session.flush()
    link = f"{base_for(settings)}/password-reset/confirm?token={token}"
    return ResetIssued(email=user.email, link=link)


def complete_password_reset(*, session: Session, token: str, password: str) -> User:
    """Set a new password with a reset token; the token is used up and every session ends."""
    record = session.scalar(select(PasswordReset).where(PasswordReset.digest == digest(token)))
    now = utcnow()
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise Invalid(
            "This reset link is invalid, used or expired. Ask for a new one.",
            errors=[{"field": "token", "message": "invalid or expired"}],
        )
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise Invalid("This reset link is invalid, used or expired. Ask for a new one.")
    user.password_hash = hash_password(password)
    record.used_at = now
    session.execute(
        delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.id != record.id)
    )
    sessions.end_all_sessions(session=session, user_id=user.id)
    return user
