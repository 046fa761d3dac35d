"""The data-plane demo: deterministic contents, idempotent, minimal datasets only if missing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datatorg.demo import lake as lake_demo
from datatorg.demo import world
from datatorg.demo.contents import CONTENTS
from datatorg.settings import Settings


def test_demo_contents_are_deterministic_and_idempotent(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    some = {k: v for k, v in CONTENTS.items() if k in ("kommuneregnskap", "skolestatistikk")}
    monkeypatch.setattr(lake_demo, "CONTENTS", some)
    world.load_identity(session=session)
    session.flush()
    first = lake_demo.load(session=session, settings=settings)
    assert first == {"kommuneregnskap": 240, "skolestatistikk": 120}
    assert lake_demo.load(session=session, settings=settings) == {}  # already filled
    body = client.get("/api/v1/datasets/skolestatistikk/rows?_sort=school&_size=1").json()
    assert body["columns"][:2] == ["school", "school_year"]
    agg = client.get("/api/v1/datasets/kommuneregnskap/rows?_agg=sum(amount_nok)").json()
    # the same numbers on every run: generated from hashes, not from random state
    assert agg["rows"] == [[expected_sum()]]


def expected_sum() -> int:
    import duckdb

    sql = CONTENTS["kommuneregnskap"].sql()
    return int(duckdb.sql(f"SELECT sum(amount_nok) FROM ({sql})").fetchall()[0][0])


def test_catalog_describes_what_the_lake_holds(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.catalog.conftest import load_demo_catalog

    load_demo_catalog(session, settings)
    monkeypatch.setattr(lake_demo, "CONTENTS", {"kommuneregnskap": CONTENTS["kommuneregnskap"]})
    lake_demo.load(session=session, settings=settings)
    meta = client.get("/api/v1/datasets/kommuneregnskap").json()
    rows = client.get("/api/v1/datasets/kommuneregnskap/rows?_size=1").json()
    # the catalog's column list is the published version's, in order
    assert [f["name"] for f in meta["fields"]] == rows["columns"]
    # every download the catalog advertises is served by the gate
    downloads = [d["download_url"] for d in meta["distributions"] if d["download_url"]]
    assert downloads
    for url in downloads:
        path = url.removeprefix(settings.base_url).removeprefix("http://127.0.0.1:8000")
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
