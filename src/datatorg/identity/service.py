"""Identity services: users, organisations, memberships, API tokens, actors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from datatorg.db import writes
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Invalid, NotFound
from datatorg.identity import invitations, tokens
from datatorg.identity.actor import Actor
from datatorg.identity.models import (
    ApiToken,
    Membership,
    MembershipInvitation,
    Organisation,
    OrgKind,
    Role,
    User,
)
from datatorg.identity.passwords import hash_password
from datatorg.identity.schemas import MIN_PASSWORD_LENGTH


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_orgnr(orgnr: str) -> str:
    """A Norwegian organisation number: nine digits with a valid mod-11 check digit."""
    digits = orgnr.replace(" ", "")
    if len(digits) != 9 or not digits.isdigit():
        raise Invalid("Organisation number must be nine digits", errors=[{"field": "orgnr"}])
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    rest = sum(int(d) * w for d, w in zip(digits[:8], weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    if check == 10 or check != int(digits[8]):
        raise Invalid("Organisation number has a wrong check digit", errors=[{"field": "orgnr"}])
    return digits


def get_user_by_email(*, session: Session, email: str) -> User | None:
    """The user with ``email`` (case-insensitive), if any."""
    if "\x00" in email:  # PostgreSQL refuses NUL in text; no address holds one anyway
        return None
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    *,
    session: Session,
    email: str,
    display_name: str,
    password: str | None,
    locale: str = "nb",
    is_superuser: bool = False,
) -> User:
    """A new user; the password is stored only as an Argon2 hash."""
    email = normalise_email(email)
    if get_user_by_email(session=session, email=email) is not None:
        raise Conflict("An account with this e-mail address already exists")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters",
            errors=[{"field": "password"}],
        )
    user = User(
        email=email,
        display_name=display_name.strip(),
        locale=locale,
        password_hash=hash_password(password) if password else None,
        is_superuser=is_superuser,
    )
    session.add(user)
    session.flush()
    return user


def create_organisation(
    *,
    session: Session,
    slug: str,
    name: str,
    orgnr: str | None = None,
    kind: OrgKind = OrgKind.business,
    homepage: str | None = None,
    email: str | None = None,
) -> Organisation:
    """A new organisation; ``orgnr`` is checked against the mod-11 rule."""
    number = validate_orgnr(orgnr) if orgnr else None
    clash = select(Organisation.id).where(Organisation.slug == slug)
    if number is not None:
        clash = select(Organisation.id).where(
            (Organisation.slug == slug) | (Organisation.orgnr == number)
        )
    if session.scalar(clash) is not None:
        raise Conflict("An organisation with this slug or organisation number already exists")
    org = Organisation(
        slug=slug,
        name=name,
        orgnr=number,
        kind=kind,
        homepage=homepage,
        email=email,
    )
    session.add(org)
    session.flush()
    return org


def get_organisation(*, session: Session, ref: str) -> Organisation:
    """An organisation by slug or UUID."""
    if "\x00" in ref or len(ref) > 100:
        raise NotFound("No such organisation")
    try:
        org = session.get(Organisation, uuid.UUID(ref))
    except ValueError:
        org = session.scalar(select(Organisation).where(Organisation.slug == ref))
    if org is None:
        raise NotFound("No such organisation")
    return org


def add_membership(
    *, session: Session, user: User, organisation: Organisation, role: Role
) -> Membership:
    """Give ``user`` ``role`` in ``organisation`` (idempotent)."""
    existing = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.organisation_id == organisation.id,
            Membership.role == role,
        )
    )
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role)
    session.add(membership)
    session.flush()
    return membership


def actor_for_user(*, session: Session, user: User, token: ApiToken | None = None) -> Actor:
    """The actor a user acts as, with all their roles."""
    rows = session.execute(
        select(Membership.organisation_id, Membership.role).where(Membership.user_id == user.id)
    ).all()
    return Actor(
        user_id=user.id,
        display_name=user.display_name,
        roles=frozenset((org_id, Role(role)) for org_id, role in rows),
        is_superuser=user.is_superuser,
        token_id=token.id if token else None,
        agreement_id=token.agreement_id if token else None,
    )


def create_token(
    *,
    session: Session,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    agreement_id: uuid.UUID | None = None,
) -> tuple[str, ApiToken]:
    """A new API token: the plaintext (to show once) and its stored record (digest only)."""
    plaintext = tokens.new_token()
    record = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        prefix=plaintext[:8],
        digest=tokens.digest(plaintext),
        expires_at=expires_at,
        agreement_id=agreement_id,
    )
    session.add(record)
    session.flush()
    return plaintext, record


# A bearer request's caller in one statement (a request with a token pays for no ORM objects):
# the token, its user and the user's memberships (one row each, or one row without any).
_ACTOR_BY_DIGEST = (
    select(
        ApiToken.id,
        ApiToken.agreement_id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id,
        User.display_name,
        User.is_superuser,
        User.is_active,
        Membership.organisation_id,
        Membership.role,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(ApiToken.digest == bindparam("digest"))
)


def actor_for_token(*, session: Session, plaintext: str) -> Actor | None:
    """The actor behind a bearer token (as ``actor_for_user`` gives it for the token's user), or
    None when the token is unknown, expired or revoked or its user inactive. One statement."""
    rows = session.execute(_ACTOR_BY_DIGEST, {"digest": tokens.digest(plaintext)}).all()
    if not rows:
        return None
    first = rows[0]
    token_id, agreement_id, expires_at, revoked_at, last_used_at = first[:5]
    user_id, display_name, is_superuser, is_active = first[5:9]
    now = utcnow()
    if not is_active or not _token_valid(revoked_at, expires_at, now):
        return None
    if _touch_due(last_used_at, now):
        _touch(session, token_id, now)
    return Actor(
        user_id=user_id,
        display_name=display_name,
        roles=frozenset((r[9], Role(r[10])) for r in rows if r[9] is not None),
        is_superuser=is_superuser,
        token_id=token_id,
        agreement_id=agreement_id,
    )


def _token_valid(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> bool:
    return revoked_at is None and (expires_at is None or expires_at > now)


def _touch_due(last_used_at: datetime | None, now: datetime) -> bool:
    # Recorded to the minute: one write per token per minute, not one per request.
    return last_used_at is None or now - last_used_at > timedelta(minutes=1)


def _touch(session: Session, token_id: uuid.UUID, now: datetime) -> None:
    """Note the token's use. In a write transaction it is one more change; otherwise (a read
    request, or a write request's look-up, which takes no turn) the look-up is committed and
    the use written in a transaction of its own, if the database's write turn is free now (a
    look-up never waits for writes; the next use records it)."""
    stmt = update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
    if writes.in_write_transaction(session):
        session.execute(stmt, execution_options={"synchronize_session": False})
        return
    try:
        writes.begin(session, wait_s=0)
    except writes.WriteBusy:
        return
    session.execute(stmt, execution_options={"synchronize_session": False})
    session.commit()


def revoke_token(*, session: Session, user: User, token_id: uuid.UUID) -> None:
    """Revoke one of ``user``'s tokens."""
    record = session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id:
        raise NotFound("No such token")
    record.revoked_at = utcnow()


