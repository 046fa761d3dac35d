"""The JSON API: create, read, patch, publish, retire, history; who may do what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.models import Role
from tests.catalog.helpers import body, make_dataset
from tests.factories import make_org, make_token, make_user


def test_publisher_creates_patches_publishes_and_retires(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    r = client.post(
        "/api/v1/datasets", json=body(slug="bysykkel", title_nb="Bysykkel"), headers=headers
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "draft"
    assert created["publisher"]["slug"] == org.slug
    assert created["fields"] == [
        {
            "name": "verdi",
            "type": "number",
            "title": "",
            "description": "",
            "unit": "",
            "data_category": "none",
        }
    ]
    r = client.patch("/api/v1/datasets/bysykkel", json={"title_en": "City bikes"}, headers=headers)
    assert r.status_code == 200 and r.json()["title_en"] == "City bikes"
    r = client.post(f"/api/v1/datasets/{created['id']}/publish", headers=headers)
    assert r.json()["status"] == "published" and r.json()["published_at"]
    assert client.get("/api/v1/datasets/bysykkel").status_code == 200
    r = client.post("/api/v1/datasets/bysykkel/retire", headers=headers)
    assert r.json()["status"] == "retired"
    history = client.get("/api/v1/datasets/bysykkel/history", headers=headers).json()
    assert [h["action"] for h in history] == ["create", "update", "publish", "retire"]
    assert history[1]["changes"] == {
        "title_en": ["Dataset " + created["title_en"].split()[-1], "City bikes"]
    }


def test_drafts_are_invisible_outside_the_owner(client: TestClient, session: Session) -> None:
    org = make_org(session)
    draft = make_dataset(session, org, publish=False)
    assert client.get(f"/api/v1/datasets/{draft.slug}").status_code == 404
    other = make_token(session, make_user(session, org=make_org(session), roles=(Role.publisher,)))
    assert client.get(f"/api/v1/datasets/{draft.id}", headers=other).status_code == 404
    member = make_token(session, make_user(session, org=org, roles=(Role.consumer,)))
    assert client.get(f"/api/v1/datasets/{draft.slug}", headers=member).status_code == 200


def test_only_publishers_of_the_owner_may_change(client: TestClient, session: Session) -> None:
    org = make_org(session)
    ds = make_dataset(session, org)
    consumer = make_token(session, make_user(session, org=org, roles=(Role.consumer,)))
    outsider = make_token(
        session, make_user(session, org=make_org(session), roles=(Role.publisher,))
    )
    admin = make_token(session, make_user(session, org=org, roles=(Role.admin,)))
    assert client.patch(f"/api/v1/datasets/{ds.slug}", json={"title_en": "x"}).status_code == 401
    for headers in (consumer, outsider):
        r = client.patch(f"/api/v1/datasets/{ds.slug}", json={"title_en": "x"}, headers=headers)
        assert r.status_code == 403
        assert client.post(f"/api/v1/datasets/{ds.slug}/retire", headers=headers).status_code == 403
    r = client.patch(f"/api/v1/datasets/{ds.slug}", json={"title_en": "Admin"}, headers=admin)
    assert r.status_code == 200
    r = client.post("/api/v1/datasets", json=body(publisher=org.slug), headers=consumer)
    assert r.status_code == 403


def test_non_open_dataset_hides_governance_from_outsiders(
    client: TestClient, session: Session
) -> None:
    org = make_org(session)
    ds = make_dataset(
        session,
        org,
        access_rights="NON_PUBLIC",
        classification="personal",
        has_personal_data=True,
        dpia_reference="DPIA-2026-07",
        license="agreement",
    )
    public = client.get(f"/api/v1/datasets/{ds.slug}").json()
    assert public["governance"] is None and public["is_open"] is False
    assert "DPIA-2026-07" not in client.get(f"/api/v1/datasets/{ds.slug}").text
    member = make_token(session, make_user(session, org=org, roles=(Role.steward,)))
    own = client.get(f"/api/v1/datasets/{ds.slug}", headers=member).json()
    assert own["governance"]["dpia_reference"] == "DPIA-2026-07"


def test_bad_input_is_refused_whole(client: TestClient, session: Session) -> None:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    bad = [
        body(slug="Robert'); DROP TABLE datasets;--"),
        body(slug="../../etc/passwd"),
        body(title_nb='=HYPERLINK("http://evil")'),
        body(title_nb="x" * 301),
        body(description_nb="a" * 20_001),
        body(license="GPL-ish"),
        body(themes=["NOPE"]),
        body(fields=[{"name": "a b", "type": "string"}]),
        body(fields=[{"name": "a", "type": "varchar"}]),
        body(fields=[{"name": "a"}, {"name": "a"}]),
        body(distributions=[{"format": "CSV", "download_url": "javascript:alert(1)"}]),
        body(title_nb="null\x00byte"),
        body(temporal_start="2024-02-01", temporal_end="2023-01-01"),
        body(unknown_field=1),
    ]
    before = session.query(Dataset).count()
    for payload in bad:
        r = client.post("/api/v1/datasets", json=payload, headers=headers)
        assert r.status_code == 422, (payload, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert session.query(Dataset).count() == before
    r = client.post(
        "/api/v1/datasets",
        content=b"{not json",
        headers=headers | {"content-type": "application/json"},
    )
    assert r.status_code == 422
    latin = '{"slug": "x", "title_nb": "Målinger på Ærøy"}'.encode("latin-1")
    r = client.post(
        "/api/v1/datasets", content=latin, headers=headers | {"content-type": "application/json"}
    )
    assert r.status_code in (400, 422)
    dup = body()
    assert (
        client.post(
            "/api/v1/datasets", json=dup | {"publisher": org.slug}, headers=headers
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/datasets", json=dup | {"publisher": org.slug}, headers=headers
        ).status_code
        == 409
    )


def test_unicode_text_round_trips(client: TestClient, session: Session) -> None:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    payload = body(
        slug="aerfugl", title_nb="Ærfugl på Øra – årstall", keywords_nb=["sjøfugl", "Øra"]
    )
    r = client.post("/api/v1/datasets", json=payload, headers=headers)
    assert r.status_code == 201
    got = client.get("/api/v1/datasets/aerfugl", headers=headers).json()
    assert got["title_nb"] == "Ærfugl på Øra – årstall"
    assert got["keywords_nb"] == sorted(["sjøfugl", "Øra"])


def test_steward_must_be_a_steward_of_the_owner(client: TestClient, session: Session) -> None:
    org = make_org(session)
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    steward = make_user(session, org=org, roles=(Role.steward,))
    stranger = make_user(session, org=make_org(session), roles=(Role.steward,))
    r = client.post(
        "/api/v1/datasets",
        json=body(publisher=org.slug, steward_id=str(stranger.id)),
        headers=headers,
    )
    assert r.status_code == 422 and "steward" in r.text
    r = client.post(
        "/api/v1/datasets",
        json=body(publisher=org.slug, steward_id=str(steward.id)),
        headers=headers,
    )
    assert r.status_code == 201
    assert r.json()["governance"]["steward_id"] == str(steward.id)
    r = client.patch(
        f"/api/v1/datasets/{r.json()['slug']}", json={"steward_id": None}, headers=headers
    )
    assert r.status_code == 200 and r.json()["governance"]["steward_id"] is None
