"""Who may call a route: declared with the route, enforced before its parameters are read.

Every route carries one ``Access`` in its ``dependencies`` (as Dispatch's
``PermissionsDependency``), so the permissions can be read off the route table and the
route × role matrix test (``tests/test_route_matrix.py``) holds every route to them::

    @router.get("/api/v1/things", dependencies=[ANYONE])
    @router.post("/api/v1/things", dependencies=[PERSON])
    @router.patch("/api/v1/datasets/{ref}", dependencies=[org(DATASET, Role.publisher)])
    @router.post("/api/v1/agreements/{agreement_id}/terminate",
                 dependencies=[consumer(AGREEMENT, person=True)])

Audiences (who gets past; everyone else is refused — 401 when not signed in, else 403, or
404 when the route hides whether the thing exists):

* ``ANYONE`` — the public, signed in or not; ``PROBE`` — anyone, whatever token they send,
  which is not looked up (``/healthz``, ``/readyz``);
* ``SIGNED_IN`` — any signed-in caller; ``PERSON`` — signed in as a person, not through an
  agreement-scoped token (``PERSON_PAGE``: a page that itself sends anonymous callers to the
  sign-in page); ``SUPERUSER`` — platform administrators;
* ``role(*roles)`` — holders of one of ``roles`` in some organisation (and superusers);
* ``org(TARGET, *roles)`` — members of the organisation that owns the path's thing with one
  of ``roles`` (admins always, superusers always; no roles: any role);
* ``consumer(TARGET)`` — the consumer side of an agreement or access request;
  ``party(TARGET, *roles)`` — the consumer side or the provider's ``roles``;
* ``own(TARGET)`` — the thing belongs to the caller (their token, their notification);
* ``SUPERUSER_HIDDEN`` — platform administrators, and 404 for everyone else;
* ``GATE`` — reads of dataset contents, decided by the gate's pipeline itself
  (``datatorg.access.pipeline``: open data, the owner's duty roles, an agreement).

A ``TARGET`` is a function ``(session, path_params) -> Target`` that finds the path's thing
and says who owns it (``target("kind")`` tags it); domains keep theirs in their ``deps``
module. Checks that need the request body (which dataset an offer is for) stay in the
service; the route declares the audience it admits before looking at its input.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datatorg.errors import Forbidden, NotFound, Unauthenticated
from datatorg.identity.actor import Actor
from datatorg.identity.deps import ActorDep
from datatorg.identity.models import Role
from datatorg.web import csrf
from datatorg.web.deps import SessionDep

SIGN_IN = "Sign in or send an API token"


@dataclass(frozen=True)
class Target:
    """The thing a path names, as far as permissions go."""

    org_id: uuid.UUID | None = None  # the organisation that owns it
    consumer: Callable[[Actor], bool] | None = None  # the consumer side (agreements, requests)
    owner_user: uuid.UUID | None = None  # the person it belongs to (tokens, notifications)
    agreement_id: uuid.UUID | None = None  # the agreement it is (a key made for another: no)


Resolver = Callable[[Session, Mapping[str, str]], Target]


def target(kind: str) -> Callable[[Resolver], Resolver]:
    """Tag a resolver with the kind of thing it finds (``dataset``, ``agreement``, …)."""

    def tag(fn: Resolver) -> Resolver:
        fn.kind = kind  # type: ignore[attr-defined]
        return fn

    return tag


@dataclass(frozen=True)
class Access:
    """A route's declared audience (see the module docstring)."""

    audience: str
    roles: tuple[Role, ...] = ()
    of: Resolver | None = None
    person: bool = False  # agreement-scoped tokens are refused
    hide: bool = False  # refusals answer 404: whether the thing exists is not for others
    signin_page: bool = False  # a page that sends callers who are not signed in to sign in
    note: str = ""
    caller: bool = True  # False: the caller is never looked up (``PROBE``)

    @property
    def kind(self) -> str | None:
        return getattr(self.of, "kind", None) if self.of is not None else None

    def describe(self) -> str:
        """In words, for the OpenAPI description and the docs."""
        parts = [self.audience]
        if self.roles:
            parts.append("(" + ", ".join(r.value for r in self.roles) + ")")
        if self.kind:
            parts.append(f"of the {self.kind}")
        if self.person:
            parts.append("signed in as a person")
        return " ".join(parts)

    def refuse(self, actor: Actor, message: str) -> Exception:
        if self.hide:
            return NotFound("Not found")
        if not actor.is_authenticated:
            return Unauthenticated(SIGN_IN)
        return Forbidden(message)

    def allows_caller(self, actor: Actor) -> bool:
        """The part of the check that needs no database."""
        if self.audience in ("anyone", "gate"):
            return True
        if not actor.is_authenticated:
            return self.signin_page  # the page itself redirects them to sign in
        if self.person and actor.agreement_id is not None:
            return False
        if self.audience == "superuser":
            return actor.is_superuser
        if self.audience == "role":
            return actor.has_any_role(*self.roles)
        return True

    def check(self, session: Session, actor: Actor, params: Mapping[str, str]) -> None:
        """Raise if ``actor`` may not call the route for the thing ``params`` name."""
        if not self.allows_caller(actor):
            raise self.refuse(actor, "You may not do this")
        if self.of is None or self.audience in ("anyone", "gate") or not actor.is_authenticated:
            return
        t = self.of(session, params)
        if actor.agreement_id is not None and t.agreement_id not in (None, actor.agreement_id):
            # a key made for one agreement reaches that agreement only
            raise self.refuse(actor, "You may not do this with this " + (self.kind or "thing"))
        ok = False
        if self.audience in ("org", "party") and t.org_id is not None:
            ok = actor.has_role(t.org_id, *(self.roles or tuple(Role)))
        if self.audience in ("consumer", "party") and t.consumer is not None:
            ok = ok or t.consumer(actor)
        if self.audience == "own":
            ok = t.owner_user is not None and t.owner_user == actor.user_id
        if not ok:
            raise self.refuse(actor, "You may not do this with this " + (self.kind or "thing"))


