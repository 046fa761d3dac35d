"""Uploads through the API: formats, encodings, modes, review, and who may upload."""

from __future__ import annotations

import io
import json

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.identity.models import Role
from datatorg.settings import Settings
from tests.factories import make_token, make_user
from tests.lake.helpers import make_dataset, publisher, upload

CSV = "tid,stasjon,no2\n2024-01-01 00:00:00,Sentrum,12.5\n2024-01-01 01:00:00,Tistedal,7\n"


def rows(client: TestClient, ds_slug: str, query: str = "") -> dict:  # type: ignore[type-arg]
    resp = client.get(f"/api/v1/datasets/{ds_slug}/rows{query}")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_csv_upload_publishes_a_version_with_inferred_types(
    client: TestClient, session: Session
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, CSV.encode())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["number"] == 1 and body["row_count"] == 2
    types = {f["name"]: (f["type"], f.get("role")) for f in body["table_schema"]["fields"]}
    assert types == {
        "tid": ("datetime", "time"),
        "stasjon": ("string", None),
        "no2": ("number", None),
    }
    data = rows(client, ds.slug)
    assert data["columns"] == ["tid", "stasjon", "no2"]
    assert data["rows"][0] == ["2024-01-01T00:00:00", "Sentrum", 12.5]


def test_latin1_semicolon_csv_with_decimal_comma(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = "skole;elever;snitt\nBrødløs skole;120;3,5\nÆsøy skole;80;4,25\n".encode("cp1252")
    resp = upload(client, ds, headers, content)
    assert resp.status_code == 201, resp.text
    data = rows(client, ds.slug, "?_sort=skole")
    assert data["rows"] == [["Brødløs skole", 120, 3.5], ["Æsøy skole", 80, 4.25]]


def test_codes_with_leading_zeros_stay_text(client: TestClient, session: Session) -> None:
    """Municipality numbers, postcodes and account numbers keep their leading zeros; a
    column of plain numbers next to them is still inferred as integer."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = (
        "kommune;postnr;konto;antall\n3001;1771;0100;7\n0301;0150;1500;5\n1103;4006;1920;9\n"
    ).encode("cp1252")
    resp = upload(client, ds, headers, content)
    assert resp.status_code == 201, resp.text
    data = rows(client, ds.slug, "?kommune=0301")
    assert data["rows"] == [["0301", "0150", "1500", 5]]


def test_utf8_bom_tsv(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = "\ufeffnavn\tantall\nØstre\t3\nÅs\t4\n".encode()
    resp = upload(client, ds, headers, content, filename="x.tsv")
    assert resp.status_code == 201, resp.text
    assert rows(client, ds.slug)["columns"] == ["navn", "antall"]


def test_json_ndjson_xlsx_and_parquet(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    records = [{"a": 1, "b": "æ"}, {"a": 2, "b": "ø"}]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["a", "b"])
    for r in records:
        sheet.append([r["a"], r["b"]])
    xbuf = io.BytesIO()
    book.save(xbuf)
    pbuf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), pbuf)
    payloads = {
        "x.json": json.dumps(records).encode(),
        "x.ndjson": "\n".join(json.dumps(r) for r in records).encode(),
        "x.xlsx": xbuf.getvalue(),
        "x.parquet": pbuf.getvalue(),
    }
    for name, content in payloads.items():
        ds = make_dataset(session, org)
        resp = upload(client, ds, headers, content, filename=name)
        assert resp.status_code == 201, (name, resp.text)
        assert rows(client, ds.slug, "?_sort=a")["rows"] == [[1, "æ"], [2, "ø"]], name


def test_nan_and_infinity_read_as_null(client: TestClient, session: Session) -> None:
    """Parquet floats may hold NaN and ±inf, which JSON cannot: the rows API writes null."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    buf = io.BytesIO()
    table = pa.table({"x": [1.5, float("nan"), float("inf")], "n": [1, 2, 3]})
    pq.write_table(table, buf)
    resp = upload(client, ds, headers, buf.getvalue(), filename="f.parquet")
    assert resp.status_code == 201, resp.text
    assert rows(client, ds.slug, "?_sort=n")["rows"] == [[1.5, 1], [None, 2], [None, 3]]


def test_append_and_replace_keep_a_version_list(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"a,b\n1,x\n").status_code == 201
    assert upload(client, ds, headers, b"a,b\n2,y\n3,z\n", mode="append").status_code == 201
    assert rows(client, ds.slug, "?_count=1")["count"] == 3
    resp = upload(client, ds, headers, b"a,c\n9,1.5\n", mode="replace")
    assert resp.status_code == 201
    listing = client.get(f"/api/v1/datasets/{ds.slug}/versions").json()
    assert listing["current"] == 3
    assert [(v["number"], v["row_count"], v["mode"]) for v in listing["versions"]] == [
        (3, 1, "replace"),
        (2, 3, "append"),
        (1, 1, "replace"),
    ]
    assert {"change": "added", "column": "c", "type": "number"} in listing["versions"][0][
        "schema_changes"
    ]
    assert {"change": "removed", "column": "b"} in listing["versions"][0]["schema_changes"]
    assert rows(client, ds.slug)["rows"] == [[9, 1.5]]


def test_append_with_wrong_type_names_row_and_column(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    upload(client, ds, headers, b"a,b\n1,x\n")
    resp = upload(client, ds, headers, b"a,b\n2,y\nnot-a-number,z\n", mode="append")
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert err["row"] == 2 and err["column"] == "a"
    assert rows(client, ds.slug, "?_count=1")["count"] == 1


def test_review_then_publish_with_schema_adjustment(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, b"kode,lat,lon\n0101,59.1,11.4\n", publish="false")
    assert resp.status_code == 202, resp.text
    pending = resp.json()
    assert pending["status"] == "pending"
    assert rows_status(client, ds.slug) == 404  # nothing published yet
    changes = {
        "fields": [
            {"name": "kode", "type": "string", "description": "Kommunenummer"},
            {"name": "lat", "role": "latitude", "unit": "degree"},
        ]
    }
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish", json=changes, headers=headers
    )
    assert resp.status_code == 201, resp.text
    fields = {f["name"]: f for f in resp.json()["table_schema"]["fields"]}
    assert fields["kode"]["type"] == "string"  # integer inferred; string asked → cast
    assert fields["kode"]["description"] == "Kommunenummer"
    assert fields["lat"]["role"] == "latitude"


def rows_status(client: TestClient, slug: str) -> int:
    return client.get(f"/api/v1/datasets/{slug}/rows").status_code


def test_schema_adjustment_with_unfit_type_is_refused(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    pending = upload(client, ds, headers, b"a\nx\n", publish="false").json()
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish",
        json={"fields": [{"name": "a", "type": "integer"}]},
        headers=headers,
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["column"] == "a"
    assert rows_status(client, ds.slug) == 404


def test_only_publishers_of_the_owner_upload(client: TestClient, session: Session) -> None:
    org, _ = publisher(session)
    ds = make_dataset(session, org)
    consumer = make_user(session, org=org, roles=(Role.consumer,))
    other_org, other_headers = publisher(session)
    assert upload(client, ds, make_token(session, consumer), b"a\n1\n").status_code == 403
    assert upload(client, ds, other_headers, b"a\n1\n").status_code == 403
    assert client.post(f"/api/v1/datasets/{ds.slug}/versions").status_code == 401
    del other_org


def test_upload_limit_is_enforced_while_streaming(
    client: TestClient, session: Session, settings: Settings
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    client.app.state.settings = settings.model_copy(update={"upload_max_bytes": 1000})  # type: ignore[attr-defined]
    resp = upload(client, ds, headers, b"a\n" + b"1\n" * 2000)
    assert resp.status_code == 413
    assert rows_status(client, ds.slug) == 404


@pytest.mark.parametrize(
    ("fields", "query", "field"),
    [
        ({"mode": "evil"}, "", "mode"),
        ({"mode": "Replace"}, "", "mode"),
        ({"publish": "maybe"}, "", "publish"),
        ({"publish": "yes"}, "", "publish"),
        ({"modus": "replace"}, "", "modus"),
        ({"csrf_token": "x"}, "", "csrf_token"),
        ({"publish": "true"}, "?publish=false", "publish"),
        ({}, "?mode=evil", "mode"),
    ],
)
def test_form_fields_are_checked_strictly_and_staging_is_removed(
    client: TestClient,
    session: Session,
    settings: Settings,
    fields: dict[str, str],
    query: str,
    field: str,
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    staging = settings.lake_path / "staging"
    before = set(staging.iterdir()) if staging.exists() else set()
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/versions{query}",
        files={"file": ("x.csv", b"a\n1\n")},
        data=fields,
        headers=headers,
    )
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert (set(staging.iterdir()) if staging.exists() else set()) == before
    assert rows_status(client, ds.slug) == 404


def test_a_field_sent_twice_is_refused(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    boundary = "x0x0x0"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nreplace\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nappend\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        "a\n1\n\r\n",
        f"--{boundary}--\r\n",
    ]
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/versions",
        content="".join(parts).encode(),
        headers=headers | {"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 400 and "mode" in resp.json()["detail"]


def test_strict_fields_still_take_the_documented_values(
    client: TestClient, session: Session
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"a\n1\n", mode="replace", publish="true").status_code == 201
    assert upload(client, ds, headers, b"a\n2\n", mode="append", publish="false").status_code == 202
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/versions?mode=append&publish=true",
        files={"file": ("x.csv", b"a\n3\n")},
        headers=headers,
    )
    assert resp.status_code == 201 and rows(client, ds.slug, "?_count=1")["count"] == 2
