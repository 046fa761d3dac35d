"""The CKAN Action API, driven by the real ``ckanapi`` client against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotFound, SearchQueryError, ValidationError

from tests.catalog.conftest import load_demo_catalog
from tests.live import LiveServer


@pytest.fixture(scope="module")
def site(live_server: LiveServer) -> LiveServer:
    live_server.with_session(lambda s: load_demo_catalog(s, live_server.settings))
    return live_server


@pytest.fixture
def ckan(site: LiveServer) -> Iterator[RemoteCKAN]:
    with RemoteCKAN(site.url + "/", user_agent="datatorg-tests") as remote:
        yield remote


def test_package_list_and_show(ckan: Any) -> None:
    names = ckan.action.package_list()
    assert len(names) >= 40 and names == sorted(names)
    assert "luftkvalitet-halden" in names
    pkg = ckan.action.package_show(id="luftkvalitet-halden")
    assert pkg["name"] == "luftkvalitet-halden"
    assert pkg["organization"]["name"] == "fjordsensor"
    assert pkg["license_id"] == "NLOD-2.0" and pkg["isopen"] is True
    assert {g["name"] for g in pkg["groups"]} == {"envi", "heal"}
    assert {r["format"] for r in pkg["resources"]} == {"CSV", "PARQUET", "API"}
    by_id = ckan.action.package_show(id=pkg["id"])
    assert by_id["name"] == pkg["name"]
    assert ckan.action.package_list(limit=5, offset=1) == names[1:6]


def test_package_search_filters_facets_and_paging(ckan: Any) -> None:
    res = ckan.action.package_search(q="luftkvalitet", rows=5)
    assert "luftkvalitet-halden" in [p["name"] for p in res["results"]]
    res = ckan.action.package_search(fq="organization:fjordsensor", rows=1000)
    assert res["count"] == len(res["results"]) > 1
    assert {p["organization"]["name"] for p in res["results"]} == {"fjordsensor"}
    res = ckan.action.package_search(fq='tags:"luftkvalitet"')
    assert [p["name"] for p in res["results"]] == ["luftkvalitet-halden"]
    res = ckan.action.package_search(fq="res_format:PARQUET +groups:ener")
    names = {p["name"] for p in res["results"]}
    assert "smartmaler-husholdninger" in names
    assert all("ENER" in [g["name"].upper() for g in p["groups"]] for p in res["results"])
    res = ckan.action.package_search(
        fq="metadata_modified:[2026-01-01T00:00:00Z TO 2026-01-07T12:00:00Z]"
    )
    assert res["count"] == 2
    res = ckan.action.package_search(fq="metadata_modified:[2030-01-01T00:00:00Z TO *]")
    assert res["count"] == 0
    res = ckan.action.package_search(rows=5, start=10_000)
    assert res["results"] == [] and res["count"] >= 40
    res = ckan.action.package_search(rows=5000)
    assert len(res["results"]) == res["count"]  # capped at 1000, and the demo has fewer
    res = ckan.action.package_search(**{"facet.field": '["organization","res_format"]', "rows": 0})
    assert set(res["facets"]) == {"organization", "res_format"}
    assert res["facets"]["organization"]["halden-kommune"] > 10
    assert res["search_facets"]["organization"]["items"][0]["count"] > 0
    first = ckan.action.package_search(sort="title_string asc", rows=3)["results"]
    titles = [p["title"].casefold() for p in first]
    assert titles == sorted(titles)


def test_orgs_groups_tags_resources_licences_status(ckan: Any) -> None:
    assert "halden-kommune" in ckan.action.organization_list()
    full = ckan.action.organization_list(all_fields=True)
    assert all(o["is_organization"] for o in full)
    org = ckan.action.organization_show(id="halden-kommune", include_datasets=True)
    assert org["package_count"] == len(org["packages"]) > 10
    assert "envi" in ckan.action.group_list()
    group = ckan.action.group_show(id="tran")
    assert group["package_count"] >= 3
    assert "luftkvalitet" in ckan.action.tag_list()
    pkg = ckan.action.package_show(id="kommuneregnskap")
    res = ckan.action.resource_show(id=pkg["resources"][0]["id"])
    assert res["package_id"] == pkg["id"] and res["format"] == "CSV"
    assert {lic["id"] for lic in ckan.action.license_list()} >= {"NLOD-2.0", "CC-BY-4.0", "CC0-1.0"}
    assert ckan.action.status_show()["ckan_version"].startswith("2.")


def test_errors_come_back_as_ckan_exceptions(ckan: Any) -> None:
    with pytest.raises(NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(NotFound):
        ckan.action.resource_show(id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        ckan.action.group_show(id="nope")
    with pytest.raises(ValidationError):
        ckan.action.package_show()
    with pytest.raises(ValidationError):
        ckan.action.package_search(rows=-1)
    with pytest.raises(ValidationError):
        ckan.action.package_search(rows="ten")
    with pytest.raises(SearchQueryError):
        ckan.action.package_search(fq="secret_field:1")
    with pytest.raises(SearchQueryError):
        ckan.action.package_search(fq="metadata_modified:[yesterday TO now]")
    with pytest.raises(CKANAPIError):
        ckan.call_action("package_delete", {"id": "kommuneregnskap"})


def test_envelope_and_status_codes_on_the_wire(site: LiveServer) -> None:
    for prefix in ("/api/3/action", "/api/action"):
        r = httpx.get(site.url + prefix + "/package_show", params={"id": "kommuneregnskap"})
        body = r.json()
        assert r.status_code == 200 and body["success"] is True
        assert body["help"].endswith("/api/3/action/help_show?name=package_show")
        r = httpx.post(site.url + prefix + "/package_show", json={"id": "nope"})
        assert r.status_code == 404
        assert r.json()["error"]["__type"] == "Not Found Error" and r.json()["success"] is False
    r = httpx.get(site.url + "/api/3/action/package_show")
    assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"
    r = httpx.get(site.url + "/api/3/action/no_such_action")
    assert r.status_code == 400 and r.json().startswith("Bad request - Action name not known")
    r = httpx.post(site.url + "/api/3/action/package_search", content=b"{bad json")
    assert r.status_code == 400 and "JSON Error" in r.json()
    r = httpx.post(site.url + "/api/3/action/package_search", content=b"[1]")
    assert r.status_code == 400
    r = httpx.get(site.url + "/api/3/action/package_list", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    r = httpx.get(
        site.url + "/api/3/action/package_search", params={"q": "'; DROP TABLE datasets;--"}
    )
    assert r.status_code == 200 and r.json()["result"]["count"] == 0
