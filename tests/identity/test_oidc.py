"""The OpenID Connect seam: providers plug in; verified claims link or create a user."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from datatorg.errors import Conflict, NotFound
from datatorg.identity import oidc
from tests.factories import make_user

ISSUER = "https://idporten.no"


class FakeIdPorten:
    """A provider as a test double: no network, claims given up front."""

    name = oidc.ID_PORTEN
    issuer = ISSUER
    label = "ID-porten"

    def __init__(self, claims: oidc.VerifiedClaims) -> None:
        self.claims = claims

    def authorization_url(self, *, state: str, nonce: str, redirect_uri: str) -> str:
        return f"{ISSUER}/authorize?state={state}&nonce={nonce}&redirect_uri={redirect_uri}"

    def verify(self, *, code: str, nonce: str, redirect_uri: str) -> oidc.VerifiedClaims:
        return self.claims


def test_registry_and_first_sign_in_creates_a_passwordless_user(session: Session) -> None:
    provider = FakeIdPorten(oidc.VerifiedClaims(issuer=ISSUER, subject="pairwise-abc", name="Ola"))
    oidc.register(provider)
    try:
        assert oidc.names() == [oidc.ID_PORTEN]
        found = oidc.get(oidc.ID_PORTEN)
        assert "state=s1" in found.authorization_url(state="s1", nonce="n", redirect_uri="/cb")
        claims = found.verify(code="c", nonce="n", redirect_uri="/cb")
    finally:
        oidc.unregister(oidc.ID_PORTEN)
    with pytest.raises(NotFound):
        oidc.get(oidc.ID_PORTEN)
    user = oidc.link_or_create_user(session=session, claims=claims)
    assert user.oidc_issuer == ISSUER and user.oidc_subject == "pairwise-abc"
    assert user.password_hash is None and user.display_name == "Ola"
    assert "pairwise" not in user.email  # placeholder address is a pseudonym
    again = oidc.link_or_create_user(session=session, claims=claims)
    assert again.id == user.id


def test_verified_email_links_an_existing_account(session: Session) -> None:
    user = make_user(session, email="ansatt@halden.kommune.no")
    claims = oidc.VerifiedClaims(
        issuer="https://login.microsoftonline.com/tenant/v2.0",
        subject="entra-123",
        email="Ansatt@halden.kommune.no",
        email_verified=True,
    )
    linked = oidc.link_or_create_user(session=session, claims=claims)
    assert linked.id == user.id and linked.oidc_subject == "entra-123"


def test_unverified_email_does_not_take_over_an_account(session: Session) -> None:
    user = make_user(session, email="offer@example.no")
    claims = oidc.VerifiedClaims(
        issuer=ISSUER, subject="attacker", email="offer@example.no", email_verified=False
    )
    with pytest.raises(Conflict):
        oidc.link_or_create_user(session=session, claims=claims)
    assert user.oidc_subject is None
