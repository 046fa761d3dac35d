"""Upload pages without JavaScript: form, report, schema adjustment, publish, discard."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.settings import Settings
from datatorg.web.csrf import CSRF_COOKIE
from tests.lake.helpers import make_dataset, publisher


def _csrf(client: TestClient, url: str, headers: dict[str, str]) -> str:
    assert client.get(url, headers=headers).status_code == 200
    return client.cookies[CSRF_COOKIE]


def test_upload_review_adjust_publish(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    token = _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    content = "målested;verdi;lat;lon\nSentrum;1,5;59.1;11.4\n".encode("cp1252")
    resp = client.post(
        f"/datasets/{ds.slug}/upload",
        files={"file": ("måling.csv", content)},
        data={"csrf_token": token, "mode": "replace"},
        headers=headers,
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    review_url = resp.headers["location"]
    page = client.get(review_url, headers=headers).text
    assert "Windows-1252" in page and "målested" in page, page.split("<main")[1][:1500]
    resp = client.post(
        review_url + "/publish",
        data={
            "csrf_token": token,
            "type__0": "string",
            "role__2": "latitude",
            "role__3": "longitude",
            "unit__1": "µg/m³",
            "description__1": "Måleverdi",
        },
        headers=headers,
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    # the data page confirms the new version
    assert resp.headers["location"] == f"/datasets/{ds.slug}/data?published=1"
    fields = client.get(f"/api/v1/datasets/{ds.slug}/versions").json()["versions"][0][
        "table_schema"
    ]["fields"]
    assert fields[1]["unit"] == "µg/m³" and fields[2]["role"] == "latitude"
    assert (
        client.get(f"/api/v1/datasets/{ds.slug}/rows?_bbox=11,59,12,60&_count=1").json()["count"]
        == 1
    )


def test_bad_file_shows_report_on_the_form(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    token = _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    resp = client.post(
        f"/datasets/{ds.slug}/upload",
        files={"file": ("x.csv", b"a,b\n1,2\n3,4,5\n")},
        data={"csrf_token": token},
        headers=headers,
    )
    assert resp.status_code == 422
    assert "Denne raden har 3 verdier; overskriftslinjen har 2 kolonner." in resp.text
    assert 'role="alert"' in resp.text


def test_role_type_mismatch_is_reported_on_review(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    token = _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    resp = client.post(
        f"/datasets/{ds.slug}/upload",
        files={"file": ("x.csv", b"a,b\nx,2\n")},
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    url = resp.headers["location"]
    resp = client.post(
        url + "/publish", data={"csrf_token": token, "role__0": "latitude"}, headers=headers
    )
    assert resp.status_code == 422 and "krever en kolonne av en annen type" in resp.text
    resp = client.post(
        url + "/discard", data={"csrf_token": token}, headers=headers, follow_redirects=False
    )
    assert resp.status_code == 303
    assert client.get(url, headers=headers).status_code == 404


def test_upload_form_needs_csrf_and_publisher(client: TestClient, session: Session) -> None:
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    resp = client.post(
        f"/datasets/{ds.slug}/upload",
        files={"file": ("x.csv", b"a\n1\n")},
        data={"csrf_token": "forged"},
        headers=headers,
    )
    assert resp.status_code == 403
    # signed out: the page sends the visitor to sign in, and back here afterwards
    r = client.get(f"/datasets/{ds.slug}/upload", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=%2Fdatasets%2F{ds.slug}%2Fupload"


def test_refusals_on_the_page_remove_the_staged_file(
    client: TestClient, session: Session, settings: Settings
) -> None:
    """A bad form field or a bad file: the form again with the reason, and staging empty."""
    org, headers = publisher(session)
    ds = make_dataset(session, org)
    token = _csrf(client, f"/datasets/{ds.slug}/upload", headers)
    staging = settings.lake_path / "staging"
    before = set(staging.iterdir()) if staging.exists() else set()
    for data, content in (
        ({"csrf_token": token, "mode": "evil"}, b"a\n1\n"),
        ({"csrf_token": token, "extra": "x"}, b"a\n1\n"),
        ({"csrf_token": token}, b"a,a\n1,2\n"),
    ):
        resp = client.post(
            f"/datasets/{ds.slug}/upload",
            files={"file": ("x.csv", content)},
            data=data,
            headers=headers,
        )
        assert resp.status_code == 422, resp.text
        assert 'role="alert"' in resp.text
        assert (set(staging.iterdir()) if staging.exists() else set()) == before
