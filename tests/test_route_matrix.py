"""The route × role matrix: every route of the app, called by every kind of caller, answers
as the route's declared permission says (``identity.permissions``).

The routes come from ``app.routes``: a route without exactly one declared ``Access`` fails
here. Callers (``tests.gate_world.CALLERS``): anonymous, a citizen, a member of the owning
organisation in each role, a member of another organisation, a consumer without an
agreement, the consumer with one (personal token and agreement-scoped token), a revoked
token, a superuser. For each route and caller:

* allowed callers are not refused (no 401/403) and the route does not fail (no 5xx);
* refused callers get 401 when not signed in (or a redirect to the sign-in page), else 403
  or 404 — before the route looks at its parameters — and their answer carries no dataset
  contents, no personal-data counts and no column name beyond the public schema.

Every request runs in a savepoint that is rolled back, so callers do not change what the
next one sees. To add a route: declare its ``Access`` with the route (SEAMS.md, "route
permissions"); when its path has a parameter this world has no value for, add one to
``PATH_VALUES`` below.
"""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from datatorg import app as app_module
from datatorg.identity import permissions
from datatorg.identity import service as identity
from datatorg.identity.models import Membership, Role
from datatorg.identity.permissions import Access
from datatorg.market.models import Notification
from datatorg.settings import Settings
from datatorg.web import csrf
from tests import gate_world
from tests.gate_world import CALLERS, GateWorld

# Who the world's things belong to, for each audience (see gate_world.build):
# the owning organisation owns the dataset, the organisation, the agreement (its assigner),
# the offer and the access request (its provider); "consumer+agreement" is the agreement's
# assignee, the request's requester, and owns the token and the notification in the paths.
CONSUMER_SIDE = {"consumer+agreement", "agreement-token"}
READERS = {
    "owner:publisher",
    "owner:steward",
    "owner:admin",
    "superuser",
    "consumer+agreement",
    "agreement-token",
}
OWNER_KINDS = {"dataset", "organisation", "agreement", "offer", "access request"}
CONSUMER_KINDS = {"agreement", "access request"}
# (a consent, a data subject request and a donation in the paths are the holder's own too)
OWN_KINDS = {"agreement", "token", "notification", "consent", "subject request", "donation"}
SENTINELS = (
    gate_world.SECRET_KEY,
    gate_world.SECRET_VALUE,
    *gate_world.SECRET_COLUMNS,
    str(gate_world.ROWS),
    "1,357",
    "1 357",
)


def routes(app: FastAPI) -> list[tuple[str, str, list[Access]]]:
    """(method, path, declared accesses) of every route with methods."""
    out = []
    for rc in iter_route_contexts(app.routes):
        methods = getattr(rc, "methods", None)
        if not methods or rc.path in app_module.UNDECLARED_ROUTES:
            continue
        found = [a for d in getattr(rc, "dependencies", []) if (a := permissions.declared(d))]
        for method in sorted(set(methods) - {"HEAD"}):
            out.append((method, str(rc.path), found))
    return out


def allowed(access: Access) -> set[str]:
    """The callers the declaration admits in this world."""
    everyone = set(CALLERS) - {"revoked-token"}
    signed_in = everyone - {"anonymous"}
    owner_roles = {c for c in CALLERS if c.startswith("owner:")}
    kind = access.kind
    if access.audience == "anyone":
        found = everyone if access.caller else set(CALLERS)  # a probe looks no token up
    elif access.audience == "gate":
        found = set(READERS)
    elif access.audience == "signed_in":
        found = signed_in
    elif access.audience == "superuser":
        found = {"superuser"}
    elif access.audience == "role":
        found = {"superuser"} | {f"owner:{r.value}" for r in access.roles}
        if {Role.publisher, Role.steward} & set(access.roles):
            found.add("other-org")  # a publisher and steward of another organisation
    else:
        found = set()
        if access.audience in ("org", "party") and kind in OWNER_KINDS:
            roles = access.roles or tuple(Role)
            found |= {f"owner:{r.value}" for r in roles} | {"owner:admin", "superuser"}
            found &= owner_roles | {"superuser"}
        if access.audience in ("consumer", "party") and kind in CONSUMER_KINDS:
            found |= CONSUMER_SIDE
        if access.audience == "own" and kind in OWN_KINDS:
            found |= CONSUMER_SIDE
    if access.person:
        found -= {"agreement-token"}
    return found


def path_values(world: GateWorld, session: Session, settings: Settings) -> dict[str, str]:
    holder = world.users["consumer+agreement"]
    _, token = identity.create_token(session=session, user=holder, name="matrix")
    note = session.scalars(select(Notification.id).where(Notification.user_id == holder.id)).first()
    membership = session.scalars(
        select(Membership.id).where(Membership.user_id == world.users["owner:evaluator"].id)
    ).one()
    mine = _privacy_things(session, world, settings)
    return mine | {
        "ref": world.dataset.slug,
        "fmt": "csv",
        "ext": "ttl",
        "code": "en",
        "name": "package_show",
        "token_id": str(token.id),
        "membership_id": str(membership),
        "agreement_id": str(world.agreement_id),
        "offer_id": str(world.offer_id),
        "request_id": str(world.request_id),
        "notification_id": str(note or uuid.uuid4()),
        "upload_id": world.upload_id,
    }


