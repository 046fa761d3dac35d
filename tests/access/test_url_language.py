"""The query URL language around column names: names that look like it stay filterable."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.lake.helpers import make_dataset, publisher, upload


@pytest.fixture
def odd(client: TestClient, session: Session) -> str:
    """Columns named like control parameters and like filters."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = b"id,_sort,t__gt,_col\n1,a,5,x\n2,b,7,y\n3,c,9,z\n"
    assert upload(client, ds, headers, content).status_code == 201
    return ds.slug


def _rows(client: TestClient, slug: str, query: str, status: int = 200) -> Any:
    resp = client.get(f"/api/v1/datasets/{slug}/rows?{query}")
    assert resp.status_code == status, resp.text
    return resp.json()


def test_columns_named_like_the_url_language_are_filterable(client: TestClient, odd: str) -> None:
    assert _rows(client, odd, "_sort__exact=b&_col=id")["rows"] == [[2]]
    assert _rows(client, odd, "_col__in=x,z&_col=id")["rows"] == [[1], [3]]
    assert _rows(client, odd, "t__gt__exact=7&_col=id")["rows"] == [[2]]
    assert _rows(client, odd, "t__gt__gte=7&_col=id")["rows"] == [[2], [3]]
    assert _rows(client, odd, "_sort_desc=_sort&_col=_sort,t__gt&_size=1")["rows"] == [["c", 9]]


def test_the_unescaped_form_says_how_to_escape(client: TestClient, odd: str) -> None:
    err = _rows(client, odd, "t__gt=5", status=422)["errors"][0]
    assert err["parameter"] == "t__gt" and "t__gt__exact" in err["message"]
    err = _rows(client, odd, "_nosuchthing__exact=1", status=400)["errors"][0]
    assert err["parameter"] == "_nosuchthing__exact"


@pytest.fixture
def keyed(client: TestClient, session: Session) -> tuple[str, dict[str, str]]:
    """Five rows with a unique key column ``kode``, declared in the review step."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = (
        b"kode,navn,antall\n0101,Halden,5\n0104,Moss,7\n0105,Sarpsborg,9\n"
        b"0106,Fredrikstad,3\n0111,Hvaler,1\n"
    )
    pending = upload(client, ds, headers, content, publish="false").json()
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish",
        json={"fields": [{"name": "kode", "type": "string"}], "primaryKey": "kode"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["table_schema"]["primaryKey"] == "kode"
    return ds.slug, headers


def test_shapes(client: TestClient, keyed: tuple[str, dict[str, str]]) -> None:
    slug, _headers = keyed
    base = f"/api/v1/datasets/{slug}/rows?_sort=kode&_size=2&_col=kode,antall"
    arrays = client.get(base).json()
    same = client.get(base + "&_shape=arrays").json()
    assert same | {"next_url": None} == arrays | {"next_url": None}
    assert arrays["rows"] == [["0101", 5], ["0104", 7]] and arrays["next"]
    objects = client.get(base + "&_shape=objects").json()
    assert objects["rows"] == [{"kode": "0101", "antall": 5}, {"kode": "0104", "antall": 7}]
    assert objects | {"rows": None, "next_url": None} == arrays | {"rows": None, "next_url": None}
    resp = client.get(base + "&_shape=array")
    assert resp.json() == objects["rows"]
    link = resp.headers["link"]
    assert link.startswith("</api/v1/") and link.endswith('>; rel="next"') and "_next=" in link
    follow = link[1 : link.index(">")]
    assert client.get(follow).json() == [
        {"kode": "0105", "antall": 9},
        {"kode": "0106", "antall": 3},
    ]
    resp = client.get(base + "&_shape=array&_nl=on")
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    assert resp.text == '{"kode":"0101","antall":5}\n{"kode":"0104","antall":7}\n'
    assert client.get(base + "&_shape=object").json() == {
        "0101": {"kode": "0101", "antall": 5},
        "0104": {"kode": "0104", "antall": 7},
    }
    suffixed = client.get(f"/api/v1/datasets/{slug}/rows.json?_sort=kode&_size=2&_col=kode,antall")
    assert suffixed.json() | {"next_url": None} == arrays | {"next_url": None}
    assert suffixed.json()["next_url"].startswith(f"/api/v1/datasets/{slug}/rows.json?")


def test_shape_errors(client: TestClient, keyed: tuple[str, dict[str, str]], odd: str) -> None:
    slug, _headers = keyed
    rows = f"/api/v1/datasets/{slug}/rows"
    for query, param in (
        ("_shape=bogus", "_shape"),
        ("_nl=on", "_nl"),
        ("_shape=objects&_nl=on", "_nl"),
        ("_shape=array&_count=1", "_count"),
        ("_shape=object&_col=navn", "_col"),
        ("_shape=object&_group_by=navn", "_shape"),
    ):
        resp = client.get(f"{rows}?{query}")
        assert resp.status_code == 422, (query, resp.text)
        assert resp.json()["errors"][0]["parameter"] == param, query
    resp = client.get(f"/api/v1/datasets/{odd}/rows?_shape=object")  # no unique key declared
    assert resp.status_code == 422 and "primaryKey" in resp.json()["errors"][0]["message"]
    resp = client.get(f"/api/v1/datasets/{slug}/download.csv?_shape=array")
    assert resp.status_code == 422


@pytest.mark.parametrize("param", ["_shpae", "_sizee", "_facet", "_where", "_stream", "_json"])
def test_unknown_underscore_parameters_are_refused_with_the_known_list(
    client: TestClient, odd: str, param: str
) -> None:
    resp = client.get(f"/api/v1/datasets/{odd}/rows?{param}=1")
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["errors"][0]["parameter"] == param
    assert {"_shape", "_nl", "_size", "_sort", "_col"} <= set(body["known"])
    resp = client.get(f"/api/v1/datasets/{odd}/download.json?{param}=1")
    assert resp.status_code == 400


def test_datasette_switches_that_turn_things_off_are_accepted(client: TestClient, odd: str) -> None:
    body = _rows(client, odd, "_nocount=1&_nofacet=1&_nosuggest=1&_col=id")
    assert body["rows"] == [[1], [2], [3]]


def test_csv_suffix(client: TestClient, keyed: tuple[str, dict[str, str]]) -> None:
    slug, _headers = keyed
    resp = client.get(f"/api/v1/datasets/{slug}/rows.csv?antall__gte=5&_sort=kode&_col=kode,navn")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.text.splitlines() == ["kode,navn", "0101,Halden", "0104,Moss", "0105,Sarpsborg"]


def test_the_key_column_must_be_unique(
    client: TestClient, session: Session, keyed: tuple[str, dict[str, str]]
) -> None:
    slug, headers = keyed
    resp = client.post(
        f"/api/v1/datasets/{slug}/versions",
        files={"file": ("more.csv", b"kode,navn,antall\n0101,Halden igjen,2\n,Tom,1\n")},
        data={"mode": "append"},
        headers=headers,
    )
    assert resp.status_code == 422, resp.text
    err = resp.json()["errors"][0]
    assert err["code"] == "key_not_unique" and err["column"] == "kode"
    assert _rows(client, slug, "_count=1&_size=0")["count"] == 5
    org, headers2 = publisher(session)
    ds = make_dataset(session, org)
    pending = upload(client, ds, headers2, b"k\n1\n1\n", publish="false").json()
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish",
        json={"primaryKey": "k"},
        headers=headers2,
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["code"] == "key_not_unique"
