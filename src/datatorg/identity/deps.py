"""FastAPI dependencies for who is asking: ``ActorDep``, ``UserActorDep``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from datatorg.errors import Unauthenticated
from datatorg.identity import service, sessions
from datatorg.identity.actor import ANONYMOUS, Actor
from datatorg.web.deps import SessionDep


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The caller: a bearer token holder, a signed-in browser session, or anonymous."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    actor = ANONYMOUS
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = service.user_for_token(session=session, plaintext=header[7:].strip())
        if found is None:
            raise Unauthenticated("The API token is unknown, expired or revoked")
        user, token = found
        actor = service.actor_for_user(session=session, user=user, token=token)
    else:
        browser_user = sessions.user_for_request(request=request, session=session)
        if browser_user is not None:
            actor = service.actor_for_user(session=session, user=browser_user)
    request.state.actor = actor
    return actor


def require_user(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """The caller, who must be signed in."""
    if not actor.is_authenticated:
        raise Unauthenticated("Sign in or send an API token")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
UserActorDep = Annotated[Actor, Depends(require_user)]