JSON_APIS = ("/api/", "/ngsi-ld/")  # faces that check browser sessions' CSRF header themselves


async def form_csrf(request: Request) -> None:
    """A form post's CSRF token is checked first of all (``web.csrf``), so a forged form is
    refused (403) whoever sends it. The JSON API checks browser sessions itself; a streamed
    multipart upload carries its token ahead of the file and its route checks it there.
    The NGSI-LD API is a JSON API too (``sensors/ngsi/http.check_csrf``)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path.startswith(JSON_APIS):
        return
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data") and not request.headers.get(csrf.CSRF_HEADER):
        return
    await csrf.verify_csrf(request)


FormCsrf = Annotated[None, Depends(form_csrf)]


def _depend(access: Access) -> Any:
    """The FastAPI dependency for ``access``: on the event loop when it needs no database,
    in the thread pool when it must find the path's thing."""
    if not access.caller:

        async def no_caller() -> None:
            """Nothing to check: a token or session sent along is not looked up."""

        no_caller.access = access  # type: ignore[attr-defined]
        return Depends(no_caller)
    if access.of is None or access.audience in ("anyone", "gate"):

        async def caller_check(actor: ActorDep, _csrf: FormCsrf) -> None:
            if not access.allows_caller(actor):
                raise access.refuse(actor, "You may not do this")

        caller_check.access = access  # type: ignore[attr-defined]
        return Depends(caller_check)

    def thing_check(
        request: Request, actor: ActorDep, session: SessionDep, _csrf: FormCsrf
    ) -> None:
        access.check(session, actor, request.path_params)

    thing_check.access = access  # type: ignore[attr-defined]
    return Depends(thing_check)


def declared(dependency: Any) -> Access | None:
    """The ``Access`` a route dependency declares, if it is one (for the matrix test)."""
    found = getattr(getattr(dependency, "dependency", None), "access", None)
    return found if isinstance(found, Access) else None


def allow(access: Access) -> Any:
    """``access`` as a route dependency: ``dependencies=[allow(Access(...))]``."""
    return _depend(access)


ANYONE = allow(Access("anyone"))
SIGNED_IN = allow(Access("signed_in"))
PERSON = allow(Access("signed_in", person=True))
SUPERUSER = allow(Access("superuser", person=True))
SUPERUSER_HIDDEN = allow(Access("superuser", person=True, hide=True))
# A page for people signed in as themselves that sends everyone else to the sign-in page
# (the page redirects; the route × role matrix checks that it does).
PERSON_PAGE = allow(Access("signed_in", person=True, signin_page=True))
GATE = allow(Access("gate", note="decided by the gate's read pipeline"))
# The health probes: anyone, whatever token or session cookie they send, which is not looked
# up (``web.admission.PROBE_PATHS``).
PROBE = allow(Access("anyone", caller=False, note="a health probe: the caller is not looked up"))


def role(*roles: Role, person: bool = True, signin_page: bool = False) -> Any:
    """Holders of one of ``roles`` in some organisation (and superusers)."""
    return allow(Access("role", roles=tuple(roles), person=person, signin_page=signin_page))


def org(of: Resolver, *roles: Role, person: bool = False, hide: bool = False) -> Any:
    """Members of the owning organisation with one of ``roles`` (any role when none)."""
    return allow(Access("org", roles=tuple(roles), of=of, person=person, hide=hide))


def consumer(of: Resolver, *, person: bool = False, hide: bool = False) -> Any:
    """The consumer side of an agreement or an access request."""
    return allow(Access("consumer", of=of, person=person, hide=hide))


def party(of: Resolver, *roles: Role, person: bool = False, hide: bool = False) -> Any:
    """The consumer side, or the provider's members with one of ``roles``."""
    return allow(Access("party", roles=tuple(roles), of=of, person=person, hide=hide))


def own(of: Resolver, *, person: bool = False, hide: bool = True) -> Any:
    """The thing belongs to the caller (others: 404, or 403 with ``hide=False`` where the
    thing is no secret to them)."""
    return allow(Access("own", of=of, person=person, hide=hide))


@target("organisation")
def organisation(session: Session, params: Mapping[str, str]) -> Target:
    """The organisation of the path's ``slug``."""
    from datatorg.identity import service

    return Target(org_id=service.get_organisation(session=session, ref=params["slug"]).id)


@target("token")
def api_token(session: Session, params: Mapping[str, str]) -> Target:
    """One of the caller's API tokens (``token_id``)."""
    from datatorg.identity.models import ApiToken

    try:
        found = session.get(ApiToken, uuid.UUID(params["token_id"]))
    except ValueError:
        found = None
    if found is None:
        raise NotFound("No such token")
    return Target(owner_user=found.user_id)
