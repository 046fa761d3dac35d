"""Bad input gets a clear error and loses nothing: malformed, oversized, wrongly encoded
(Latin-1 æøå) and hostile (SQL, markup, formula, path) variants of every kind of input the
living lab takes — JSON, forms, query parameters and uploads."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.pilots.models import Idea, Report
from datatorg.pilots.results import safe_filename
from tests.pilots import helpers
from tests.pilots.conftest import Lab, idea_body

JSON = {"Content-Type": "application/json"}


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Idea)) or 0)


BAD_IDEAS: list[dict[str, object]] = [
    {"title": "x" * 201},
    {"title": "ab"},
    {"title": "To\nlinjer"},
    {"problem": "kort"},
    {"problem": "p" * 4001},
    {"solution": "Nul\x00byte i teksten her"},
    {"submitter_kind": "alien"},
    {"domain": "'; DROP TABLE pilot_ideas; --"},
    {"place": "../../etc/passwd"},
    {"sdgs": [0]},
    {"sdgs": [18]},
    {"sdgs": list(range(1, 19))},
    {"latitude": 59.1},
    {"latitude": 60.5, "longitude": 10.7},
    {"latitude": "NaN", "longitude": 11.4},
    {"datasets": ["finnes-ikke"]},
    {"datasets": ["x" * 121]},
    {"call_id": "not-a-uuid"},
    {"organisation": "ikke-min"},
    {"unknown_field": 1},
]


def test_bad_ideas_are_refused_whole(client: TestClient, session: Session, lab: Lab) -> None:
    before = _count(session)
    for change in BAD_IDEAS:
        r = client.post("/api/v1/ideas", json=idea_body(**change), headers=lab.h["citizen"])
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"], r.json()
    assert _count(session) == before


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        '{"title": "Ærlig talt, øl på å"}'.encode("latin-1"),  # Latin-1 is not UTF-8
        b'{"title": ' + b'"a"' * 10 + b"}",
    ],
)
def test_malformed_json_is_a_clear_error(client: TestClient, lab: Lab, body: bytes) -> None:
    r = client.post("/api/v1/ideas", content=body, headers={**lab.h["citizen"], **JSON})
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]


def test_hostile_text_is_stored_as_sent_and_shown_escaped(client: TestClient, lab: Lab) -> None:
    title = "<script>alert('x')</script> =HYPERLINK(\"http://evil\") ' OR 1=1 --"
    idea = helpers.submitted(client, lab, title=title)
    assert idea["title"] == title  # stored as published
    page = client.get(f"/ideas/{idea['id']}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    # and searching with SQL in the words finds only what matches, literally
    found = client.get("/api/v1/ideas", params={"q": "' OR 1=1 --"}).json()
    assert [i["id"] for i in found["items"]] == [idea["id"]]
    assert client.get("/api/v1/ideas", params={"q": "%"}).json()["total"] == 0
    assert client.get("/api/v1/ideas", params={"q": "_"}).json()["total"] == 0


BAD_LIST_QUERIES = [
    "state=bogus",
    "domain=%27%20OR%201%3D1",
    "sdg=0",
    "sdg=18",
    "sdg=abc",
    "page=0",
    "page=99999999",
    "per_page=101",
    "sort=random",
    "q=" + "x" * 101,
    "call=not-a-uuid",
    "submitter_kind=../../",
]


def test_bad_list_parameters_answer_422(client: TestClient) -> None:
    for query in BAD_LIST_QUERIES:
        r = client.get(f"/api/v1/ideas?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.json()["errors"]
        if not query.startswith(("per_page", "call")):  # the page takes the other parameters
            page = client.get(f"/ideas?{query}", headers={"Accept": "text/html"})
            assert page.status_code == 422 and "<html" in page.text
    for path in ("/api/v1/portfolio", "/portfolio", "/api/v1/pilots", "/pilots"):
        status = "state" if path.endswith("pilots") else "status"
        for query in (f"{status}=bogus", "sdg=99", "domain=x", "page=-1"):
            assert client.get(f"{path}?{query}").status_code == 422, (path, query)


def test_latin1_in_query_strings_and_forms_never_crashes(client: TestClient, lab: Lab) -> None:
    # %E6%F8%E5 is æøå in Latin-1: not UTF-8; it finds nothing, quietly
    r = client.get("/api/v1/ideas?q=%E6%F8%E5")
    assert r.status_code in (200, 400, 422) and r.status_code < 500
    token = helpers.csrf(client)
    body = f"csrf_token={token}&title=".encode() + "Ærlig talt".encode("latin-1")
    r = client.post(
        "/ideas/new",
        content=body,
        headers={**lab.h["citizen"], "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422 and "<html" in r.text


def _zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return buf.getvalue()


BAD_REPORTS = [
    ("rapport.exe", b"MZ\x90\x00", "PDF"),
    ("rapport.pdf", b"MZ\x90\x00 not a pdf", ".pdf"),
    ("rapport.pdf.exe", b"%PDF-1.4", "PDF"),
    ("rapport", b"%PDF-1.4", "PDF"),
    ("rapport.txt", "Ærlig talt, øl på å".encode("latin-1"), "UTF-8"),
    ("rapport.txt", b"text\x00with NUL", ".txt"),
    ("rapport.docx", _zip("[Content_Types].xml", "xl/workbook.xml"), ".docx"),
    ("rapport.xlsx", b"PK\x03\x04broken", ".xlsx"),
    ("rapport.png", b"GIF89a", ".png"),
    ("tom.pdf", b"", ""),
]


def test_bad_reports_are_refused(client: TestClient, session: Session, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    for filename, content, problem in BAD_REPORTS:
        r = client.post(
            f"/api/v1/pilots/{p['id']}/reports",
            files={"file": (filename, content)},
            headers=lab.h["researcher"],
        )
        assert r.status_code in (400, 422), (filename, r.text)
        assert problem in r.json()["detail"] or problem in str(r.json().get("errors"))
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_good_reports_keep_a_safe_name_and_download_as_attachments(
    client: TestClient, lab: Lab
) -> None:
    p = helpers.pilot(client, lab)
    url = f"/api/v1/pilots/{p['id']}/reports"
    docx = _zip("[Content_Types].xml", "word/document.xml")
    for name, content in (
        ("../../etc/Sluttrapport æøå.pdf", b"%PDF-1.7 rapport"),
        ('C:\\temp\\<script>"x".docx', docx),
        ("=cmd|' /C calc'!A0.csv", b"a,b\n1,2\n"),
    ):
        r = client.post(url, files={"file": (name, content)}, headers=lab.h["researcher"])
        assert r.status_code == 201, r.text
    listed = client.get(url).json()
    names = [x["filename"] for x in listed]
    assert names == ["Sluttrapport æøå.pdf", "_script__22x_22.docx", "C calc__A0.csv"]
    got = client.get(listed[0]["url"])
    assert got.status_code == 200 and got.content == b"%PDF-1.7 rapport"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''Sluttrapport%20%C3%A6%C3%B8%C3%A5.pdf"
        in got.headers["content-disposition"]
    )
    assert got.headers["x-content-type-options"] == "nosniff"


def test_report_size_and_multipart_shape(client: TestClient, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    url = f"/api/v1/pilots/{p['id']}/reports"
    app = client.app
    settings = app.state.settings  # type: ignore[attr-defined]
    app.state.settings = settings.model_copy(update={"pilot_report_max_bytes": 1024})  # type: ignore[attr-defined]
    try:
        big = b"%PDF-1.4" + b"0" * 2048
        r = client.post(url, files={"file": ("stor.pdf", big)}, headers=lab.h["researcher"])
        assert r.status_code == 413 and "MB" in r.json()["detail"]
        huge = b"%PDF-1.4" + b"0" * 200_000  # refused by its Content-Length before it is read
        r = client.post(url, files={"file": ("stor.pdf", huge)}, headers=lab.h["researcher"])
        assert r.status_code == 413
    finally:
        app.state.settings = settings  # type: ignore[attr-defined]
    r = client.post(url, json={"file": "x"}, headers=lab.h["researcher"])
    assert r.status_code == 400
    r = client.post(
        url,
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF',
        headers={**lab.h["researcher"], "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code in (400, 422)
    r = client.post(url, data={"title": "uten fil"}, files={}, headers=lab.h["researcher"])
    assert r.status_code in (400, 422)
    r = client.post(url, files={"file": ("a.pdf", b"%PDF-1")}, headers=lab.h["supporter0"])
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\x00b\x1fc.pdf", "abc.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("..", "report"),
        ("rapport.PDF", "rapport.pdf"),
        ("Ærlig rapport.odt", "Ærlig rapport.odt"),
    ],
)
def test_safe_filenames(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_half_surrogates_and_nul_bytes_never_reach_the_database(
    client: TestClient, session: Session, lab: Lab
) -> None:
    before = _count(session)
    # a JSON escape of half a UTF-16 pair, in an otherwise good idea
    body = json.dumps(idea_body(title="Halvt XX tegn")).replace("XX", "\\ud800").encode()
    r = client.post("/api/v1/ideas", content=body, headers={**lab.h["citizen"], **JSON})
    assert r.status_code == 422
    r = client.post(
        "/api/v1/ideas", json=idea_body(title="Tittel\x00med NUL"), headers=lab.h["citizen"]
    )
    assert r.status_code == 422
    assert _count(session) == before
    for path in ("/api/v1/ideas", "/ideas", "/api/v1/pilots", "/pilots"):
        for q in ("%00", "%ED%A0%80", "a%0Ab"):
            assert client.get(f"{path}?q={q}").status_code in (200, 400, 422), (path, q)
    assert client.get("/api/v1/ideas?q=%00").status_code in (400, 422)
    assert client.get("/api/v1/ideas?q=a%01b").status_code == 422


def test_extreme_kpi_numbers_answer_json(client: TestClient, lab: Lab) -> None:
    p = helpers.pilot(client, lab)
    kpi = helpers.ok(
        client.post(
            f"/api/v1/pilots/{p['id']}/kpis",
            json={"name": "Ekstrem", "direction": "increase", "baseline": -1.7e308,
                  "target": 1.7e308},
            headers=lab.h["researcher"],
        ),
        201,
    )  # fmt: skip
    url = f"/api/v1/pilots/{p['id']}/kpis/{kpi['id']}"
    helpers.ok(
        client.post(url + "/values", json={"period": "2026-01-01", "value": 1.7e308},
                    headers=lab.h["researcher"]),
        201,
    )  # fmt: skip
    got = helpers.ok(client.get(url))
    assert got["progress"] is None and got["latest"]["value"] == 1.7e308
    page = client.get(f"/pilots/{p['id']}/kpis/{kpi['id']}")
    assert page.status_code == 200 and "<svg" in page.text
