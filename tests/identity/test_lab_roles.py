"""Living-lab roles are the platform's to give: an organisation's admin grants its other
roles, but not coordinator or evaluator, whose power spans every organisation's ideas and
pilots (else a startup's admin makes themselves coordinator, accepts the startup's own idea
and sees every pilot's participants)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity import policies
from datatorg.identity.models import Role
from tests.factories import actor_of, make_org, make_token, make_user


def test_an_organisation_admin_cannot_name_lab_roles(client: TestClient, session: Session) -> None:
    startup = make_org(session)
    admin = make_user(session, org=startup, roles=(Role.admin,))
    root = make_user(session, superuser=True)
    headers = make_token(session, admin)
    for role in ("coordinator", "evaluator"):
        r = client.post(
            f"/api/v1/organisations/{startup.slug}/members",
            json={"email": admin.email, "role": role},
            headers=headers,
        )
        assert r.status_code == 403, (role, r.text)
        assert client.get("/api/v1/lab/desk", headers=headers).json()["screening"] == []
        assert client.get("/api/v1/moderation", headers=headers).status_code == 403
    r = client.post(
        f"/api/v1/organisations/{startup.slug}/members",
        json={"email": admin.email, "role": "publisher"},
        headers=headers,
    )
    assert r.status_code == 201, r.text  # the organisation's own roles stay the admin's
    r = client.post(
        f"/api/v1/organisations/{startup.slug}/members",
        json={"email": admin.email, "role": "evaluator"},
        headers=make_token(session, root),
    )
    assert r.status_code == 201, r.text  # a platform administrator names lab roles
    page = client.get(f"/organisations/{startup.slug}", headers=headers)
    assert page.status_code == 200
    assert 'value="coordinator"' not in page.text and 'value="publisher"' in page.text


def test_grant_policy(session: Session) -> None:
    org = make_org(session)
    admin = actor_of(session, make_user(session, org=org, roles=(Role.admin,)))
    root = actor_of(session, make_user(session, superuser=True))
    assert policies.can_grant(admin, org, Role.steward)
    assert not policies.can_grant(admin, org, Role.coordinator)
    assert not policies.can_grant(admin, org, Role.evaluator)
    assert policies.can_grant(root, org, Role.coordinator)
    assert not policies.can_grant(admin, make_org(session), Role.publisher)
