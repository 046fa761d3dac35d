"""The facet index stays live: writes are applied from the change log, never by rebuilding
it whole in a search, and it always answers as the SQL path does."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from datatorg.catalog import facet_facts, facet_index, facet_query, finder, service
from datatorg.catalog.models import CatalogChange, Dataset, DatasetStatus
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
    assert fast.hits == slow.hits, kw  # every column, theme and format of each hit
    assert fast.total == slow.total and fast.facets == slow.facets, kw
    return [h.slug for h in fast.hits]


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


def test_a_write_costs_what_it_changed_not_the_catalog(
    session: Session, demo: int, builds: list[int]
) -> None:
    """A catch-up shares with the index it came from everything the write did not touch: the
    build's orders and vocabularies, the number lists (appended to), and all but a few parts
    of the maps. (It used to copy them all: about 100 ms at 50,000 datasets.)"""
    before = facet_index.get(session)
    assert before is not None
    ds = session.scalars(select(Dataset).where(Dataset.status == DatasetStatus.published)).first()
    assert ds is not None
    service.change(
        session=session, actor=None, dataset=ds, values={"title_nb": "Ny tittel"}, action="update"
    )
    statements: list[str] = []
    conn = session.connection()

    def record(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        statements.append(sql)

    event.listen(conn, "before_cursor_execute", record)
    try:
        after = facet_index.get(session)
    finally:
        event.remove(conn, "before_cursor_execute", record)
    # the state, the changes since, the changed datasets, their themes, formats and keywords:
    # four statements (each waits its turn on a busy database server)
    assert len(statements) == 4, statements
    assert after is not None and after is not before and builds == []
    assert after.order is before.order and after.title.vocab is before.title.vocab
    assert after.uuids is before.uuids and after.size == before.size + 1
    copied = [a is not b for a, b in zip(before.number.parts, after.number.parts, strict=True)]
    assert 1 <= sum(copied) <= 2  # the part that lost the old number, the one that got the new
    text_copied = sum(
        a is not b for a, b in zip(before.text.words.parts, after.text.words.parts, strict=True)
    )
    assert text_copied <= 2 * len(facet_facts.read(session.connection(), [ds.id])[0].doc_words)
    assert _agree(session, after, q="ny tittel") == [ds.slug]


@pytest.mark.parametrize("sparse_page", [0, 1000])  # walk the orders, or sort the result
def test_many_writes_keep_every_order(
    session: Session,
    demo: int,
    builds: list[int],
    sparse_page: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retitles, new themes, retires, republishes and new datasets, in a seeded random mix,
    with a write rolled back in the middle (the index branches off its older version): the
    index answers every sort and page as SQL does."""
    monkeypatch.setattr(facet_query, "SPARSE_PAGE", sparse_page)
    rnd = random.Random(12)
    org = make_org(session, slug="mange-skriv", name="Mange skrivinger")
    actor = helpers._publishers.get(org.id)
    words = ["Avløp", "Bybusser", "Ørret", "Åkre", "skoler", "Zebra", "målinger", "energi"]

    def write(step: int) -> None:
        pool = list(session.scalars(select(Dataset).order_by(Dataset.slug)))
        ds = rnd.choice(pool)
        kind = rnd.choice(["title", "title", "themes", "status", "new"])
        if kind == "new":
            make_dataset(session, org, slug=f"m-{step}", title_nb=f"{rnd.choice(words)} {step}")
        elif kind == "status" and ds.status == DatasetStatus.published:
            ds.status = DatasetStatus.retired
            session.flush()
        elif kind == "status":
            ds.status = DatasetStatus.published
            session.flush()
        else:
            values = (
                {"title_nb": f"{rnd.choice(words)} {step}"}
                if kind == "title"
                else {"themes": rnd.sample(["AGRI", "ENVI", "TRAN", "EDUC"], 2)}
            )
            service.change(session=session, actor=actor, dataset=ds, values=values, action="update")

    for step in range(24):
        if step == 10:
            nested = session.begin_nested()
            write(step)
            assert facet_index.get(session) is not None
            nested.rollback()
        write(step)
        index = facet_index.get(session)
        assert index is not None
        if step % 6 == 5:
            for sort in finder.SORTS:
                for offset in (0, 7):
                    _agree(session, index, sort=sort, offset=offset)
            _agree(session, index, q="skole", sort="relevance")
            _agree(session, index, filters={"theme": ["ENVI"]}, sort="modified")
    assert builds == []


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
