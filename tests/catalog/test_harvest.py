"""Harvesting: from a second Datatorg (CKAN API and DCAT) and from fixture files; idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog.harvest import harvest_ckan
from datatorg.catalog.harvest_dcat import harvest_dcat
from datatorg.catalog.models import Dataset, DatasetChange, HarvestSource
from datatorg.cli import main
from datatorg.db.engine import make_engine
from datatorg.errors import BadRequest
from datatorg.identity.models import Organisation
from datatorg.settings import get_settings
from tests.catalog.conftest import load_demo_catalog
from tests.conftest import TEST_SECRET
from tests.factories import make_org
from tests.live import LiveServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second Datatorg with the demo catalog: the portal we harvest from."""
    server = LiveServer(tmp_path_factory.mktemp("source"), TEST_SECRET)
    server.with_session(lambda s: load_demo_catalog(s, server.settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _retitle(server: LiveServer, slug: str, title: str) -> None:
    from datatorg.catalog import service

    def change(s: Session) -> None:
        ds = service.get_dataset(session=s, ref=slug)
        assert ds is not None
        service.change(
            session=s, actor=None, dataset=ds, values={"title_en": title}, action="update"
        )

    server.with_session(change)


def test_ckan_round_trip_is_idempotent(session: Session, source: LiveServer) -> None:
    owner = make_org(session, slug="hoster")
    first = harvest_ckan(session=session, url=source.url, owner=owner)
    assert (first.created, first.updated, first.unchanged, first.skipped) == (44, 0, 0, [])
    again = harvest_ckan(session=session, url=source.url, owner=owner)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 44)
    ds = session.scalar(select(Dataset).where(Dataset.slug == "luftkvalitet-halden"))
    assert ds is not None and ds.status.value == "published"
    assert ds.harvest_identifier and ds.harvest_source_id is not None
    src = session.get(HarvestSource, ds.harvest_source_id)
    assert src is not None and src.kind == "ckan" and src.url == source.url and src.last_count == 44
    org = session.get(Organisation, ds.publisher_id)
    assert org is not None and org.slug == "fjordsensor"
    assert [t.theme for t in ds.themes] == ["ENVI", "HEAL"]
    assert {d.format for d in ds.distributions} == {"CSV", "PARQUET", "API"}
    _retitle(source, "kommuneregnskap", "Municipal accounts (revised)")
    third = harvest_ckan(session=session, url=source.url, owner=owner)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 43)
    changed = session.scalar(select(Dataset).where(Dataset.slug == "kommuneregnskap"))
    assert changed is not None and changed.title_en == "Municipal accounts (revised)"
    actions = session.scalars(
        select(DatasetChange.action).where(DatasetChange.dataset_id == changed.id)
    ).all()
    assert actions == ["harvest", "harvest"]


def test_dcat_round_trip_from_the_other_instance(session: Session, source: LiveServer) -> None:
    owner = make_org(session, slug="hoster2")
    load_demo_catalog(session, source.settings)  # local datasets with the same slugs
    first = harvest_dcat(session=session, source=source.url + "/catalog.ttl", owner=owner)
    assert (first.created, first.skipped) == (44, [])
    again = harvest_dcat(session=session, source=source.url + "/catalog.jsonld", owner=owner)
    assert again.created == 44  # another source address: another source
    repeat = harvest_dcat(session=session, source=source.url + "/catalog.ttl", owner=owner)
    assert (repeat.created, repeat.updated, repeat.unchanged) == (0, 0, 44)
    harvested = session.scalars(
        select(Dataset).where(Dataset.slug.like("luftkvalitet-halden-%"))
    ).all()
    assert len(harvested) == 2  # slugs taken locally get a suffix per source
    assert all(h.license == "NLOD-2.0" and h.frequency == "HOURLY" for h in harvested)


def test_dcat_fixture_files(session: Session) -> None:
    owner = make_org(session, slug="hoster3")
    report = harvest_dcat(session=session, source=str(FIXTURES / "small_catalog.ttl"), owner=owner)
    assert report.created == 1 and len(report.skipped) == 2
    ds = session.scalar(select(Dataset).where(Dataset.slug == "badeplasser"))
    assert ds is not None
    assert ds.title_nb == "Badeplasser og vanntemperatur i Østfold"
    assert ds.license == "CC-BY-4.0" and ds.contact_email == "miljo@sarpsborg.example"
    assert str(ds.temporal_start) == "2020-05-01"
    assert sorted(k.value for k in ds.keywords) == ["badeplass", "bathing", "vanntemperatur"]
    assert session.scalar(select(Dataset).where(Dataset.title_nb.like("=HYPERLINK%"))) is None
    report = harvest_dcat(
        session=session, source=str(FIXTURES / "small_catalog.jsonld"), owner=owner
    )
    assert report.created == 1
    sol = session.scalar(select(Dataset).where(Dataset.title_nb == "Solinnstråling på Remmen"))
    assert sol is not None and sol.license == "CC0-1.0"
    assert [d.format for d in sol.distributions] == ["PARQUET"]
    org = session.get(Organisation, sol.publisher_id)
    assert org is not None and org.name == "Solgruppa ved HiØ"


@pytest.mark.parametrize(
    "bad", ["broken.ttl", "missing.ttl", "ftp://example.org/catalog.ttl", "/etc/../etc/passwd"]
)
def test_bad_sources_are_refused_whole(session: Session, bad: str) -> None:
    owner = make_org(session)
    before = session.query(Dataset).count()
    path = str(FIXTURES / bad) if not bad.startswith(("/", "ftp")) else bad
    with pytest.raises(BadRequest):
        harvest_dcat(session=session, source=path, owner=owner)
    assert session.query(Dataset).count() == before


def test_cli_harvest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATATORG_DATABASE_URL", url)
    monkeypatch.setenv("DATATORG_ENV", "development")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
        engine = make_engine(url)
        with Session(engine) as s:
            make_org(s, slug="halden-kommune")
            s.commit()
        engine.dispose()
        fixture = str(FIXTURES / "small_catalog.ttl")
        first = runner.invoke(main, ["harvest", "dcat", fixture])
        assert first.exit_code == 0, first.output
        assert "1 created, 0 updated, 0 unchanged, 2 skipped" in first.output
        second = runner.invoke(main, ["harvest", "dcat", fixture])
        assert "0 created, 0 updated, 1 unchanged, 2 skipped" in second.output
        bad = runner.invoke(main, ["harvest", "dcat", str(FIXTURES / "broken.ttl")])
        assert bad.exit_code == 1 and "harvest failed" in bad.output
        nobody = runner.invoke(main, ["harvest", "ckan", "http://127.0.0.1:9/", "--owner", "x"])
        assert nobody.exit_code == 1
    finally:
        get_settings.cache_clear()
