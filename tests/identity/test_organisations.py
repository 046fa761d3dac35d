"""Organisations (public listing) and memberships (managed by the organisation's admins)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit.models import AuditEvent
from datatorg.identity import policies, service
from datatorg.identity.models import Membership, MembershipInvitation, OrgKind, Role
from tests.factories import actor_of, make_org, make_token, make_user
from tests.identity.helpers import deliver, login, post_form
from tests.mailserver import Inbox


def test_public_listing_page_and_api(client: TestClient, session: Session) -> None:
    service.create_organisation(
        session=session,
        slug="halden-test",
        name="Halden test",
        orgnr="959159092",
        kind=OrgKind.public_sector,
    )
    api = client.get("/api/v1/organisations").json()
    mine = next(o for o in api if o["slug"] == "halden-test")
    assert mine["orgnr"] == "959159092" and mine["kind"] == "public_sector"
    assert set(mine) == {"id", "slug", "name", "orgnr", "kind", "homepage"}
    page = client.get("/organisations")
    assert (
        "Halden test" in page.text and "959159092" in page.text and "Offentlig sektor" in page.text
    )
    one = client.get("/organisations/halden-test")
    assert one.status_code == 200 and "Medlemmer" not in one.text  # members hidden from public
    assert client.get("/api/v1/organisations/halden-test").json()["name"] == "Halden test"
    assert client.get("/api/v1/organisations/nope").status_code == 404
    for hostile in ("a%00b", "x" * 300, "..%2F..%2Fetc%2Fpasswd", "'%20OR%201=1--"):
        assert client.get(f"/api/v1/organisations/{hostile}").status_code == 404
        assert client.get(f"/organisations/{hostile}").status_code == 404


def test_policies(session: Session) -> None:
    org, other = make_org(session), make_org(session)
    admin = actor_of(session, make_user(session, org=org, roles=(Role.admin,)))
    publisher = actor_of(session, make_user(session, org=org, roles=(Role.publisher,)))
    root = actor_of(session, make_user(session, superuser=True))
    assert policies.can_manage_members(admin, org)
    assert not policies.can_manage_members(admin, other)
    assert not policies.can_manage_members(publisher, org)
    assert policies.can_manage_members(root, other)
    assert policies.can_create_organisation(root) and not policies.can_create_organisation(admin)


def test_admin_invites_and_the_person_accepts_by_api(
    client: TestClient, session: Session, inbox: Inbox
) -> None:
    org = make_org(session)
    admin = make_user(session, org=org, roles=(Role.admin,))
    newcomer = make_user(session, email="ny@example.no")
    stranger = make_token(session, make_user(session))
    headers, own = make_token(session, admin), make_token(session, newcomer)
    r = client.post(
        f"/api/v1/organisations/{org.slug}/members",
        json={"email": "NY@example.no", "role": "publisher"},
        headers=headers,
    )
    assert r.status_code == 201
    invitation = r.json()
    assert (invitation["role"], invitation["state"]) == ("publisher", "pending")
    # nothing is given before the person says yes
    held = session.scalars(select(Membership).where(Membership.user_id == newcomer.id)).all()
    assert held == []
    assert client.get("/api/v1/me", headers=own).json()["memberships"] == []
    assert inbox.messages == []  # the mail leaves through the outbox after commit
    assert deliver(client, session) == 1
    assert len(inbox.messages) == 1 and inbox.recipients[0] == ["ny@example.no"]
    assert "Utgiver" in inbox.body() and "Publisher" in inbox.body() and "/account" in inbox.body()
    waiting = client.get(f"/api/v1/organisations/{org.slug}/invitations", headers=headers)
    assert [i["id"] for i in waiting.json()] == [invitation["id"]]
    assert [i["id"] for i in client.get("/api/v1/me/invitations", headers=own).json()] == [
        invitation["id"]
    ]
    # asking twice gives the one waiting invitation
    again = client.post(
        f"/api/v1/organisations/{org.slug}/members",
        json={"email": "ny@example.no", "role": "publisher"},
        headers=headers,
    )
    assert again.json()["id"] == invitation["id"]
    # someone else cannot answer it (nor learn that it exists)
    accept = f"/api/v1/me/invitations/{invitation['id']}/accept"
    assert client.post(accept, headers=stranger).status_code == 404
    assert client.post(accept, headers=headers).status_code == 404
    me = client.post(accept, headers=own)
    assert me.status_code == 200
    assert [(m["organisation"]["slug"], m["role"]) for m in me.json()["memberships"]] == [
        (org.slug, "publisher")
    ]
    assert client.post(accept, headers=own).status_code == 409
    assert client.get("/api/v1/me/invitations", headers=own).json() == []
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["membership.invite", "membership.accept"]))
    ).all()
    assert len(events) == 2
    assert all("ny@example.no" not in str(e.details) for e in events)  # no personal data
    members = client.get(f"/api/v1/organisations/{org.slug}/members", headers=headers).json()
    assert {(m["email"], m["role"]) for m in members} == {
        (admin.email, "admin"),
        ("ny@example.no", "publisher"),
    }
    membership_id = next(m["membership_id"] for m in members if m["email"] == "ny@example.no")
    gone = client.delete(
        f"/api/v1/organisations/{org.slug}/members/{membership_id}", headers=headers
    )
    assert gone.status_code == 204
    assert session.get(Membership, uuid.UUID(membership_id)) is None
    unknown = client.post(
        f"/api/v1/organisations/{org.slug}/members",
        json={"email": "ingen@example.no", "role": "publisher"},
        headers=headers,
    )
    assert unknown.status_code == 404
    bad_role = client.post(
        f"/api/v1/organisations/{org.slug}/members",
        json={"email": "ny@example.no", "role": "king"},
        headers=headers,
    )
    assert bad_role.status_code == 422
    held_already = client.post(
        f"/api/v1/organisations/{org.slug}/members",
        json={"email": admin.email, "role": "admin"},
        headers=headers,
    )
    assert held_already.status_code == 409


def test_the_person_declines_or_the_admin_withdraws(client: TestClient, session: Session) -> None:
    org = make_org(session)
    admin = make_user(session, org=org, roles=(Role.admin,))
    person = make_user(session, email="nei@example.no")
    headers, own = make_token(session, admin), make_token(session, person)
    members = f"/api/v1/organisations/{org.slug}/members"
    first = client.post(members, json={"email": person.email, "role": "admin"}, headers=headers)
    declined = client.post(f"/api/v1/me/invitations/{first.json()['id']}/decline", headers=own)
    assert declined.status_code == 204
    second = client.post(members, json={"email": person.email, "role": "steward"}, headers=headers)
    withdraw = f"/api/v1/organisations/{org.slug}/invitations/{second.json()['id']}"
    assert client.delete(withdraw, headers=own).status_code == 403
    assert client.delete(withdraw, headers=headers).status_code == 204
    assert client.delete(withdraw, headers=headers).status_code == 409
    accept = f"/api/v1/me/invitations/{second.json()['id']}/accept"
    assert client.post(accept, headers=own).status_code == 409
    assert session.scalars(select(Membership).where(Membership.user_id == person.id)).all() == []
    assert client.get(f"/api/v1/organisations/{org.slug}/invitations", headers=headers).json() == []


def test_non_admins_may_not_see_or_change_members(client: TestClient, session: Session) -> None:
    org = make_org(session)
    publisher = make_user(session, org=org, roles=(Role.publisher,))
    outsider_admin = make_user(session, org=make_org(session), roles=(Role.admin,))
    for user in (publisher, outsider_admin):
        headers = make_token(session, user)
        assert (
            client.get(f"/api/v1/organisations/{org.slug}/members", headers=headers).status_code
            == 403
        )
        r = client.post(
            f"/api/v1/organisations/{org.slug}/members",
            json={"email": user.email, "role": "admin"},
            headers=headers,
        )
        assert r.status_code == 403
    assert client.get(f"/api/v1/organisations/{org.slug}/members").status_code == 401


def test_last_admin_stays(client: TestClient, session: Session) -> None:
    org = make_org(session)
    admin = make_user(session, org=org, roles=(Role.admin,))
    membership = session.scalar(select(Membership).where(Membership.user_id == admin.id))
    assert membership is not None
    r = client.delete(
        f"/api/v1/organisations/{org.slug}/members/{membership.id}",
        headers=make_token(session, admin),
    )
    assert r.status_code == 409


def test_superuser_creates_organisations(client: TestClient, session: Session) -> None:
    root = make_token(session, make_user(session, superuser=True))
    body = {
        "slug": "ny-org",
        "name": "Ny organisasjon AS",
        "orgnr": "971567376",
        "kind": "education",
    }
    assert client.post("/api/v1/organisations", json=body, headers=root).status_code == 201
    dup = client.post("/api/v1/organisations", json=body | {"slug": "ny-org-2"}, headers=root)
    assert dup.status_code == 409
    bad_nr = body | {"slug": "bad-nr", "orgnr": "123456789"}
    assert client.post("/api/v1/organisations", json=bad_nr, headers=root).status_code == 422
    for slug in ("../etc", "Store-Bokstaver", "a" * 101, "x'; DROP", "nul\x00"):
        r = client.post("/api/v1/organisations", json=body | {"slug": slug}, headers=root)
        assert r.status_code == 422
    for name in ("", "a\x00b", "n" * 301, "tab\tname"):
        r = client.post(
            "/api/v1/organisations", json=body | {"slug": "named", "name": name}, headers=root
        )
        assert r.status_code == 422
    plain = make_token(session, make_user(session))
    assert client.post("/api/v1/organisations", json=body, headers=plain).status_code == 403


def test_admin_invites_on_the_page_and_the_person_accepts(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    admin = make_user(session, org=org, roles=(Role.admin,))
    colleague = make_user(session, email="kollega@example.no")
    login(client, admin.email)
    page = client.get(f"/organisations/{org.slug}")
    assert "Medlemmer" in page.text and admin.email in page.text
    r = post_form(
        client,
        f"/organisations/{org.slug}/members",
        {"email": "kollega@example.no", "role": "steward"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Invitasjonen er sendt." in page.text and "kollega@example.no" in page.text
    assert "Invitasjoner som venter på svar" in page.text
    assert session.scalars(select(Membership).where(Membership.user_id == colleague.id)).all() == []
    missing = post_form(
        client, f"/organisations/{org.slug}/members", {"email": "x@example.no", "role": "steward"}
    )
    assert missing.status_code == 404 and "Ingen konto har denne e-postadressen" in missing.text
    assert (
        post_form(
            client, f"/organisations/{org.slug}/members", {"email": "x@example.no", "role": "king"}
        ).status_code
        == 422
    )
    client.cookies.clear()
    login(client, colleague.email)
    account = client.get("/account")
    assert "Roller du er invitert til" in account.text and "Dataforvalter" in account.text
    invitation = session.scalars(
        select(MembershipInvitation).where(MembershipInvitation.user_id == colleague.id)
    ).one()
    r = post_form(
        client, f"/account/invitations/{invitation.id}/accept", {}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=invitation-accepted"
    assert "Du har godtatt rollen." in client.get(r.headers["location"]).text
    steward = session.scalar(
        select(Membership).where(
            Membership.organisation_id == org.id, Membership.role == Role.steward
        )
    )
    assert steward is not None and steward.user_id == colleague.id
    client.cookies.clear()
    login(client, admin.email)
    steward_id = steward.id
    out = post_form(
        client,
        f"/organisations/{org.slug}/members/{steward_id}/remove",
        {},
        follow_redirects=False,
    )
    assert out.status_code == 303
    assert session.get(Membership, steward_id) is None
