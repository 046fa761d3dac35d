"""The CKAN Action API with JSON nested deeper than Python's parser goes (a POST body, or the
JSON strings ``filters``, ``facet.field``, ``fields`` inside one): a 400 or 409 in CKAN's
shape, never a 500 (a RecursionError answered 500 on package_search and datastore_search)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.lake.helpers import make_dataset, publisher, upload

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("prefix", ["/api/3/action", "/api/action"])
def test_deeply_nested_json_is_a_bad_request(
    client: TestClient, session: Session, prefix: str
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a,b\n1,x\n2,y\n")
    bodies = {
        "package_search": [
            '{"q": ' + DEEP + "}",
            json.dumps({"facet.field": DEEP}),
        ],
        "datastore_search": [
            '{"resource_id": "' + ds.slug + '", "filters": ' + DEEP + "}",
            json.dumps({"resource_id": ds.slug, "filters": '{"a": ' + DEEP + "}"}),
            json.dumps({"resource_id": ds.slug, "fields": DEEP}),
            json.dumps({"resource_id": ds.slug, "sort": DEEP}),
        ],
    }
    for action, sent in bodies.items():
        for body in sent:
            r = client.post(
                f"{prefix}/{action}",
                content=body.encode(),
                headers={"content-type": "application/json"},
            )
            assert r.status_code in (400, 409), (action, body[:40], r.status_code, r.text[:200])
            answer = r.json()
            assert isinstance(answer, str) or answer["success"] is False
            assert "Recursion" not in r.text and "Traceback" not in r.text
