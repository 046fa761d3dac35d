"""The seam for OpenID Connect login: ID-porten for citizens, Entra ID for municipal staff.

Not wired to any network yet. What exists is the shape a real provider plugs into:

* ``OidcProvider`` — a Protocol: ``authorization_url(state, nonce, redirect_uri)`` builds the
  redirect to the provider, and ``verify(code, nonce, redirect_uri)`` exchanges the code and
  returns ``VerifiedClaims`` only after checking the ID token (signature against the
  provider's JWKS, ``iss``, ``aud``, ``exp``, ``nonce``). A provider never returns
  unverified claims.
* a small registry (``register`` / ``get`` / ``names``) filled at start-up from settings.
* ``link_or_create_user`` — the one place that turns verified claims into a ``User``, by the
  ``(oidc_issuer, oidc_subject)`` pair on ``users`` (unique). The routes a real provider needs
  are ``GET /login/oidc/{name}`` (redirect; state and nonce kept in a short-lived signed
  cookie) and ``GET /login/oidc/{name}/callback`` (verify, link, then
  ``sessions.start_session`` exactly like a password login).

ID-porten's ``sub`` is a pairwise pseudonym per client; the national identity number
(``pid``) must not be stored here — citizens' data subject records live in ``privacy`` and
link by pseudonym. Entra ID's ``sub`` is pairwise per application too; use ``oid`` if staff
accounts must match across applications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Conflict, NotFound
from datatorg.identity import service
from datatorg.identity.models import User

ID_PORTEN = "idporten"
ENTRA_ID = "entra"


@dataclass(frozen=True)
class VerifiedClaims:
    """What a provider vouches for after verifying the ID token."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    locale: str | None = None


class OidcProvider(Protocol):
    """One OpenID Connect provider (ID-porten, Entra ID, …)."""

    name: str
    issuer: str
    label: str  # shown on the sign-in button

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str) -> str:
        """Where to send the browser to sign in."""
        ...

    def verify(self, *, code: str, nonce: str, redirect_uri: str) -> VerifiedClaims:
        """Exchange ``code`` and return the verified claims (raise on anything wrong)."""
        ...


_providers: dict[str, OidcProvider] = {}


def register(provider: OidcProvider) -> None:
    """Make a provider available for sign-in under ``provider.name``."""
    _providers[provider.name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def get(name: str) -> OidcProvider:
    """The provider called ``name``."""
    try:
        return _providers[name]
    except KeyError:
        raise NotFound("No such sign-in provider") from None


def names() -> list[str]:
    """The registered providers, for the sign-in page."""
    return sorted(_providers)


def link_or_create_user(*, session: Session, claims: VerifiedClaims) -> User:
    """The user for verified claims: found by (issuer, subject), else linked, else created.

    An existing password account is linked only when the provider says the e-mail address
    is verified and the account is not linked to another identity of the same issuer;
    otherwise a claim to an existing address is refused rather than taking the account over.
    """
    user = session.scalar(
        select(User).where(User.oidc_issuer == claims.issuer, User.oidc_subject == claims.subject)
    )
    if user is None and claims.email:
        existing = service.get_user_by_email(session=session, email=claims.email)
        if existing is not None:
            if not claims.email_verified or existing.oidc_subject is not None:
                raise Conflict("An account with this e-mail address exists; sign in to link it")
            existing.oidc_issuer, existing.oidc_subject = claims.issuer, claims.subject
            user = existing
    if user is None:
        pseudonym = hashlib.sha256(f"{claims.issuer} {claims.subject}".encode()).hexdigest()
        email = claims.email or f"{pseudonym[:32]}@oidc.invalid"
        user = service.create_user(
            session=session,
            email=email,
            display_name=(claims.name or "").strip()[:200] or "—",
            password=None,  # no password: this account signs in through its provider only
            locale=claims.locale if claims.locale in ("nb", "en") else "nb",
        )
        user.oidc_issuer, user.oidc_subject = claims.issuer, claims.subject
    user.last_login_at = utcnow()
    session.flush()
    return user
