"""Invitations to a role in an organisation: offered by its admins, given on acceptance.

An organisation's admin used to give any existing account any role at once; the person was
made a member (and took on the role's duties and access) without being asked. A role is now
an invitation the person accepts or declines on their account page (or through the API);
the admins see what waits and may withdraw it. Operators giving a role from the command line
(``datatorg users grant``) and an organisation's founding admin are not invited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.db.base import utcnow
from datatorg.errors import Conflict, NotFound
from datatorg.identity.models import (
    InvitationState,
    Membership,
    MembershipInvitation,
    Organisation,
    Role,
    User,
)


def invite(
    *,
    session: Session,
    organisation: Organisation,
    user: User,
    role: Role,
    invited_by: uuid.UUID | None,
) -> tuple[MembershipInvitation, bool]:
    """Invite ``user`` to ``role``; the waiting invitation when one exists already (and
    whether it is new)."""
    held = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.organisation_id == organisation.id,
            Membership.role == role,
        )
    )
    if held is not None:
        raise Conflict("The person already has this role", errors=[{"field": "role"}])
    waiting = session.scalar(
        select(MembershipInvitation).where(
            MembershipInvitation.user_id == user.id,
            MembershipInvitation.organisation_id == organisation.id,
            MembershipInvitation.role == role,
            MembershipInvitation.state == InvitationState.pending,
        )
    )
    if waiting is not None:
        return waiting, False
    found = MembershipInvitation(
        user_id=user.id, organisation_id=organisation.id, role=role, invited_by=invited_by
    )
    session.add(found)
    session.flush()
    return found, True


def pending_for_user(*, session: Session, user_id: uuid.UUID) -> list[MembershipInvitation]:
    """The invitations waiting for the person's answer, oldest first."""
    return list(
        session.scalars(
            select(MembershipInvitation)
            .where(
                MembershipInvitation.user_id == user_id,
                MembershipInvitation.state == InvitationState.pending,
            )
            .order_by(MembershipInvitation.created_at, MembershipInvitation.id)
        )
    )


def pending_for_organisation(
    *, session: Session, organisation: Organisation
) -> list[MembershipInvitation]:
    """The organisation's invitations that wait for an answer, oldest first."""
    return list(
        session.scalars(
            select(MembershipInvitation)
            .where(
                MembershipInvitation.organisation_id == organisation.id,
                MembershipInvitation.state == InvitationState.pending,
            )
            .order_by(MembershipInvitation.created_at, MembershipInvitation.id)
        )
    )


def _waiting(
    session: Session, invitation_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> MembershipInvitation:
    found = session.get(MembershipInvitation, invitation_id, with_for_update=True)
    if found is None or (user_id is not None and found.user_id != user_id):
        raise NotFound("No such invitation")  # another person's: not said to exist
    if found.state != InvitationState.pending:
        raise Conflict("The invitation is already answered or withdrawn")
    return found


def accept(*, session: Session, user_id: uuid.UUID, invitation_id: uuid.UUID) -> Membership:
    """The invited person says yes: the role is given."""
    found = _waiting(session, invitation_id, user_id=user_id)
    found.state, found.decided_at = InvitationState.accepted, utcnow()
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == found.user_id,
            Membership.organisation_id == found.organisation_id,
            Membership.role == found.role,
        )
    )
    if membership is None:
        membership = Membership(
            user_id=found.user_id, organisation_id=found.organisation_id, role=found.role
        )
        session.add(membership)
    session.flush()
    return membership


def decline(*, session: Session, user_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    """The invited person says no: nothing is given."""
    found = _waiting(session, invitation_id, user_id=user_id)
    found.state, found.decided_at = InvitationState.declined, utcnow()
    session.flush()


def withdraw(
    *, session: Session, organisation: Organisation, invitation_id: uuid.UUID
) -> MembershipInvitation:
    """An admin takes back an invitation that still waits."""
    found = session.get(MembershipInvitation, invitation_id)
    if found is None or found.organisation_id != organisation.id:
        raise NotFound("No such invitation")
    found = _waiting(session, invitation_id)
    found.state, found.decided_at = InvitationState.withdrawn, utcnow()
    session.flush()
    return found
