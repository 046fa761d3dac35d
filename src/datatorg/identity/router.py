"""Identity JSON API: ``/api/v1/auth``, ``/api/v1/me``, ``/api/v1/organisations``.

The twin of ``pages.py``: both call the same services and policies.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from datatorg.audit import service as audit
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity import auth, invitations, mails, policies, service, sessions
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.identity.schemas import (
    InvitationRead,
    LoginCreate,
    MemberCreate,
    MemberRead,
    OrganisationCreate,
    OrganisationRead,
    PasswordResetConfirm,
    PasswordResetRequest,
    SignupCreate,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserRead,
    UserUpdate,
)
from datatorg.identity.views import (
    answer_invitation,
    client_address,
    current_user,
    invitation_read,
    invite,
    require,
    user_read,
)
from datatorg.identity.views import create_token as create_token_for
from datatorg.web.deps import SessionDep, SettingsDep
from datatorg.web.errorhandlers import problem_response

router = APIRouter(prefix="/api/v1", tags=["identity"])

MEMBERS_ONLY = "Only the organisation's admins manage its members"
RESET_ANSWER = {
    "detail": "If an account has this e-mail address, a reset link is on its way.",
}


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, dependencies=[perm.ANYONE])
def signup(data: SignupCreate, session: SessionDep) -> UserRead:
    """Create an account (no organisation role); the terms must be accepted."""
    user = auth.sign_up(session=session, data=data)
    return user_read(session, user)


@router.post("/auth/login", dependencies=[perm.ANYONE])
def login(
    data: LoginCreate, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Sign in: sets the ``datatorg_session`` cookie. Throttled (429 with Retry-After)."""
    user = auth.authenticate(
        session=session,
        settings=settings,
        email=data.email,
        password=data.password,
        address=client_address(request),
    )
    if user is None:  # returned, not raised, so the counted failure commits
        return problem_response(request, Unauthenticated("Wrong e-mail address or password"))
    token = sessions.start_session(
        session=session,
        user=user,
        settings=settings,
        replacing=request.cookies.get(sessions.SESSION_COOKIE),
    )
    response = JSONResponse(user_read(session, user).model_dump(mode="json"))
    sessions.set_session_cookie(response, token, settings)
    return response


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[perm.ANYONE])
def logout(request: Request, session: SessionDep, settings: SettingsDep, _: ActorDep) -> Response:
    """Sign out: the server forgets the session."""
    token = request.cookies.get(sessions.SESSION_COOKIE)
    if token:
        sessions.end_session(session=session, token=token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    sessions.clear_session_cookie(response, settings)
    return response


@router.post(
    "/auth/password-reset", status_code=status.HTTP_202_ACCEPTED, dependencies=[perm.ANYONE]
)
def password_reset(
    data: PasswordResetRequest,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, str]:
    """Mail a reset link; the answer is the same whether or not the account exists."""
    issued = auth.request_password_reset(session=session, settings=settings, email=data.email)
    if issued is not None:
        mails.queue_reset_mail(session=session, issued=issued, minutes=settings.reset_token_minutes)
    return RESET_ANSWER


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[perm.ANYONE],
)
def password_reset_confirm(data: PasswordResetConfirm, session: SessionDep) -> None:
    """Set a new password with the token from the mail; every session of the account ends."""
    auth.complete_password_reset(session=session, token=data.token, password=data.password)


@router.get("/me", dependencies=[perm.SIGNED_IN])
def me(actor: UserActorDep, session: SessionDep) -> UserRead:
    """The signed-in account with its memberships."""
    return user_read(session, current_user(session, actor))


@router.patch("/me", dependencies=[perm.PERSON])
def update_me(data: UserUpdate, actor: UserActorDep, session: SessionDep) -> UserRead:
    """Change the display name or language."""
    require(policies.can_manage_own_account(actor))
    user = current_user(session, actor)
    service.update_profile(
        session=session, user=user, display_name=data.display_name, locale=data.locale
    )
    return user_read(session, user)


@router.get("/me/tokens", dependencies=[perm.PERSON])
def list_tokens(actor: UserActorDep, session: SessionDep) -> list[TokenRead]:
    """The account's personal API tokens (never the tokens themselves)."""
    require(policies.can_manage_own_account(actor))
    return [
        TokenRead.model_validate(t)
        for t in service.list_tokens(session=session, user_id=actor.user_id)  # type: ignore[arg-type]
    ]


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, dependencies=[perm.PERSON])
def create_token(data: TokenCreate, actor: UserActorDep, session: SessionDep) -> TokenCreated:
    """A new personal API token; the response holds it, and nothing will show it again."""
    require(policies.can_manage_own_account(actor))
    plaintext, record = create_token_for(session, current_user(session, actor), data)
    audit.record(
        session=session,
        actor=actor,
        action="token.create",
        target_type="api_token",
        target_id=str(record.id),
    )
    return TokenCreated(**TokenRead.model_validate(record).model_dump(), token=plaintext)


@router.delete(
    "/me/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[perm.own(perm.api_token, person=True)],
)
def revoke_token(token_id: uuid.UUID, actor: UserActorDep, session: SessionDep) -> None:
    """Revoke a token at once."""
    require(policies.can_manage_own_account(actor))
    service.revoke_token(session=session, user=current_user(session, actor), token_id=token_id)
    audit.record(
        session=session,
        actor=actor,
        action="token.revoke",
        target_type="api_token",
        target_id=str(token_id),
    )


