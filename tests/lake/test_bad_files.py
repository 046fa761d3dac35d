"""Bad files: each gets a clear error naming the problem, and nothing is stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.lake.models import DatasetVersion, PendingUpload
from datatorg.settings import Settings
from tests.lake.helpers import make_dataset, publisher, upload
from tests.lake.malformed import MALFORMED


def _lake_files(settings: Settings) -> set[str]:
    """The lake's stored files; row indexes are left out: they are caches of published
    versions, which an earlier test's read may still be building in the background."""
    root = settings.lake_path
    found = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    return {f for f in found if not f.startswith("rowindex/")}


def _nothing_stored(session: Session, ds: Dataset, settings: Settings, before: set[str]) -> None:
    versions = session.scalar(
        select(func.count()).select_from(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
    )
    pending = session.scalar(
        select(func.count()).select_from(PendingUpload).where(PendingUpload.dataset_id == ds.id)
    )
    assert (versions, pending) == (0, 0)
    assert _lake_files(settings) == before


# The code each malformed file is refused with (tests/lake/malformed.py).
EXPECTED = {
    "unterminated_quote.csv": "unterminated_quote",
    "ragged.csv": "wrong_number_of_values",
    "too_few.csv": "wrong_number_of_values",
    "duplicate_header.csv": "duplicate_column",
    "duplicate_header_case.csv": "duplicate_column",
    "empty_header.csv": "unnamed_column",
    "header_only_spaces.csv": "unnamed_column",
    "utf16.csv": "not_text",
    "binary.csv": "not_text",
    "empty.csv": None,  # 400 before any reading
    "broken.ndjson": "not_json",
    "not_json.json": "not_json",
    "truncated.json": "not_json",
    "scalars.json": "not_records",
    "deep.json": "not_records",
    "deep.ndjson": "not_records",
    "nested.json": "nested_value",
    "duplicate_keys.json": "duplicate_column",
    "truncated.parquet": "damaged",
    "not_parquet.parquet": "damaged",
    "duplicate_columns.parquet": "duplicate_column",
    "truncated.xlsx": "damaged",
    "not_xlsx.xlsx": "damaged",
    "zip_bomb.xlsx": "zip_bomb",
    "duplicate_header.xlsx": "duplicate_column",
    "huge_line.csv": "value_too_long",
}
# What must never reach a publisher: server paths, the engine's words, stack details.
LEAKS = re.compile(
    r"/[\w.-]+/[\w.-]+|\\|staging|Error:|Exception|Traceback|LINE \d|read_(csv|json|parquet)|"
    r"COPY|duckdb|DuckDB|sniff|Try |Binder|Invalid Input|pyarrow|openpyxl|BadZipFile|"
    r"File \"|line \d+, in |\bsource\b",
)


def test_every_malformed_file_has_an_expected_answer() -> None:
    assert set(EXPECTED) == set(MALFORMED)


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("lang", ["en", "nb"])
def test_malformed_file_is_refused_in_plain_words(
    client: TestClient, session: Session, settings: Settings, name: str, lang: str
) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    before = _lake_files(settings)
    resp = client.post(
        f"/api/v1/datasets/{ds.slug}/versions",
        files={"file": (name, MALFORMED[name])},
        headers=headers | {"accept-language": lang},
    )
    assert resp.status_code in (400, 422), resp.text
    body = resp.json()
    assert body["type"].endswith(("/invalid", "/bad-request"))
    words = [body["detail"]] + [e.get("message", "") for e in body.get("errors", [])]
    text = "\n".join(words)
    assert LEAKS.search(text) is None, text
    assert str(settings.lake_path) not in text
    if EXPECTED[name] is not None:
        assert EXPECTED[name] in [e.get("code") for e in body["errors"]], text
        assert all(e["message"] for e in body["errors"])
    _nothing_stored(session, ds, settings, before)


def test_one_huge_value_is_named_by_row_and_column(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """A CSV with one 30 MB value: the answer names its row, its column and the limit, in
    the caller's language, and nothing is stored."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    before = _lake_files(settings)
    body = b'id,note,n\n1,short,1\n2,"' + b"x" * 30_000_000 + b'",2\n3,ok,3\n'
    answers = {}
    for lang in ("en", "nb"):
        resp = client.post(
            f"/api/v1/datasets/{ds.slug}/versions",
            files={"file": ("notes.csv", body)},
            headers=headers | {"accept-language": lang},
        )
        assert resp.status_code in (400, 422), resp.text
        answers[lang] = resp.json()
    en, nb = answers["en"], answers["nb"]
    assert [(e["code"], e["row"], e["column"]) for e in en["errors"]] == [
        ("value_too_long", 2, "note")
    ]
    assert en["errors"][0]["message"] == (
        "Row 2, column 'note': the value is 30.0 MB long; one value may be at most 1 MiB. "
        "Shorten it, or keep the long text elsewhere and link to it."
    )
    assert "1 MiB" in en["detail"] and "Nothing was stored." in en["detail"]
    assert nb["errors"][0]["message"].startswith(
        "Rad 2, kolonne 'note': verdien er 30,0 MB lang; én verdi kan være høyst 1 MiB."
    )
    assert "Ingenting ble lagret." in nb["detail"]
    _nothing_stored(session, ds, settings, before)


def test_messages_are_in_the_callers_language(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    answers = {
        lang: client.post(
            f"/api/v1/datasets/{ds.slug}/versions",
            files={"file": ("r.csv", MALFORMED["ragged.csv"])},
            headers=headers | {"accept-language": lang},
        ).json()
        for lang in ("en", "nb")
    }
    en, nb = answers["en"]["errors"][0], answers["nb"]["errors"][0]
    assert (en["row"], en["line"]) == (nb["row"], nb["line"]) == (2, 3)
    assert en["message"] == "This row has 3 values; the header line has 2 columns."
    assert nb["message"] == "Denne raden har 3 verdier; overskriftslinjen har 2 kolonner."


def test_duplicate_header_is_refused_never_renamed(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, b"id,navn,Navn,verdi\n1,a,b,2\n", publish="false")
    assert resp.status_code == 422
    err = resp.json()["errors"][0]
    assert err["code"] == "duplicate_column" and err["column"] == "navn"
    assert "2, 3" in err["message"]
    assert upload(client, ds, headers, b"id,navn,navn_1\n1,a,b\n").status_code == 201


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


def test_diagnosing_a_large_broken_json_file_does_not_build_its_objects(tmp_path: Path) -> None:
    """A truncated 8 MB list of small records: finding the error's place costs about the
    file's size in memory, not a Python dict per record (a 56 MB file took 1.4 GB so)."""
    import tracemalloc

    from datatorg.lake import ingest

    src = tmp_path / "big.json"
    src.write_bytes(b"[" + b",".join([b'{"a":1}'] * 1_000_000))  # no closing bracket
    tracemalloc.start()
    try:
        problem = ingest._json_problem(src, "json", "engine text")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "not_json" in [e["code"] for e in problem.errors]
    assert peak < 4 * src.stat().st_size, peak
