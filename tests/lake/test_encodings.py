"""Text encodings of CSV uploads: detected with charset-normalizer, recoded to UTF-8, and the
report names the encoding that was actually used."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.lake import ingest_encoding
from tests.lake.helpers import make_dataset, publisher, upload

TEXT = "sted;merknad\nBrødløs;Søndre Åsen – «fint» vær\nÆsøy;Ørje kostet 5 €\n"
ROWS = [["Brødløs", "Søndre Åsen – «fint» vær"], ["Æsøy", "Ørje kostet 5 €"]]


def _review(client: TestClient, session: Session, content: bytes) -> dict:  # type: ignore[type-arg]
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    resp = upload(client, ds, headers, content, filename="tekst.csv", publish="false")
    assert resp.status_code == 202, resp.text
    pending = resp.json()
    url = f"/api/v1/datasets/{ds.slug}/uploads/{pending['id']}/publish"
    assert client.post(url, json={}, headers=headers).status_code == 201
    query = "?_sort_desc=sted&_size=2"  # Æ, Ø and Å sort after the ASCII letters
    pending["rows"] = client.get(f"/api/v1/datasets/{ds.slug}/rows{query}").json()["rows"]
    return pending  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("content", "reported"),
    [
        (TEXT.encode("utf-8"), "UTF-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "UTF-8 with BOM"),
        (TEXT.encode("cp1252"), "Windows-1252"),  # € and – exist only in Windows-1252
    ],
)
def test_the_report_names_the_encoding_used(
    client: TestClient, session: Session, content: bytes, reported: str
) -> None:
    got = _review(client, session, content)
    assert got["report"]["encoding"] == reported
    assert got["rows"] == ROWS[::-1]


def test_mac_roman_is_recognised(client: TestClient, session: Session) -> None:
    text = "sted;merknad\nBrødløs;Været på Østsiden av Halden er fint\nÆsøy;Også på Åsen\n"
    got = _review(client, session, text.encode("mac_roman"))
    assert got["report"]["encoding"] == "Mac Roman"
    assert got["rows"] == [
        ["Æsøy", "Også på Åsen"],
        ["Brødløs", "Været på Østsiden av Halden er fint"],
    ]


def test_non_ascii_far_into_the_file(client: TestClient, session: Session) -> None:
    """The first 64 KiB are plain ASCII; Latin-1 letters come later and are still read."""
    lines = ["sted;merknad"] + [f"x{i:05d};plain" for i in range(8000)] + ["Øra;Søndre Åsen"]
    content = ("\n".join(lines) + "\n").encode("cp1252")
    assert len(content) > 64 * 1024
    got = _review(client, session, content)
    assert got["report"]["encoding"] == "Windows-1252"
    assert got["rows"][0] == ["Øra", "Søndre Åsen"]


def test_recode_falls_back_when_the_first_guess_fails(tmp_path: Path) -> None:
    """Byte 0x81 has no character in Windows-1252: another candidate decodes the file, and
    that is the one reported."""
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_bytes("a\nSøndre Åsen\n".encode("latin-1") + b"x\x81y\n")
    used = ingest_encoding.recode(source, target)
    assert used != "cp1252"
    assert target.read_text(encoding="utf-8") == ("a\nSøndre Åsen\n" + b"x\x81y\n".decode(used))
    assert ingest_encoding.label(used) in ingest_encoding.NAMES.values()
