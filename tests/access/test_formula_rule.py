"""The formula rule: uploads store cell text as published; CSV and XLSX downloads neutralise
text that a spreadsheet would run, with one rule (``access.export.neutralise``); JSON, NDJSON
and Parquet give the stored value."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.access.export import FORMULA_PREFIXES, neutralise, neutralise_sql
from tests.lake.helpers import make_dataset, publisher, upload

# Legitimate text that starts like a formula, as publishers write it.
PUBLISHED = [
    "+47 22 33 44 55",  # a phone number
    "@halden",  # a handle
    '=HYPERLINK("https://halden.kommune.no")',  # text about a formula
    "-5 kr",
    "=1+1",
    "\tindented",
    "plain text",
    "a = b",
    "'quoted already",
]


def test_one_rule_in_python_and_in_sql() -> None:
    """``neutralise`` and its DuckDB form agree on every prefix and on harmless text."""
    values = PUBLISHED + [p + "x" for p in FORMULA_PREFIXES] + ["", "x=1", "æøå", "\rcr"]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
        sql = f"SELECT {neutralise_sql('v')} FROM t ORDER BY i"
        got = [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()
    assert got == [neutralise(v) for v in values]
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}  # OWASP's list
    assert neutralise("=1+1") == "'=1+1" and neutralise("a = b") == "a = b"


def _published_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "note"])
    for i, value in enumerate(PUBLISHED):
        w.writerow([i, value])
    return buf.getvalue().encode()


@pytest.fixture
def notes(client: TestClient, session: Session) -> str:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, _published_csv(), filename="notes.csv")
    assert resp.status_code == 201, resp.text
    return ds.slug


def test_upload_stores_text_as_published(client: TestClient, notes: str) -> None:
    body = client.get(f"/api/v1/datasets/{notes}/rows?_sort=id&_size=100").json()
    assert [r[1] for r in body["rows"]] == PUBLISHED


@pytest.mark.parametrize("fmt", ["json", "ndjson", "parquet"])
def test_data_formats_give_the_stored_value(client: TestClient, notes: str, fmt: str) -> None:
    resp = client.get(f"/api/v1/datasets/{notes}/download.{fmt}?_sort=id")
    assert resp.status_code == 200, resp.text
    if fmt == "json":
        got = [r["note"] for r in json.loads(resp.text)]
    elif fmt == "ndjson":
        got = [json.loads(line)["note"] for line in resp.text.splitlines()]
    else:
        got = pq.read_table(io.BytesIO(resp.content)).column("note").to_pylist()
    assert got == PUBLISHED


def test_csv_and_xlsx_neutralise_with_the_rule(client: TestClient, notes: str) -> None:
    expected = [neutralise(v) for v in PUBLISHED]
    assert expected[0] == "'+47 22 33 44 55" and expected[6] == "plain text"
    resp = client.get(f"/api/v1/datasets/{notes}/download.csv?_sort=id")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["id", "note"]
    assert [r[1] for r in rows[1:]] == expected
    xlsx = client.get(f"/api/v1/datasets/{notes}/download.xlsx?_sort=id").content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells == expected
    assert all(c.data_type == "s" for c in sheet["B"][1:])  # text, never a formula cell


def test_json_round_trip_is_exact(client: TestClient, session: Session) -> None:
    """A value uploaded as JSON comes back from the rows API and the JSON download unchanged."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    value = '=HYPERLINK("https://x.example/?a=1&b=2","@halden") +47 -1'
    content = json.dumps([{"k": 1, "v": value}, {"k": 2, "v": "@"}]).encode()
    assert upload(client, ds, headers, content, filename="v.json").status_code == 201
    rows = client.get(f"/api/v1/datasets/{ds.slug}/rows?_sort=k").json()["rows"]
    assert [r[1] for r in rows] == [value, "@"]
    download = client.get(f"/api/v1/datasets/{ds.slug}/download.json?_sort=k").json()
    assert [r["v"] for r in download] == [value, "@"]


def test_column_names_go_through_the_rule_too(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"=sum,@who\n1,x\n", filename="h.csv").status_code == 201
    header = client.get(f"/api/v1/datasets/{ds.slug}/download.csv").text.splitlines()[0]
    assert header == "'=sum,'@who"
    xlsx = client.get(f"/api/v1/datasets/{ds.slug}/download.xlsx").content
    first = next(openpyxl.load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True))
    assert first == ("'=sum", "'@who")
    assert client.get(f"/api/v1/datasets/{ds.slug}/download.json").json() == [
        {"=sum": 1, "@who": "x"}
    ]