def _privacy_things(session: Session, world: GateWorld, settings: Settings) -> dict[str, str]:
    """A consent, a data subject request and a donation of the agreement holder (the person
    behind "consumer+agreement"), for the ``/me/...`` routes that name one."""
    from datatorg.db.base import utcnow
    from datatorg.privacy import service as privacy
    from datatorg.privacy.models import Donation, RequestState, RequestType, ScopeKind
    from datatorg.privacy.models import SubjectRequest as PrivacyRequest

    holder = world.users["consumer+agreement"]
    subject = privacy.subject_for_user(session=session, settings=settings, user=holder)
    privacy.ensure_notices(session=session)
    consent = privacy.give(
        session=session,
        subject=subject,
        purpose="ScientificResearch",
        scope_kind=ScopeKind.dataset,
        scope_ref=str(world.dataset.id),
    )
    request = PrivacyRequest(
        subject_id=subject.id,
        user_id=holder.id,
        type=RequestType.access,
        state=RequestState.received,
        due_at=utcnow(),
    )
    donation = Donation(subject_id=subject.id, dataset_id=world.dataset.id, rows=0, purposes=[])
    session.add_all([request, donation])
    session.flush()
    return {
        "consent_id": str(consent.id),
        "donation_id": str(donation.id),
        "subject_request_id": str(request.id),
    }


PATH_VALUES: dict[str, str] = {}  # a new route's path parameter: its value here
# a citizen's own data subject request, where ``request_id`` names one (else: an access request)
SUBJECT_REQUEST_PATHS = ("/api/v1/me/requests/", "/my/requests/")
CKAN_FACES = ("/api/3/action/", "/api/action/")
UUIDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


# A path's {action} is one the caller's side may take (a party route admits both sides).
ACTIONS = {
    "/market/agreements/": ("suspend", "terminate"),
    "/market/requests/": ("approve", "withdraw"),
}


def url_for(method: str, path: str, values: dict[str, str], world: GateWorld, caller: str) -> str:
    values = values | PATH_VALUES
    if method != "GET" and "{upload_id}" in path:
        # publishing or discarding moves files, which no savepoint brings back: an upload
        # that is not there (allowed callers get 404, refused ones are refused before)
        values = values | {"upload_id": str(uuid.uuid4())}
    if path.startswith(SUBJECT_REQUEST_PATHS):
        values = values | {"request_id": values["subject_request_id"]}
    if path.startswith(("/organisations/", "/api/v1/organisations/")):
        values = values | {"slug": world.owner.slug}
    else:
        values = values | {"slug": world.dataset.slug}
    for prefix, (provider, consumer) in ACTIONS.items():
        if path.startswith(prefix):
            values = values | {"action": consumer if caller in CONSUMER_SIDE else provider}
    # things this world does not hold (a new domain's ids): one that does not exist, so
    # allowed callers get 404 and refused ones are refused before the lookup
    for name in re.findall(r"\{(\w+)\}", path):
        values.setdefault(name, str(uuid.UUID(int=0x0D47A70)))
    url = path.format(**values)
    if "datastore_search" in path:
        url += f"?resource_id={world.dataset.slug}"
    elif path.endswith("/{name}"):
        url += f"?id={world.dataset.slug}"
    return url


def test_every_route_declares_who_may_call_it(app: FastAPI) -> None:
    found = routes(app)
    assert len(found) > 100
    missing = [f"{m} {p}" for m, p, access in found if len(access) != 1]
    assert missing == [], "routes without exactly one declared Access: " + ", ".join(missing)


def test_every_route_answers_every_caller_as_declared(
    client: TestClient,
    session: Session,
    connection: Connection,
    settings: Settings,
    app: FastAPI,
) -> None:
    world = gate_world.build(client, session)
    values = path_values(world, session, settings)
    session.flush()
    token = csrf.new_token(settings.secret_key.get_secret_value())
    signed = {csrf.CSRF_HEADER: token, "cookie": f"{csrf.CSRF_COOKIE}={token}"}
    wrong: list[str] = []
    leaks: list[str] = []
    for method, path, (access,) in [r for r in routes(app) if len(r[2]) == 1]:
        admitted = allowed(access)
        for caller in CALLERS:
            url = url_for(method, path, values, world, caller)
            headers = world.headers[caller] | signed
            client.cookies.clear()
            savepoint = connection.begin_nested()
            try:
                resp = client.request(method, url, headers=headers, follow_redirects=False)
            finally:
                savepoint.rollback()
            status = resp.status_code
            where = f"{method} {path} as {caller}: {status}"
            said = resp.text[:100] if "json" in resp.headers.get("content-type", "") else ""
            if status >= 500:
                wrong.append(where + " (server error)")
            elif caller in admitted:
                if status in (401, 403):
                    wrong.append(where + " (declared allowed) " + said)
            else:
                if caller in ("anonymous", "revoked-token"):
                    ok = status == 401 or (
                        status == 303 and resp.headers["location"].startswith("/login")
                    )
                    # CKAN's own envelope answers "Authorization Error" with 403
                    ok = ok or (status == 403 and path.startswith(CKAN_FACES))
                    ok = ok or (status == 404 and access.hide)  # not there, for anyone
                else:
                    ok = status in (403, 404)
                if not ok:
                    wrong.append(where + " (declared refused) " + said)
                # the path echoed back (ids are random hex) is not a leak of a count
                text = UUIDS.sub("", resp.text.replace(url.split("?")[0], ""))
                leaks += [f"{where} shows {s!r}" for s in SENTINELS if s in text]
    assert wrong == [], f"{len(wrong)} answers differ from the declarations:\n" + "\n".join(wrong)
    assert leaks == []
