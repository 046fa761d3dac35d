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
    err = _rows(client, odd, "_nosuchthing__exact=1", status=422)["errors"][0]
    assert err["parameter"] == "_nosuchthing__exact"
