"""CKAN ``datastore_search`` through the gate, with the real ``ckanapi`` client over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import ckanapi
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import AccessRights, Classification, Dataset, DatasetStatus
from datatorg.identity import service as identity
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from tests.lake.helpers import make_dataset, publisher, upload
from tests.live import LiveServer

CSV = "skole;elever;kommune\nRødsberg;320;Halden\nTistedal;210;Halden\nÅs;150;Ås\n"


def _load(session: Session, live: LiveServer, slug: str, open_data: bool) -> str:
    org = identity.create_organisation(session=session, slug=f"o-{uuid.uuid4().hex[:8]}", name="O")
    ds = Dataset(
        slug=slug,
        title_nb="Skoler",
        publisher_id=org.id,
        status=DatasetStatus.published,
        access_rights=AccessRights.public if open_data else AccessRights.non_public,
        classification=Classification.open if open_data else Classification.internal,
    )
    session.add(ds)
    session.flush()
    folder = lake.new_staging(live.settings)
    (folder / "source").write_bytes(CSV.encode("cp1252"))
    lake.ingest_file(
        session=session,
        settings=live.settings,
        dataset=ds,
        source=folder / "source",
        filename="skoler.csv",
        mode=WriteMode.replace,
        uploaded_by=None,
    )
    return str(ds.id)


@pytest.fixture(scope="module")
def ckan(live_server: LiveServer) -> ckanapi.RemoteCKAN:
    suffix = uuid.uuid4().hex[:6]
    live_server.with_session(lambda s: _load(s, live_server, f"skoler-{suffix}", True))
    live_server.with_session(lambda s: _load(s, live_server, f"lukket-{suffix}", False))
    remote = ckanapi.RemoteCKAN(live_server.url, user_agent="datatorg-tests")
    remote.suffix = suffix  # type: ignore[attr-defined]
    return remote


def test_search_with_filters_fields_sort_and_paging(ckan: Any) -> None:
    rid = f"skoler-{ckan.suffix}"
    result = ckan.action.datastore_search(
        resource_id=rid, filters={"kommune": "Halden"}, sort="elever desc", fields="skole,elever"
    )
    assert [r["skole"] for r in result["records"]] == ["Rødsberg", "Tistedal"]
    assert result["total"] == 2
    assert [f["id"] for f in result["fields"]] == ["_id", "skole", "elever"]
    assert result["fields"][2]["type"] == "int"
    page = ckan.action.datastore_search(resource_id=rid, limit=1, offset=1, sort="skole")
    assert [r["skole"] for r in page["records"]] == ["Tistedal"]
    assert page["total"] == 3


def test_q_and_list_filters(ckan: Any) -> None:
    rid = f"skoler-{ckan.suffix}"
    assert ckan.action.datastore_search(resource_id=rid, q="ås")["total"] == 1
    result = ckan.action.datastore_search(resource_id=rid, filters={"skole": ["Ås", "Tistedal"]})
    assert result["total"] == 2


def test_limit_zero_returns_only_fields(ckan: Any) -> None:
    result = ckan.action.datastore_search(resource_id=f"skoler-{ckan.suffix}", limit=0)
    assert result["records"] == []
    assert {f["id"] for f in result["fields"]} == {"_id", "skole", "elever", "kommune"}


def test_errors_in_ckan_shape(ckan: Any) -> None:
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="no-such-resource")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=f"skoler-{ckan.suffix}", filters={"nope": 1})
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=f"skoler-{ckan.suffix}", limit="x")
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=f"lukket-{ckan.suffix}")


def test_envelope_over_get(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a,b\n1,x\n2,y\n")
    body = client.get(
        f"/api/3/action/datastore_search?resource_id={ds.slug}&filters=%7B%22a%22%3A2%7D"
    ).json()
    assert body["success"] is True and body["result"]["records"] == [{"_id": 1, "a": 2, "b": "y"}]
    err = client.get("/api/3/action/datastore_search?resource_id=" + ds.slug + "&filters=[1").json()
    assert err["success"] is False and err["error"]["__type"] == "Validation Error"
    assert "help" in err
