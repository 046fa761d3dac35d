"""Bad files: each gets a clear error naming the problem, and nothing is stored."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.lake.models import DatasetVersion, PendingUpload
from datatorg.settings import Settings
from tests.lake.helpers import make_dataset, publisher, upload


def _lake_files(settings: Settings) -> set[str]:
    root = settings.lake_path
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _nothing_stored(session: Session, ds: Dataset, settings: Settings, before: set[str]) -> None:
    versions = session.scalar(
        select(func.count()).select_from(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
    )
    pending = session.scalar(
        select(func.count()).select_from(PendingUpload).where(PendingUpload.dataset_id == ds.id)
    )
    assert (versions, pending) == (0, 0)
    assert _lake_files(settings) == before


def _xlsx_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))
    return buf.getvalue()


def _xlsx_truncated() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["a"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()[:300]


CASES = {
    "truncated-csv": ("t.csv", b'a,b\n1,2\n3,"unterminated\n', "truncated"),
    "truncated-xlsx": ("t.xlsx", _xlsx_truncated(), "damaged or truncated"),
    "truncated-parquet": ("t.parquet", b"PAR1" + b"\x01" * 100, "damaged or truncated"),
    "wrong-encoding": ("u16.csv", "a,b\n1,æ\n".encode("utf-16"), "UTF-16"),
    "ragged": ("r.csv", b"a,b\n1,2\n3,4,5\n6,7\n", "Expected Number of Columns: 2 Found: 3"),
    "zip-bomb": ("bomb.xlsx", _xlsx_bomb(), "zip bomb"),
    "huge-line": ("h.csv", b"a,b\n1," + b"x" * (3 * 1024 * 1024) + b"\n", "longer than"),
    "traversal": ("../../etc/passwd.csv", b"a\n1\n", "file name"),
    "backslash": ("..\\..\\x.csv", b"a\n1\n", "file name"),
    "empty": ("e.csv", b"", "empty"),
    "not-xlsx-zip": ("z.xlsx", b"PK\x03\x04" + b"\x00" * 50, "damaged or truncated"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_refused_whole(
    client: TestClient, session: Session, settings: Settings, case: str
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    before = _lake_files(settings)
    filename, content, expected = CASES[case]
    resp = upload(client, ds, headers, content, filename=filename)
    assert resp.status_code in (400, 422), resp.text
    body = resp.json()
    assert body["type"].endswith(("/invalid", "/bad-request"))
    text = body["detail"] + " " + " ".join(e.get("message", "") for e in body.get("errors", []))
    assert expected.lower() in text.lower(), text
    _nothing_stored(session, ds, settings, before)


def test_ragged_row_error_names_its_line(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, b"a,b\n1,2\n3,4\n5,6,7\n")
    assert resp.json()["errors"][0]["line"] == 4


def _two_million(path: Path, last: str) -> bytes:
    lines = ["id,value"] + [f"{i},{i % 997}" for i in range(1, 2_000_000)] + [f"2000000,{last}"]
    path.write_text("\n".join(lines) + "\n")
    return path.read_bytes()


def test_type_error_on_the_last_of_two_million_rows(
    client: TestClient, session: Session, settings: Settings, tmp_path: Path
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    assert upload(client, ds, headers, b"id,value\n0,1\n").status_code == 201
    before = _lake_files(settings)
    content = _two_million(tmp_path / "big.csv", "not-a-number")
    resp = upload(client, ds, headers, content, filename="big.csv", mode="append")
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert (err["row"], err["column"]) == (2_000_000, "value")
    assert "not-a-number" in err["message"]
    assert _lake_files(settings) == before
    count = client.get(f"/api/v1/datasets/{ds.slug}/rows?_count=1&_size=0").json()["count"]
    assert count == 1


def test_types_are_inferred_over_the_whole_file(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    """A text value on the last of 2 million rows makes the column text, not an error."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    content = _two_million(tmp_path / "big.csv", "n/a")
    resp = upload(client, ds, headers, content, filename="big.csv")
    assert resp.status_code == 201, resp.text
    fields = {f["name"]: f["type"] for f in resp.json()["table_schema"]["fields"]}
    assert fields == {"id": "integer", "value": "string"}
    assert resp.json()["row_count"] == 2_000_000
