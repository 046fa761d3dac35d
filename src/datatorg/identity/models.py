"""Identity tables: users, organisations, memberships, API tokens, sessions, resets, throttling."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from datatorg.db.base import Base, Timestamps, UUIDPk


class Role(enum.StrEnum):
    """What a member may do in an organisation (DESIGN.md, "Who uses it")."""

    admin = "admin"
    publisher = "publisher"
    steward = "steward"
    consumer = "consumer"
    citizen = "citizen"
    coordinator = "coordinator"
    evaluator = "evaluator"


class OrgKind(enum.StrEnum):
    """What kind of body an organisation is; offers admit consumers by kind."""

    public_sector = "public_sector"
    research = "research"
    education = "education"
    business = "business"
    private_person = "private_person"
    ngo = "ngo"


class User(UUIDPk, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="nb")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    # Seam for OpenID Connect (ID-porten for citizens, Entra ID for staff): issuer + subject.
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_subject: Mapped[str | None] = mapped_column(String(300))
    last_login_at: Mapped[datetime | None]
    terms_accepted_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Organisation(UUIDPk, Timestamps, Base):
    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(300))
    orgnr: Mapped[str | None] = mapped_column(String(9), unique=True)
    kind: Mapped[OrgKind] = mapped_column(
        Enum(OrgKind, native_enum=False, length=30), default=OrgKind.business
    )
    homepage: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(String(4000))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )


class Membership(UUIDPk, Timestamps, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class InvitationState(enum.StrEnum):
    """Where an invitation to a role stands: the invited person accepts or declines it; the
    organisation's admins may withdraw it while it waits."""

    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class MembershipInvitation(UUIDPk, Timestamps, Base):
    """An organisation's admin offers an existing account a role; the role is given only
    when that person accepts (nobody is made a member of anything without saying yes)."""

    __tablename__ = "membership_invitations"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    state: Mapped[InvitationState] = mapped_column(
        Enum(InvitationState, native_enum=False, length=12), default=InvitationState.pending
    )
    decided_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()


class ApiToken(UUIDPk, Timestamps, Base):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # Set by the marketplace for tokens that read through one agreement only.
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(index=True)

    user: Mapped[User] = relationship()


class BrowserSession(UUIDPk, Timestamps, Base):
    """A signed-in browser; the cookie holds a random token, the table only its SHA-256 digest."""

    __tablename__ = "browser_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PasswordReset(UUIDPk, Timestamps, Base):
    """A single-use, expiring password reset link; only its SHA-256 digest is stored."""

    __tablename__ = "password_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginFailure(UUIDPk, Base):
    """One failed login, keyed by keyed digests (HMAC) of the account and the client address.

    Counted over a sliding minute to throttle guessing; shared by every worker through the
    database. Neither the e-mail address nor the IP address is stored in the clear.
    """

    __tablename__ = "login_failures"

    account_key: Mapped[str] = mapped_column(String(64), index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
