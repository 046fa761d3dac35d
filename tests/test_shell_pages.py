"""The shell's pages: front page (and its twin), the machine catalog's human page, offline API
docs, favicon, sign-in that comes back, a language switch that keeps the query, and absolute
links from the public address."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from datatorg.app import create_app
from datatorg.catalog import models as catalog_models
from datatorg.catalog import pages_home
from datatorg.demo import world
from datatorg.settings import Settings
from tests.catalog.conftest import load_demo_catalog
from tests.conftest import joined_sessions


def test_front_page_shows_themes_newest_and_most_used(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load(session=session, settings=settings, small=True)
    facts = client.get("/", headers={"Accept": "application/json"}).json()
    assert facts["datasets"] >= 44 and 0 < facts["open_datasets"] < facts["datasets"]
    themes = {t["value"]: t["count"] for t in facts["themes"]}
    assert themes["ENVI"] >= 5 and sum(themes.values()) >= 44
    assert len(facts["newest"]) == 5
    assert facts["most_used"] and facts["most_used"][0]["reads_30_days"] >= 1
    html = client.get("/").text
    assert 'href="/datasets?theme=ENVI"' in html
    # it promises only what is true: agreements in the register, reads in the audit log
    assert "offentlige registeret" in html and "revisjonslogg" in html


def test_a_publish_does_not_make_the_front_page_count_the_month_again(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.load(session=session, settings=settings, small=True)
    pages_home._most_used_cache.clear()
    counted: list[int] = []
    real = pages_home.audit.most_read

    def counting(**kwargs: Any) -> list[tuple[str, int]]:
        counted.append(1)
        return real(**kwargs)

    monkeypatch.setattr(pages_home.audit, "most_read", counting)
    first = client.get("/", headers={"Accept": "application/json"}).json()["most_used"]
    catalog_models.bump(session, datasets=set())  # what every publish does
    session.flush()
    again = client.get("/", headers={"Accept": "application/json"}).json()["most_used"]
    assert counted == [1] and again == first and first


def test_a_kept_list_with_nothing_published_left_is_counted_again(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world.load(session=session, settings=settings, small=True)
    gone = "00000000-0000-0000-0000-000000000001"  # a dataset no longer there
    pages_home._most_used_cache["all"] = (time.monotonic(), [(gone, 99)])
    facts = client.get("/", headers={"Accept": "application/json"}).json()
    assert facts["most_used"] and facts["most_used"][0]["reads_30_days"] >= 1


def test_machine_catalog_page_api_docs_and_favicon(client: TestClient, session: Session) -> None:
    page = client.get("/catalog", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'href="/catalog.ttl"' in page.text
    assert client.get("/catalog", headers={"Accept": "text/turtle"}).text.startswith("@prefix")
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert '<script src="/static/apidocs/swagger-ui-bundle.js" defer>' in docs.text
    assert "cdn" not in docs.text.lower()
    bundle = client.get("/static/apidocs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert client.get("/static/apidocs-init.js").status_code == 200
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    icon = client.get("/favicon.ico", follow_redirects=False)
    assert icon.status_code == 301 and icon.headers["location"] == "/static/favicon.svg"
    assert client.get("/static/favicon.svg").text.startswith("<svg")


def test_sign_in_comes_back_and_language_switch_keeps_the_query(client: TestClient) -> None:
    r = client.get("/market/requests?page=2", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fmarket%2Frequests%3Fpage%3D2"
    page = client.get("/datasets?q=luft&sort=title&page=1").text
    assert 'href="/lang/en?next=/datasets%3Fq%3Dluft%26sort%3Dtitle%26page%3D1"' in page
    assert 'href="/login?next=/datasets%3Fq%3Dluft%26sort%3Dtitle%26page%3D1"' in page
    back = client.get("/lang/en?next=/datasets%3Fq%3Dluft%26sort%3Dtitle", follow_redirects=False)
    assert back.headers["location"] == "/datasets?q=luft&sort=title"
    # a hostile next goes home
    evil = client.get("/lang/en?next=//evil.example/x", follow_redirects=False)
    assert evil.headers["location"] == "/"


def _links(
    settings: Settings,
    connection: Connection,
    session: Session,
    base_url: str,
    host: str,
    bad_host: str = "",
) -> list[str]:
    factory = joined_sessions(connection)

    def request_session() -> Session:
        session.flush()
        return factory()

    app = create_app(
        settings.model_copy(update={"base_url": base_url}), sessionmaker=request_session
    )
    headers = {"Host": bad_host} if bad_host else {}
    with TestClient(app, base_url=f"http://{host}") as c:
        meta = c.get("/api/v1/datasets/luftkvalitet-halden", headers=headers).json()
        ttl = c.get("/dataset/luftkvalitet-halden.ttl", headers=headers).text
    urls = [d["download_url"] or d["access_url"] for d in meta["distributions"]]
    return urls + [line for line in ttl.splitlines() if "downloadURL" in line]


def test_absolute_links_come_from_the_public_address(
    session: Session, connection: Connection, settings: Settings
) -> None:
    load_demo_catalog(session, settings)
    public = "https://data.halden.kommune.no"
    configured = _links(settings, connection, session, public, "10.0.0.7:8061")
    assert configured and all("https://data.halden.kommune.no/" in u for u in configured)
    own = _links(settings, connection, session, "", "demo.example:8061")
    assert own and all("http://demo.example:8061/" in u for u in own)
    assert not any("127.0.0.1:8000" in u for u in configured + own)
    # a made-up Host header never reaches a link
    hostile = _links(
        settings, connection, session, "", "x.example", bad_host='evil.example/"><script>'
    )
    assert hostile and all("evil" not in u and "script" not in u for u in hostile)