def list_organisations(*, session: Session) -> list[Organisation]:
    """Every organisation, by name."""
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def memberships_of(*, session: Session, user_id: uuid.UUID) -> list[Membership]:
    """A user's memberships, with their organisations loaded."""
    return list(
        session.scalars(
            select(Membership)
            .join(Organisation)
            .where(Membership.user_id == user_id)
            .order_by(Organisation.name, Membership.role)
        )
    )


def list_members(*, session: Session, organisation: Organisation) -> list[Membership]:
    """The memberships of an organisation, with their users loaded."""
    return list(
        session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.organisation_id == organisation.id)
            .order_by(User.display_name, Membership.role)
        )
    )


def invite_by_email(
    *,
    session: Session,
    organisation: Organisation,
    email: str,
    role: Role,
    invited_by: uuid.UUID | None,
) -> tuple[MembershipInvitation, bool]:
    """Invite the account with ``email`` to ``role`` in ``organisation`` (``invitations``):
    the role is given when that person accepts. Whether the invitation is new."""
    user = get_user_by_email(session=session, email=email)
    if user is None:
        raise NotFound("No account has this e-mail address", errors=[{"field": "email"}])
    return invitations.invite(
        session=session, organisation=organisation, user=user, role=role, invited_by=invited_by
    )


def remove_membership(
    *, session: Session, organisation: Organisation, membership_id: uuid.UUID
) -> Membership:
    """Remove one membership; the last admin of an organisation stays."""
    membership = session.get(Membership, membership_id)
    if membership is None or membership.organisation_id != organisation.id:
        raise NotFound("No such membership")
    if membership.role == Role.admin:
        admins = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == organisation.id, Membership.role == Role.admin)
        )
        if (admins or 0) <= 1:
            raise Conflict("An organisation keeps at least one admin")
    session.delete(membership)
    session.flush()
    return membership


def update_profile(
    *, session: Session, user: User, display_name: str | None, locale: str | None
) -> User:
    """Change a user's display name and language."""
    if display_name is not None:
        user.display_name = display_name
    if locale is not None:
        user.locale = locale
    session.flush()
    return user


def list_tokens(*, session: Session, user_id: uuid.UUID) -> list[ApiToken]:
    """A user's personal API tokens (not the agreement-scoped ones), newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.agreement_id.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )
