"""Statistics Norway's missing-value markers: proposed in the review, stored as nulls, recorded
in the Table Schema (``missingValues``) and in ``datapackage.json``."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import Distribution
from tests.lake.helpers import make_dataset, publisher, upload
from tests.lake.test_upload_pages import _csrf

# Population by municipality, as SSB writes it: ".." not available, ":" confidential,
# "-" nil, "." not applicable; decimals with a comma in a ;-separated file.
SSB = (
    (
        "kommune;år;innbyggere;andel\n"
        "3001 Halden;2023;31 444;4,5\n"
        "3001 Halden;2024;..;4,7\n"
        "3002 Moss;2023;50 290;:\n"
        "3002 Moss;2024;50 615;-\n"
        "3003 Sarpsborg;2023;.;5,1\n"
    )
    .replace("31 444", "31444")
    .replace("50 290", "50290")
    .replace("50 615", "50615")
)


def _pending(client: TestClient, session: Session) -> tuple[Any, dict[str, str], dict[str, Any]]:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, SSB.encode("utf-8"), filename="ssb.csv", publish="false")
    assert resp.status_code == 202, resp.text
    return ds, headers, resp.json()


def test_the_review_proposes_the_markers_with_counts(client: TestClient, session: Session) -> None:
    _ds, _headers, pending = _pending(client, session)
    proposal = pending["report"]["missing_values"]
    assert proposal["markers"] == {"..": 1, ".": 1, ":": 1, "-": 1}
    assert proposal["columns"] == {
        "innbyggere": {"type": "integer", "decimal_comma": False, "cells": {"..": 1, ".": 1}},
        "andel": {"type": "number", "decimal_comma": True, "cells": {":": 1, "-": 1}},
    }
    types = {f["name"]: f["type"] for f in pending["table_schema"]["fields"]}
    assert types == {
        "kommune": "string",
        "år": "integer",
        "innbyggere": "string",
        "andel": "string",
    }


def test_accepted_markers_become_nulls_and_the_schema_records_them(
    client: TestClient, session: Session
) -> None:
    ds, headers, pending = _pending(client, session)
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish",
        json={"missingValues": ["..", ".", ":", "-"]},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    schema = resp.json()["table_schema"]
    assert schema["missingValues"] == ["", "..", ".", ":", "-"]
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["innbyggere"] == "integer" and types["andel"] == "number"
    assert all("x-decimal-comma" not in f for f in schema["fields"])
    rows = client.get(f"/api/v1/datasets/{ds.slug}/rows?_col=innbyggere,andel").json()["rows"]
    assert rows == [[31444, 4.5], [None, 4.7], [50290, None], [50615, None], [None, 5.1]]
    agg = client.get(f"/api/v1/datasets/{ds.slug}/rows?_agg=sum(innbyggere)").json()["rows"]
    assert agg == [[31444 + 50290 + 50615]]
    # downloads write nulls: empty CSV cells, JSON null
    text = client.get(f"/api/v1/datasets/{ds.slug}/download.csv?_col=innbyggere,andel").text
    assert list(csv.reader(io.StringIO(text)))[2:4] == [["", "4.7"], ["50290", ""]]
    data = client.get(f"/api/v1/datasets/{ds.slug}/download.json?_col=andel").json()
    assert [r["andel"] for r in data] == [4.5, 4.7, None, None, 5.1]
    session.add(
        Distribution(
            dataset_id=ds.id, format="CSV", download_url=f"https://x.example/{ds.slug}.csv"
        )
    )
    session.flush()
    session.expire(ds)
    package = client.get(f"/api/v1/datasets/{ds.slug}/datapackage.json").json()
    assert (
        all(r["schema"]["missingValues"] == ["", "..", ".", ":", "-"] for r in package["resources"])
        and package["resources"]
    )


def test_keeping_some_markers_keeps_the_other_columns_text(
    client: TestClient, session: Session
) -> None:
    """Only ``..`` and ``.`` accepted: ``innbyggere`` becomes numeric; ``andel``, which also
    holds ``:`` and ``-``, stays text as published."""
    ds, headers, pending = _pending(client, session)
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish",
        json={"missingValues": ["..", "."]},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    types = {f["name"]: f["type"] for f in resp.json()["table_schema"]["fields"]}
    assert types["innbyggere"] == "integer" and types["andel"] == "string"
    rows = client.get(f"/api/v1/datasets/{ds.slug}/rows?_col=andel").json()["rows"]
    assert [r[0] for r in rows] == ["4,5", "4,7", ":", "-", "5,1"]


def test_publishing_without_the_markers_stores_text_as_published(
    client: TestClient, session: Session
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, SSB.encode(), filename="ssb.csv")
    assert resp.status_code == 201, resp.text
    assert "missingValues" not in resp.json()["table_schema"]
    rows = client.get(f"/api/v1/datasets/{ds.slug}/rows?_col=innbyggere").json()["rows"]
    assert [r[0] for r in rows] == ["31444", "..", "50290", "50615", "."]


def test_appends_apply_the_recorded_markers(client: TestClient, session: Session) -> None:
    ds, headers, pending = _pending(client, session)
    url = f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish"
    assert (
        client.post(url, json={"missingValues": ["..", ".", ":", "-"]}, headers=headers).status_code
        == 201
    )
    more = "kommune;år;innbyggere;andel\n3003 Sarpsborg;2024;:;5,2\n".encode()
    resp = upload(client, ds, headers, more, filename="more.csv", mode="append")
    assert resp.status_code == 201, resp.text
    rows = client.get(
        f"/api/v1/datasets/{ds.slug}/rows?år=2024&_col=kommune,innbyggere,andel"
    ).json()
    assert ["3003 Sarpsborg", None, 5.2] in rows["rows"]


def test_markers_that_are_not_in_the_file_are_refused(client: TestClient, session: Session) -> None:
    ds, headers, pending = _pending(client, session)
    url = f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish"
    for body in ({"missingValues": ["n/a"]}, {"missingValues": "..,:"}, {"missingValues": [1]}):
        resp = client.post(url, json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.text)
    assert client.get(f"/api/v1/datasets/{ds.slug}/rows").status_code == 404


def test_codes_with_leading_zeros_and_free_text_are_not_proposed(
    client: TestClient, session: Session
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = b"kode;merknad;verdi\n0301;..;1\n0101;fin;..\n..;.;2\n"
    resp = upload(client, ds, headers, content, filename="k.csv", publish="false")
    proposal = resp.json()["report"]["missing_values"]
    assert list(proposal["columns"]) == ["verdi"]


def test_the_review_page_offers_the_markers(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    token = _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    resp = client.post(
        f"/datasets/{ds.slug}/upload",
        files={"file": ("ssb.csv", SSB.encode())},
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    review = resp.headers["location"]
    page = client.get(review, headers=headers).text
    assert "Symboler for manglende verdier" in page and "tallgrunnlag mangler" in page
    assert 'name="missing" value=".."' in page
    resp = client.post(
        review + "/publish",
        data={"csrf_token": token, "missing_offered": "1", "missing": ["..", "."]},
        headers=headers,
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    version = client.get(f"/api/v1/datasets/{ds.slug}/versions").json()["versions"][0]
    assert version["table_schema"]["missingValues"] == ["", "..", "."]
    assert json.dumps(version["table_schema"]).count("x-decimal-comma") == 0
