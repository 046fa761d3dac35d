"""What the read path may cache (a committed version's files and schema) and what it must
not (the head pointer, the dataset's state, the actor): each change shows on the next read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.models import DatasetStatus
from datatorg.identity import service as identity
from datatorg.identity.models import ApiToken, Role
from datatorg.lake import heads
from datatorg.lake import service as lake
from datatorg.settings import Settings
from tests.factories import make_org, make_token, make_user
from tests.lake.helpers import make_dataset, publisher, upload

V1 = b"station,no2\nA,1.5\nB,2.5\n"
V2 = b"station,no2\nC,9.5\n"


def rows(client: TestClient, slug: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    resp = client.get(f"/api/v1/datasets/{slug}/rows?_sort=station", headers=headers or {})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_a_new_version_is_read_on_the_very_next_request(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, V1).status_code == 201
    first = rows(client, ds.slug)
    assert first["version"] == 1 and first["rows"] == [["A", 1.5], ["B", 2.5]]
    assert rows(client, ds.slug)["rows"] == first["rows"]  # served with the version cached
    assert upload(client, ds, headers, V2).status_code == 201
    second = rows(client, ds.slug)
    assert second["version"] == 2 and second["rows"] == [["C", 9.5]]


def test_head_files_caches_by_version_and_follows_the_head(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, V1).status_code == 201
    a = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    b = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert a is not None and a is b  # the second came from the cache
    assert upload(client, ds, headers, V2).status_code == 201
    c = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert c is not None and c.number == 2 and c.version_id != a.version_id
    assert c.paths != a.paths and all(p.exists() for p in c.paths)
    assert c.row_count == 1 and c.dataset_id == ds.id


def test_head_files_cache_is_bounded(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heads, "_VERSION_CACHE_SIZE", 1)
    org, headers = publisher(session)
    one, two = make_dataset(session, org), make_dataset(session, org)
    assert upload(client, one, headers, V1).status_code == 201
    assert upload(client, two, headers, V2).status_code == 201
    lake.head_files(session=session, settings=settings, dataset_id=one.id)
    lake.head_files(session=session, settings=settings, dataset_id=two.id)
    assert len(heads._version_cache) == 1


def test_no_contents_yet_is_not_found(client: TestClient, session: Session) -> None:
    org, _ = publisher(session)
    ds = make_dataset(session, org)
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows")
    assert resp.status_code == 404


def test_retiring_a_dataset_hides_it_on_the_next_read(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, V1).status_code == 201
    rows(client, ds.slug)
    ds.status = DatasetStatus.retired
    session.flush()
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 404


def test_a_revoked_token_is_refused_on_the_very_next_read(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    user = make_user(session, org=org, roles=(Role.publisher,))
    headers = make_token(session, user)
    ds = make_dataset(session, org, open_data=False)
    assert upload(client, ds, headers, V1).status_code == 201
    assert rows(client, ds.slug, headers)["rows"] == [["A", 1.5], ["B", 2.5]]
    token = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    identity.revoke_token(session=session, user=user, token_id=token.id)
    session.flush()
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=headers)
    assert resp.status_code == 401
    other = make_user(session, org=make_org(session), roles=(Role.consumer,))
    resp = client.get(f"/api/v1/datasets/{ds.slug}/rows", headers=make_token(session, other))
    assert resp.status_code in (401, 403)  # not the owner: no agreement, no rows
