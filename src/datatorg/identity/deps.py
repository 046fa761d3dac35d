"""FastAPI dependencies for who is asking: ``ActorDep``, ``UserActorDep``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from datatorg.db import writes
from datatorg.errors import Forbidden, Unauthenticated
from datatorg.identity import service, sessions
from datatorg.identity.actor import ANONYMOUS, Actor
from datatorg.web import csrf
from datatorg.web.admission import PROBE_PATHS
from datatorg.web.deps import SessionDep

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _check_api_csrf(request: Request) -> None:
    """A browser session calling the JSON API with an unsafe method must send X-CSRF-Token.

    (HTML forms are checked by ``CsrfDep``; bearer tokens are not sent by browsers on their
    own, so they need no check.)
    """
    if request.method in SAFE_METHODS or not request.url.path.startswith("/api/"):
        return
    cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
    sent = request.headers.get(csrf.CSRF_HEADER, "")
    secret = request.app.state.settings.secret_key.get_secret_value()
    if not (cookie and sent and hmac.compare_digest(cookie, sent)):
        raise Forbidden("Send the X-CSRF-Token header with the value of the datatorg_csrf cookie")
    if not csrf.is_well_signed(secret, cookie):
        raise Forbidden("Send the X-CSRF-Token header with the value of the datatorg_csrf cookie")


async def get_actor(request: Request, session: SessionDep) -> Actor:
    """The caller: a bearer token holder, a signed-in browser session, or anonymous.

    A request with neither a token nor a session cookie is anonymous without a database
    lookup or a trip to the thread pool (most open-data API reads), and so is a health probe
    whatever it sends (``PROBE_PATHS``: a look-up per probe, and a stale token would make a
    live process look down with 401).
    """
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    if request.url.path in PROBE_PATHS or (
        "authorization" not in request.headers and not request.cookies.get(sessions.SESSION_COOKIE)
    ):
        request.state.browser_user = None
        request.state.actor = ANONYMOUS
        return ANONYMOUS
    return await run_in_threadpool(resolve_actor, request, session)


def resolve_actor(request: Request, session: Session) -> Actor:
    """``get_actor``'s work, for code that already is in a worker thread (direct routes)."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    if writes.is_write_session(session):
        # A write request's look-up only reads: it waits for no writer turn, and the handler's
        # transaction takes the turn once (it used to be taken here too, and given back).
        writes.begin_read(session)
    actor = ANONYMOUS
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = service.actor_for_token(session=session, plaintext=header[7:].strip())
        if found is None:
            raise Unauthenticated("The API token is unknown, expired or revoked")
        actor = found
    else:
        browser_user = sessions.user_for_request(request=request, session=session)
        if browser_user is not None:
            _check_api_csrf(request)
            actor = service.actor_for_user(session=session, user=browser_user)
    request.state.actor = actor
    if writes.is_write_session(session) and session.in_transaction():
        # End the look-up's transaction now rather than hold it while the handler waits for
        # a thread of its own (datatorg.db.writes).
        session.commit()
    return actor


def require_user(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """The caller, who must be signed in."""
    if not actor.is_authenticated:
        raise Unauthenticated("Sign in or send an API token")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
UserActorDep = Annotated[Actor, Depends(require_user)]
