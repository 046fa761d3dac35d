"""The rows API is a direct route (no per-request dependency solving): it must still know
who asks — bearer token, browser session, anonymous — and fail the same way."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.catalog.models import DatasetStatus
from datatorg.identity.models import Role
from tests.factories import make_user
from tests.identity.helpers import login
from tests.lake.helpers import make_dataset, publisher, upload


def _draft(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"a,b\n1,x\n2,y\n").status_code == 201
    ds.status = DatasetStatus.draft
    session.flush()
    return org, headers, ds


def test_unknown_token_is_refused_with_problem_json(client: TestClient, session: Session) -> None:
    _, _, ds = _draft(client, session)
    resp = client.get(
        f"/api/v1/datasets/{ds.slug}/rows", headers={"Authorization": "Bearer not-a-token"}
    )
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "token" in resp.json()["detail"]


def test_token_browser_session_and_anonymous(client: TestClient, session: Session) -> None:
    org, headers, ds = _draft(client, session)
    url = f"/api/v1/datasets/{ds.slug}/rows?_sort=a"
    # anonymous: a draft is not there
    assert client.get(url).status_code == 404
    # the publisher's token: the owner reads the draft
    assert client.get(url, headers=headers).json()["rows"] == [[1, "x"], [2, "y"]]
    # a signed-in member of the owning organisation, by browser session cookie
    member = make_user(session, org=org, roles=(Role.steward,))
    assert login(client, member.email).status_code == 303
    resp = client.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.json()["rows"] == [[1, "x"], [2, "y"]]
    # both reads are in the audit log, and so is the refusal (a draft is "not found" to
    # others, as for any page)
    assert audit.count(session=session, action="data.read", target_id=str(ds.id)) == 3


def test_unknown_dataset_and_bad_parameter(client: TestClient, session: Session) -> None:
    _, headers, ds = _draft(client, session)
    assert client.get("/api/v1/datasets/no-such-thing/rows").status_code == 404
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows?nope__gt=1", headers=headers)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["parameter"] == "nope__gt"