@router.get("/organisations", dependencies=[perm.ANYONE])
def list_organisations(session: SessionDep) -> list[OrganisationRead]:
    """Every organisation (public: name, organisation number, kind)."""
    return [OrganisationRead.model_validate(o) for o in service.list_organisations(session=session)]


@router.post("/organisations", status_code=status.HTTP_201_CREATED, dependencies=[perm.SUPERUSER])
def create_organisation(
    data: OrganisationCreate, actor: UserActorDep, session: SessionDep
) -> OrganisationRead:
    """Register an organisation (platform administrators)."""
    require(policies.can_create_organisation(actor))
    org = service.create_organisation(
        session=session,
        slug=data.slug,
        name=data.name.strip(),
        orgnr=data.orgnr,
        kind=data.kind,
        homepage=data.homepage,
    )
    audit.record(
        session=session,
        actor=actor,
        action="organisation.create",
        target_type="organisation",
        target_id=str(org.id),
    )
    return OrganisationRead.model_validate(org)


@router.get("/organisations/{slug}", dependencies=[perm.ANYONE])
def get_organisation(slug: str, session: SessionDep) -> OrganisationRead:
    """One organisation."""
    return OrganisationRead.model_validate(service.get_organisation(session=session, ref=slug))


def _members(session: Session, slug: str, actor: Actor, manage: bool) -> list[MemberRead]:
    """The members list, for those the policy lets see (or manage) it."""
    org = service.get_organisation(session=session, ref=slug)
    allowed = policies.can_manage_members if manage else policies.can_view_members
    if not allowed(actor, org):
        raise Forbidden(MEMBERS_ONLY)
    return [
        MemberRead(
            membership_id=m.id,
            user_id=m.user_id,
            display_name=m.user.display_name,
            email=m.user.email,
            role=m.role,
        )
        for m in service.list_members(session=session, organisation=org)
    ]


@router.get(
    "/organisations/{slug}/members",
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def list_members(slug: str, actor: UserActorDep, session: SessionDep) -> list[MemberRead]:
    """Members and roles (the organisation's admins only)."""
    return _members(session, slug, actor, manage=False)


@router.post(
    "/organisations/{slug}/members",
    status_code=status.HTTP_201_CREATED,
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def add_member(
    slug: str,
    data: MemberCreate,
    request: Request,
    actor: UserActorDep,
    session: SessionDep,
) -> InvitationRead:
    """Invite an existing account to a role: it is given when the person accepts."""
    org = service.get_organisation(session=session, ref=slug)
    require(policies.can_manage_members(actor, org), MEMBERS_ONLY)
    require(
        policies.can_grant(actor, org, data.role),
        "Only platform administrators name living-lab coordinators and evaluators",
    )
    found = invite(request, session, actor, org, data.email, data.role)
    return invitation_read(found)


@router.get(
    "/organisations/{slug}/invitations",
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def list_invitations(slug: str, actor: UserActorDep, session: SessionDep) -> list[InvitationRead]:
    """Invitations that wait for an answer (the organisation's admins only)."""
    org = service.get_organisation(session=session, ref=slug)
    require(policies.can_manage_members(actor, org), MEMBERS_ONLY)
    found = invitations.pending_for_organisation(session=session, organisation=org)
    return [invitation_read(i) for i in found]


@router.delete(
    "/organisations/{slug}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def withdraw_invitation(
    slug: str, invitation_id: uuid.UUID, actor: UserActorDep, session: SessionDep
) -> None:
    """Take back an invitation that still waits."""
    org = service.get_organisation(session=session, ref=slug)
    require(policies.can_manage_members(actor, org), MEMBERS_ONLY)
    invitations.withdraw(session=session, organisation=org, invitation_id=invitation_id)
    audit.record(
        session=session,
        actor=actor,
        action="membership.withdraw_invitation",
        target_type="membership_invitation",
        target_id=str(invitation_id),
    )


@router.get("/me/invitations", dependencies=[perm.PERSON])
def my_invitations(actor: UserActorDep, session: SessionDep) -> list[InvitationRead]:
    """Roles offered to the account that wait for its answer."""
    assert actor.user_id is not None
    found = invitations.pending_for_user(session=session, user_id=actor.user_id)
    return [invitation_read(i) for i in found]


@router.post("/me/invitations/{invitation_id}/accept", dependencies=[perm.PERSON])
def accept_invitation(
    invitation_id: uuid.UUID, actor: UserActorDep, session: SessionDep
) -> UserRead:
    """Say yes: the role is given; the account with its memberships."""
    answer_invitation(session, actor, invitation_id, accept=True)
    return user_read(session, current_user(session, actor))


@router.post(
    "/me/invitations/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[perm.PERSON],
)
def decline_invitation(invitation_id: uuid.UUID, actor: UserActorDep, session: SessionDep) -> None:
    """Say no: nothing is given."""
    answer_invitation(session, actor, invitation_id, accept=False)


@router.delete(
    "/organisations/{slug}/members/{membership_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def remove_member(
    slug: str, membership_id: uuid.UUID, actor: UserActorDep, session: SessionDep
) -> None:
    """Take a role away (the last admin stays)."""
    org = service.get_organisation(session=session, ref=slug)
    require(
        policies.can_manage_members(actor, org), "Only the organisation's admins manage its members"
    )
    removed = service.remove_membership(
        session=session, organisation=org, membership_id=membership_id
    )
    audit.record(
        session=session,
        actor=actor,
        action="membership.remove",
        target_type="membership",
        target_id=str(membership_id),
        details={"role": removed.role.value, "organisation": org.slug},
    )
