"""The facet index stays live: writes are applied from the change log, never by rebuilding
it whole in a search, and it always answers as the SQL path does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.catalog import facet_index, finder, service
from datatorg.catalog.models import CatalogChange, Dataset
from datatorg.identity.actor import ANONYMOUS
from tests.catalog import helpers
from tests.catalog.helpers import make_dataset
from tests.factories import make_org


@pytest.fixture
def builds(session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A fresh index for this session; counts the full builds from here on."""
    facet_index.clear()
    facet_index.get_or_build(session)
    counted: list[int] = []
    real = facet_index.build

    def counting(conn: object) -> facet_index.FacetIndex:
        counted.append(1)
        return real(conn)  # type: ignore[arg-type]

    monkeypatch.setattr(facet_index, "build", counting)
    yield counted
    facet_index.clear()


def _agree(session: Session, index: facet_index.FacetIndex, **kw: object) -> list[str]:
    query = finder.SearchQuery(limit=100, **kw)  # type: ignore[arg-type]
    fast = finder._search_index(session, query, index)
    slow = finder._search_sql(session, ANONYMOUS, query)
    assert [d.slug for d in fast.datasets] == [d.slug for d in slow.datasets], kw
    assert fast.total == slow.total and fast.facets == slow.facets, kw
    return [d.slug for d in fast.datasets]


def test_writes_are_applied_without_a_rebuild(session: Session, builds: list[int]) -> None:
    org = make_org(session, slug="levende", name="Levende indeks")
    make_dataset(session, org, slug="l-b", title_nb="Bybusser", themes=["TRAN"])
    make_dataset(session, org, slug="l-a", title_nb="Avfall", themes=["ENVI"])
    index = facet_index.get(session)
    assert index is not None and builds == []
    assert _agree(session, index, filters={"publisher": ["levende"]}, sort="title") == [
        "l-a",
        "l-b",
    ]
    assert len(index.tail) == 2  # numbered after the build, kept in title order
    # a retitle moves it in title order; a retire drops it; a new theme counts at once
    actor = helpers._publishers[org.id]
    ds = session.scalars(select(Dataset).where(Dataset.slug == "l-a")).one()
    service.update_dataset(
        session=session, actor=actor, dataset=ds, data=_update(title_nb="Ørret", themes=["AGRI"])
    )
    index = facet_index.get(session)
    assert index is not None and builds == []
    assert _agree(session, index, filters={"publisher": ["levende"]}, sort="title") == [
        "l-b",
        "l-a",
    ]
    assert _agree(session, index, filters={"theme": ["AGRI"]}) == ["l-a"]
    assert _agree(session, index, filters={"theme": ["ENVI"]}, q="avfall") == []
    service.retire_dataset(session=session, actor=actor, dataset=ds)
    index = facet_index.get(session)
    assert index is not None and builds == []
    assert _agree(session, index, filters={"publisher": ["levende"]}) == ["l-b"]
    for sort in finder.SORTS:
        _agree(session, index, sort=sort)
        _agree(session, index, sort=sort, q="bybusser")


def test_an_organisation_rename_reaches_its_datasets(session: Session, builds: list[int]) -> None:
    org = make_org(session, slug="gammelt-navn", name="Gammelt")
    make_dataset(session, org, slug="l-org", title_nb="Organisasjonsdata")
    org.slug = "nytt-navn"
    session.flush()
    index = facet_index.get(session)
    assert index is not None and builds == []
    assert _agree(session, index, filters={"publisher": ["nytt-navn"]}) == ["l-org"]
    assert _agree(session, index, filters={"publisher": ["gammelt-navn"]}) == []


def test_a_rolled_back_write_leaves_no_trace(session: Session, builds: list[int]) -> None:
    org = make_org(session, slug="angret", name="Angret")
    before = facet_index.get(session)
    assert before is not None
    nested = session.begin_nested()
    make_dataset(session, org, slug="l-angret", title_nb="Angret")
    during = facet_index.get(session)
    assert during is not None and "l-angret" in _agree(session, during, q="angret")
    nested.rollback()
    after = facet_index.get(session)  # the base index is still kept: no rebuild either
    assert after is not None and builds == []
    assert _agree(session, after, q="angret") == []


def test_every_write_lists_what_it_changed(session: Session) -> None:
    org = make_org(session, slug="logget", name="Logget")
    ds = make_dataset(session, org, slug="l-logg", title_nb="Logg")
    logged = set(session.scalars(select(CatalogChange.dataset_id)))
    assert ds.id in logged
    orgs = set(session.scalars(select(CatalogChange.organisation_id)))
    assert org.id in orgs


def test_a_bulk_write_is_rebuilt_in_the_background(session: Session, builds: list[int]) -> None:
    facet_index.bump(session)  # as after Core-level inserts: "anything changed"
    assert facet_index.get(session) is None  # the search is answered in SQL meanwhile
    result = finder.search_datasets(session=session, actor=ANONYMOUS, query=finder.SearchQuery())
    assert result.total >= 0


def _update(**values: object) -> object:
    from datatorg.catalog.schemas import DatasetUpdate

    return DatasetUpdate.model_validate(values)
