"""Account and organisation pages: profile, memberships, API tokens, members.

The twin of the ``/api/v1/me`` and ``/api/v1/organisations`` routes in ``router.py``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from datatorg.audit import service as audit
from datatorg.errors import Conflict, Forbidden, NotFound
from datatorg.identity import invitations, policies, service
from datatorg.identity import permissions as perm
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep, UserActorDep
from datatorg.identity.models import Role
from datatorg.identity.schemas import TokenCreate, UserUpdate
from datatorg.identity.views import answer_invitation, create_token, current_user, invite, require
from datatorg.web.csrf import CsrfDep
from datatorg.web.deps import SessionDep
from datatorg.web.i18n import gettext as _
from datatorg.web.templating import render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]


def _account(
    request: Request,
    session: SessionDep,
    actor: Actor,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    user = current_user(session, actor)
    ctx: dict[str, Any] = {
        "user": user,
        "memberships": service.memberships_of(session=session, user_id=user.id),
        "tokens": service.list_tokens(session=session, user_id=user.id),
        "invitations": invitations.pending_for_user(session=session, user_id=user.id),
        "done": request.query_params.get("done"),
        "errors": {},
    }
    ctx.update(extra or {})
    response = render(request, "identity/account.html", ctx, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/account", dependencies=[perm.ANYONE])
def account(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    if not actor.is_authenticated:
        return RedirectResponse("/login?next=/account", status_code=303)
    return _account(request, session, actor)


@router.post("/account/profile", dependencies=[perm.PERSON])
def update_profile(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    display_name: FormStr = "",
) -> Response:
    require(policies.can_manage_own_account(actor))
    try:
        data = UserUpdate(display_name=display_name)
    except ValidationError:
        errors = {"display_name": _("Enter your name (at most 200 characters).")}
        return _account(request, session, actor, {"errors": errors}, status_code=422)
    user = current_user(session, actor)
    service.update_profile(session=session, user=user, display_name=data.display_name, locale=None)
    return RedirectResponse("/account?done=profile", status_code=303)


@router.post("/account/tokens", dependencies=[perm.PERSON])
def create_account_token(
    _csrf: CsrfDep,
    request: Request,
    session: SessionDep,
    actor: UserActorDep,
    token_name: FormStr = "",
    days: FormStr = "90",
) -> Response:
    require(policies.can_manage_own_account(actor))
    try:
        data = TokenCreate(
            name=token_name, days=int(days) if days.strip() not in ("", "0") else None
        )
    except (ValidationError, ValueError):
        errors = {"token_name": _("Give the token a name (at most 200 characters).")}
        return _account(request, session, actor, {"errors": errors}, status_code=422)
    plaintext, record = create_token(session, current_user(session, actor), data)
    audit.record(
        session=session,
        actor=actor,
        action="token.create",
        target_type="api_token",
        target_id=str(record.id),
    )
    # Rendered, not redirected: the token is shown this once and never put in a URL.
    return _account(request, session, actor, {"new_token": plaintext}, status_code=201)


@router.post(
    "/account/tokens/{token_id}/revoke", dependencies=[perm.own(perm.api_token, person=True)]
)
def revoke_account_token(
    _csrf: CsrfDep, token_id: uuid.UUID, session: SessionDep, actor: UserActorDep
) -> Response:
    require(policies.can_manage_own_account(actor))
    service.revoke_token(session=session, user=current_user(session, actor), token_id=token_id)
    audit.record(
        session=session,
        actor=actor,
        action="token.revoke",
        target_type="api_token",
        target_id=str(token_id),
    )
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.get("/organisations", dependencies=[perm.ANYONE])
def organisations(request: Request, session: SessionDep) -> Response:
    return render(
        request,
        "identity/organisations.html",
        {"organisations": service.list_organisations(session=session)},
    )


def _organisation_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    slug: str,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    org = service.get_organisation(session=session, ref=slug)
    manage = policies.can_manage_members(actor, org)
    ctx: dict[str, Any] = {
        "org": org,
        "manage": manage,
        "members": service.list_members(session=session, organisation=org) if manage else [],
        "invitations": (
            invitations.pending_for_organisation(session=session, organisation=org)
            if manage
            else []
        ),
        "roles": [r for r in Role if policies.can_grant(actor, org, r)],
        "done": request.query_params.get("done"),
        "error": None,
    }
    ctx.update(extra or {})
    return render(request, "identity/organisation.html", ctx, status_code=status_code)


@router.get("/organisations/{slug}", dependencies=[perm.ANYONE])
def organisation(request: Request, slug: str, session: SessionDep, actor: ActorDep) -> Response:
    return _organisation_page(request, session, actor, slug)


@router.post(
    "/organisations/{slug}/members",
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def add_member(
    _csrf: CsrfDep,
    request: Request,
    slug: str,
    session: SessionDep,
    actor: UserActorDep,
    email: FormStr = "",
    role: FormStr = "",
) -> Response:
    org = service.get_organisation(session=session, ref=slug)
    if not policies.can_manage_members(actor, org):
        raise Forbidden("Only the organisation's admins manage its members")
    if role not in Role.__members__ or not 0 < len(email) <= 320:
        error = _("Choose a role and give the e-mail address of an existing account.")
        return _organisation_page(request, session, actor, slug, {"error": error}, 422)
    if not policies.can_grant(actor, org, Role(role)):
        raise Forbidden("Only platform administrators name living-lab coordinators and evaluators")
    try:
        invite(request, session, actor, org, email, Role(role))
    except NotFound:
        error = _("No account has this e-mail address. Ask the person to sign up first.")
        return _organisation_page(request, session, actor, slug, {"error": error}, 404)
    except Conflict:
        error = _("The person already has this role.")
        return _organisation_page(request, session, actor, slug, {"error": error}, 409)
    return RedirectResponse(f"/organisations/{org.slug}?done=member-invited", status_code=303)


@router.post(
    "/organisations/{slug}/members/{membership_id}/remove",
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def remove_member(
    _csrf: CsrfDep,
    request: Request,
    slug: str,
    membership_id: uuid.UUID,
    session: SessionDep,
    actor: UserActorDep,
) -> Response:
    org = service.get_organisation(session=session, ref=slug)
    if not policies.can_manage_members(actor, org):
        raise Forbidden("Only the organisation's admins manage its members")
    try:
        removed = service.remove_membership(
            session=session, organisation=org, membership_id=membership_id
        )
    except Conflict:
        error = _("An organisation keeps at least one admin.")
        return _organisation_page(request, session, actor, slug, {"error": error}, 409)
    audit.record(
        session=session,
        actor=actor,
        action="membership.remove",
        target_type="membership",
        target_id=str(membership_id),
        details={"role": removed.role.value, "organisation": org.slug},
    )
    return RedirectResponse(f"/organisations/{org.slug}?done=member-removed", status_code=303)


@router.post(
    "/organisations/{slug}/invitations/{invitation_id}/withdraw",
    dependencies=[perm.org(perm.organisation, Role.admin, person=True)],
)
def withdraw_invitation(
    _csrf: CsrfDep,
    request: Request,
    slug: str,
    invitation_id: uuid.UUID,
    session: SessionDep,
    actor: UserActorDep,
) -> Response:
    org = service.get_organisation(session=session, ref=slug)
    if not policies.can_manage_members(actor, org):
        raise Forbidden("Only the organisation's admins manage its members")
    invitations.withdraw(session=session, organisation=org, invitation_id=invitation_id)
    audit.record(
        session=session,
        actor=actor,
        action="membership.withdraw_invitation",
        target_type="membership_invitation",
        target_id=str(invitation_id),
    )
    return RedirectResponse(f"/organisations/{org.slug}?done=invitation-withdrawn", status_code=303)


@router.post("/account/invitations/{invitation_id}/{answer}", dependencies=[perm.PERSON])
def answer(
    _csrf: CsrfDep,
    request: Request,
    invitation_id: uuid.UUID,
    answer: str,
    session: SessionDep,
    actor: UserActorDep,
) -> Response:
    """Accept or decline a role offered to the account."""
    if answer not in ("accept", "decline"):
        raise NotFound("Not found")
    try:
        answer_invitation(session, actor, invitation_id, accept=answer == "accept")
    except Conflict:
        error = _("This invitation is already answered or withdrawn.")
        return _account(request, session, actor, {"error": error}, 409)
    done = "invitation-accepted" if answer == "accept" else "invitation-declined"
    return RedirectResponse(f"/account?done={done}", status_code=303)
