"""Helpers shared by the identity router and pages (request facts, read models, guards)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity import invitations, mails, service
from datatorg.identity.actor import Actor
from datatorg.identity.models import ApiToken, MembershipInvitation, Organisation, Role, User
from datatorg.identity.schemas import (
    InvitationRead,
    MembershipRead,
    OrganisationSummary,
    TokenCreate,
    UserRead,
)
from datatorg.web import labels
from datatorg.web.urls import public_base


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


def invite(
    request: Request,
    session: Session,
    actor: Actor,
    organisation: Organisation,
    email: str,
    role: Role,
) -> MembershipInvitation:
    """Invite an existing account to a role (``invitations``), record it and mail the person
    (through the outbox after commit: the answer does not wait for the mail server, and a
    rolled-back invitation mails nothing). Asking again gives
    the waiting invitation, recorded and mailed once."""
    found, new = service.invite_by_email(
        session=session, organisation=organisation, email=email, role=role, invited_by=actor.user_id
    )
    if not new:
        return found
    audit.record(
        session=session,
        actor=actor,
        action="membership.invite",
        target_type="membership_invitation",
        target_id=str(found.id),
        details={"role": role.value, "organisation": organisation.slug},
    )
    words = (labels.label("role", role, "nb"), labels.label("role", role, "en"))
    subject, body = mails.invitation_mail(
        organisation=organisation.name, role=words, link=f"{public_base(request)}/account"
    )
    mails.queue_mail(
        session=session, kind=mails.INVITATION_KIND, to=found.user.email, subject=subject, body=body
    )
    return found


def answer_invitation(
    session: Session, actor: Actor, invitation_id: uuid.UUID, *, accept: bool
) -> None:
    """The invited person accepts (the role is given) or declines."""
    assert actor.user_id is not None
    if accept:
        invitations.accept(session=session, user_id=actor.user_id, invitation_id=invitation_id)
    else:
        invitations.decline(session=session, user_id=actor.user_id, invitation_id=invitation_id)
    audit.record(
        session=session,
        actor=actor,
        action="membership.accept" if accept else "membership.decline",
        target_type="membership_invitation",
        target_id=str(invitation_id),
    )


def invitation_read(found: MembershipInvitation) -> InvitationRead:
    return InvitationRead(
        id=found.id,
        organisation=OrganisationSummary.model_validate(found.organisation),
        role=found.role,
        state=found.state,
        user_id=found.user_id,
        display_name=found.user.display_name,
        email=found.user.email,
        created_at=found.created_at,
    )
