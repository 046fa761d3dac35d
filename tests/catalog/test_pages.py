"""Catalog pages: search with facets, dataset page, JSON twins, publisher forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.catalog.models import Dataset
from datatorg.identity.models import Role
from datatorg.web.csrf import CSRF_COOKIE
from tests.factories import make_org, make_token, make_user


def _csrf(client: TestClient) -> str:
    client.get("/datasets")
    return str(client.cookies.get(CSRF_COOKIE))


def test_search_page_facets_sorting_pagination_and_empty_state(
    client: TestClient, demo: int
) -> None:
    r = client.get("/datasets")
    assert r.status_code == 200
    assert 'id="facet-theme"' in r.text and 'id="facet-publisher"' in r.text
    assert "Halden kommune" in r.text
    r = client.get("/datasets", params={"theme": "TRAN", "sort": "title"})
    assert "Trafikktellinger" in r.text and "Skolestatistikk" not in r.text
    assert 'value="TRAN" checked' in r.text
    r = client.get("/datasets", params={"page": 2})
    assert 'aria-current="page">2<' in r.text and 'rel="prev"' in r.text
    r = client.get("/datasets", params={"q": "finnesikkeiverden"})
    assert "Ingen datasett passer" in r.text
    # past the last page: say so and link to it, not "nothing matches" under a count of hits
    r = client.get("/datasets", params={"page": 99, "theme": "TRAN"})
    assert r.status_code == 200 and "Side 99 finnes ikke" in r.text
    assert "Ingen datasett passer" not in r.text
    assert re.search(r'href="[^"]*page=1[^"]*">Gå til siste side \(1\)', r.text), r.text
    r = client.get(
        "/datasets", params={"q": "<script>alert(1)</script>", "page": "x", "sort": "hm"}
    )
    assert r.status_code == 200 and "<script>alert(1)</script>" not in r.text
    r = client.get("/datasets", params={"q": "x" * 5000})
    assert r.status_code == 200


def test_search_page_in_english(client: TestClient, demo: int) -> None:
    client.get("/lang/en?next=/datasets")
    r = client.get("/datasets", params={"q": "air quality"})
    assert "Air quality in Halden, hourly values" in r.text and "Environment" in r.text


def test_json_twins(client: TestClient, demo: int) -> None:
    page = client.get("/datasets", params={"theme": "EDUC"}, headers={"accept": "application/json"})
    api = client.get("/api/v1/datasets", params={"theme": "EDUC"})
    assert page.json()["total"] == api.json()["total"] > 0
    one = client.get("/datasets/skolestatistikk", headers={"accept": "application/json"}).json()
    assert one == client.get("/api/v1/datasets/skolestatistikk").json()


def test_dataset_page_shows_metadata_schema_and_slots(client: TestClient, demo: int) -> None:
    r = client.get("/datasets/smartmaler-husholdninger")
    assert r.status_code == 200
    assert "Smartmålere i husholdninger" in r.text
    assert '<code translate="no">innbygger_id</code>' in r.text and "<td>Pseudonym</td>" in r.text
    # no contents loaded here: the page says so and links no data page, no empty sections
    assert "ikke noe innhold ennå" in r.text
    assert 'href="/datasets/smartmaler-husholdninger/data"' not in r.text
    assert 'id="preview"' not in r.text and 'id="related-pilots"' not in r.text
    assert "maler_id" not in r.text  # no identity in clear in the lake (issue 13)
    assert "DPIA-2026" not in r.text  # governance only for the owner
    assert client.get("/datasets/finnes-ikke").status_code == 404


def test_datapackage(client: TestClient, demo: int) -> None:
    pkg = client.get("/dataset/luftkvalitet-halden/datapackage.json").json()
    api = client.get("/api/v1/datasets/luftkvalitet-halden/datapackage.json").json()
    assert pkg == api
    assert pkg["name"] == "luftkvalitet-halden" and pkg["profile"] == "tabular-data-package"
    assert pkg["licenses"][0]["name"] == "NLOD-2.0"
    fields = pkg["resources"][0]["schema"]["fields"]
    assert [f["name"] for f in fields][:3] == ["dateObserved", "stationId", "stationName"]
    assert {f["type"] for f in fields} <= {"string", "datetime", "number"}


def test_publisher_creates_edits_publishes_and_retires_with_forms(
    client: TestClient, session: Session
) -> None:
    org = make_org(session, slug="skjema-org")
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    token = _csrf(client)
    assert client.get("/datasets/new", headers=headers).status_code == 200
    form = {
        "csrf_token": token,
        "slug": "sykkeltelling",
        "publisher": "skjema-org",
        "title_nb": "Sykkeltelling på Tista-brua",
        "license": "CC-BY-4.0",
        "access_rights": "PUBLIC",
        "classification": "open",
        "themes": ["TRAN"],
        "keywords_nb": "sykkel, telling",
    }
    r = client.post("/datasets/new", data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/datasets/sykkeltelling"
    page = client.get("/datasets/sykkeltelling", headers=headers)
    assert "Utkast" in page.text and "Publiser" in page.text
    r = client.post(
        "/datasets/sykkeltelling/edit",
        data={
            "csrf_token": token,
            "title_nb": "Sykkeltelling ved Tista",
            "themes": ["TRAN", "ENVI"],
        },
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        "/datasets/sykkeltelling/publish",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert r.status_code == 303
    got = client.get("/api/v1/datasets/sykkeltelling").json()
    assert got["status"] == "published" and got["title_nb"] == "Sykkeltelling ved Tista"
    assert {t["code"] for t in got["themes"]} == {"TRAN", "ENVI"}
    assert got["keywords_nb"] == ["sykkel", "telling"]  # the edit form did not send them
    r = client.post(
        "/datasets/sykkeltelling/retire",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert client.get("/api/v1/datasets/sykkeltelling").json()["status"] == "retired"


def test_forms_refuse_bad_input_and_missing_csrf(client: TestClient, session: Session) -> None:
    org = make_org(session, slug="skjema-org2")
    headers = make_token(session, make_user(session, org=org, roles=(Role.publisher,)))
    token = _csrf(client)
    before = session.query(Dataset).count()
    base = {"csrf_token": token, "publisher": "skjema-org2", "title_nb": "Ok"}
    for bad in (
        {"slug": "../../etc/passwd"},
        {"slug": "ok-slug", "title_nb": "=cmd|' /C calc'!A0"},
        {"slug": "ok-slug", "license": "'; DROP TABLE datasets;--"},
        {"slug": "ok-slug", "contact_email": "not an email"},
        {"slug": "ok-slug", "title_nb": "x" * 400},
    ):
        r = client.post("/datasets/new", data=base | bad, headers=headers)
        assert r.status_code == 422, bad
        assert "Rett opp følgende" in r.text
    r = client.post("/datasets/new", data={"slug": "a", "title_nb": "b"}, headers=headers)
    assert r.status_code == 403  # no CSRF token
    outsider = make_token(
        session, make_user(session, org=make_org(session), roles=(Role.publisher,))
    )
    r = client.post("/datasets/new", data=base | {"slug": "fremmed"}, headers=outsider)
    assert r.status_code == 403
    assert session.query(Dataset).count() == before


def test_licence_facet_names_a_licence_given_by_its_address_and_leaves_out_none(
    client: TestClient, session: Session
) -> None:
    """Rows written before the demo used the catalog's codes hold the NLOD address, or no
    licence at all: the facet names the address's licence and offers no nameless "(1)"."""
    from tests.catalog.helpers import make_dataset

    org = make_org(session)
    by_code = make_dataset(session, org, title_nb="Lisensprøve kode")
    by_address = make_dataset(session, org, title_nb="Lisensprøve adresse")
    without = make_dataset(session, org, title_nb="Lisensprøve ingen")
    by_address.license = "https://data.norge.no/nlod/no/2.0"
    without.license = ""
    session.flush()
    r = client.get("/datasets", params={"q": "Lisensprøve"})
    assert r.status_code == 200 and "Datasett funnet: 3" in r.text
    facet = r.text.split('id="facet-license"', 1)[1].split("</fieldset>", 1)[0]
    names = [
        " ".join(re.sub(r"<[^>]+>", " ", n).split())
        for n in re.findall(r"<label[^>]*>(.*?)</label>", facet, re.S)
    ]
    assert names == ["Norsk lisens for offentlige data (NLOD) 2.0 (1)"] * 2, names
    page = client.get(f"/datasets/{by_address.slug}").text
    assert "Norsk lisens for offentlige data (NLOD) 2.0" in page
    assert by_code.license == "NLOD-2.0"


def test_licence_facet_labels_from_the_index(session: Session) -> None:
    """The facet index counts every stored value, the empty one too (22, 6 and 1 in the demo
    walk): the address is named, the empty value is left out (it cannot be filtered by)."""
    from datatorg.catalog import present
    from datatorg.catalog.finder import SearchResult

    counts = [("NLOD-2.0", 22), ("https://data.norge.no/nlod/no/2.0", 6), ("", 1)]
    shown = present.page(
        session, SearchResult(total=29, facets={"license": counts}), page=1, per_page=20, sort=""
    ).facets["license"]
    assert [(f.value, f.label, f.count) for f in shown] == [
        ("NLOD-2.0", "Norsk lisens for offentlige data (NLOD) 2.0", 22),
        ("https://data.norge.no/nlod/no/2.0", "Norsk lisens for offentlige data (NLOD) 2.0", 6),
    ]
