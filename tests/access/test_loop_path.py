"""The rows API's event-loop path: reads decided and answered on the loop, audit records
group-committed per loop iteration (``journal.LoopBatcher``), the dataset lookup straight on
SQLite's driver (``db.fastread``), and the fallbacks to the thread pool."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from datatorg.access import engines, journal, pipeline
from datatorg.audit import service as audit
from datatorg.catalog.models import AccessRights, Dataset, DatasetFacts, DatasetStatus
from datatorg.db import fastread, migrate, waits
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.errors import Invalid, NotFound
from datatorg.identity import service as identity
from datatorg.identity.actor import ANONYMOUS
from datatorg.lake import heads
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.settings import Settings
from tests.live import LiveServer
from tests.pg import PostgresServer, start_postgres

# -- the batcher, on its own database -------------------------------------------------------


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('loop') / 'loop.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _no_hook() -> Iterator[None]:
    yield
    journal.set_hook(None)


def _item(target: str) -> journal.Item:
    return journal.Item(
        event=audit.NewEvent(action="data.read", target_type="dataset", target_id=target)
    )


def _count(factory: sessionmaker[Session], target: str) -> int:
    with factory() as s:
        return audit.count(session=s, action="data.read", target_id=target)


@pytest.mark.parametrize("inline", [True, False], ids=["on-the-loop", "in-a-thread"])
def test_reads_of_one_loop_iteration_share_one_commit(
    factory: sessionmaker[Session], inline: bool
) -> None:
    target = uuid.uuid4().hex
    batcher = journal.LoopBatcher(factory, inline=inline)

    async def main() -> None:
        await asyncio.gather(*(batcher.append(_item(target)) for _ in range(20)))
        await batcher.append(_item(target))  # alone now: a batch of its own

    asyncio.run(main())
    assert list(batcher.batch_sizes) == [20, 1]
    assert _count(factory, target) == 21
    with factory() as s:
        assert audit.verify_chain(session=s).ok


@pytest.mark.parametrize("inline", [True, False], ids=["on-the-loop", "in-a-thread"])
def test_a_batch_in_a_thread_is_a_wait_of_its_requests(
    factory: sessionmaker[Session], inline: bool
) -> None:
    """A batch sent to a thread (it may wait there for the writer turn) is a wait of each of
    its requests (``db.waits``: the admission gives a place away if it lasts), ended when
    the batch is committed; a batch committed on the loop is none."""
    target = uuid.uuid4().hex
    batcher = journal.LoopBatcher(factory, inline=inline)
    marks: list[tuple[int, str]] = []

    class Waiter:
        def __init__(self, n: int) -> None:
            self.n = n

        def wait_began(self) -> None:
            marks.append((self.n, "began"))

        def wait_ended(self) -> None:
            marks.append((self.n, "ended"))

    async def read(n: int) -> None:
        waits.current.set(Waiter(n))  # as the admission does for each request
        await batcher.append(_item(target))

    async def main() -> None:
        await asyncio.gather(*(asyncio.create_task(read(n)) for n in range(3)))

    asyncio.run(main())
    assert _count(factory, target) == 3
    if inline:
        assert marks == []
    else:
        assert sorted(marks) == [(n, m) for n in range(3) for m in ("began", "ended")]
        assert [m for _, m in marks] == ["began"] * 3 + ["ended"] * 3


def test_a_failed_batch_fails_every_read_in_it_and_stores_none(
    factory: sessionmaker[Session],
) -> None:
    target = uuid.uuid4().hex
    batcher = journal.LoopBatcher(factory, inline=True)

    def fail(stage: str, items: Sequence[journal.Item]) -> None:
        if stage == "written":
            raise OSError("disk gone")

    async def main() -> list[BaseException | None]:
        journal.set_hook(fail)
        results = await asyncio.gather(
            *(batcher.append(_item(target)) for _ in range(5)), return_exceptions=True
        )
        journal.set_hook(None)
        await batcher.append(_item(target))  # the next batch is fine
        return list(results)

    results = asyncio.run(main())
    assert all(isinstance(r, journal.BatchFailed) for r in results)
    assert all(isinstance(r.__cause__, OSError) for r in results if r is not None)
    assert _count(factory, target) == 1
    with factory() as s:
        assert audit.verify_chain(session=s).ok


@pytest.mark.parametrize("inline", [True, False], ids=["on-the-loop", "in-a-thread"])
def test_a_bad_item_fails_only_its_own_read(factory: sessionmaker[Session], inline: bool) -> None:
    """Usage for an agreement that is not there breaks the batch's insert; the others are
    then written one by one and answer, and the bad one fails with nothing of it stored."""
    target = uuid.uuid4().hex
    batcher = journal.LoopBatcher(factory, inline=inline)
    bad = journal.Item(
        event=audit.NewEvent(action="data.read", target_type="dataset", target_id=target),
        agreement_id=uuid.uuid4(),  # no such agreement: its usage row violates a foreign key
        rows=1,
    )

    async def main() -> list[BaseException | None]:
        items = [_item(target), _item(target), bad, _item(target)]
        return list(
            await asyncio.gather(*(batcher.append(i) for i in items), return_exceptions=True)
        )

    results = asyncio.run(main())
    assert results[0] is None and results[1] is None and results[3] is None, results
    assert isinstance(results[2], journal.BatchFailed)
    assert _count(factory, target) == 3
    assert list(batcher.batch_sizes) == [1, 1, 1]
    with factory() as s:
        assert audit.verify_chain(session=s).ok


def test_a_cancelled_read_is_still_recorded(factory: sessionmaker[Session]) -> None:
    """The client went away after its rows were read: the read is on record anyway."""
    target = uuid.uuid4().hex
    batcher = journal.LoopBatcher(factory, inline=False)

    async def main() -> None:
        first = asyncio.ensure_future(batcher.append(_item(target)))
        second = asyncio.ensure_future(batcher.append(_item(target)))
        await asyncio.sleep(0)  # both wait for the flush
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
        while batcher._flushing:
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert _count(factory, target) == 2


def test_each_loop_and_database_gets_its_batcher(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    other = make_sessionmaker(engine)  # the suite's database: SQLite or PostgreSQL

    async def main() -> tuple[journal.LoopBatcher, ...]:
        return (
            journal.loop_batcher(factory),
            journal.loop_batcher(factory),
            journal.loop_batcher(other),
        )

    a, b, c = asyncio.run(main())
    (d, *_) = asyncio.run(main())
    assert a is b and a is not c and a is not d
    assert a._inline is True
    assert c._inline is (engine.dialect.name == "sqlite")  # PostgreSQL: in a worker thread


# -- the dataset lookup straight on the driver ----------------------------------------------


def _dataset(session: Session, **kw: object) -> Dataset:
    n = uuid.uuid4().hex[:8]
    org = identity.create_organisation(session=session, slug=f"f-{n}", name="F")
    ds = Dataset(slug=f"f-{n}", title_nb="F", publisher_id=org.id, **kw)
    session.add(ds)
    session.flush()
    return ds


def test_fast_lookup_gives_what_the_session_gives(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        ds = _dataset(s, status=DatasetStatus.published, access_rights=AccessRights.restricted)
        s.commit()
        expected = DatasetFacts(
            ds.id,
            ds.slug,
            ds.publisher_id,
            DatasetStatus.published,
            AccessRights.restricted,
            ds.classification,
            False,
        )
    engine = factory.kw["bind"]
    with fastread.reader(engine) as reader:
        assert reader is not None
    with factory() as s:
        for ref in (ds.slug, str(ds.id)):
            facts, version = heads.dataset_for_read(session=s, ref=ref)
            assert (facts, version) == (expected, None)
            assert not facts.is_open
        assert not s.in_transaction()  # the session was never used
        # hostile references are bound, never spliced into the SQL; ones no slug can be
        # (too long, a NUL byte) are answered without a query
        hostile = ("x' OR '1'='1", "'; DROP TABLE datasets; --", "æøå", "a" * 5000, "x\x00y")
        for ref in (*hostile, "no-such-dataset", str(uuid.uuid4())):
            with pytest.raises(NotFound, match="No such dataset"):
                heads.dataset_for_read(session=s, ref=ref)
        assert not s.in_transaction()


def test_a_session_with_its_own_transaction_reads_through_itself(
    factory: sessionmaker[Session],
) -> None:
    """Uncommitted work of the session is visible to its own read, as before."""
    with factory() as s:
        ds = _dataset(s, status=DatasetStatus.draft)
        assert s.in_transaction()
        facts, _ = heads.dataset_for_read(session=s, ref=ds.slug)
        assert facts.id == ds.id
        s.rollback()
        with pytest.raises(Exception, match="No such dataset"):
            heads.dataset_for_read(session=s, ref=ds.slug)


def test_driver_readers_for_files_and_servers(engine: Engine) -> None:
    with fastread.reader(make_engine("sqlite://")) as reader:
        assert reader is None  # in-memory: only the session sees it
    with fastread.reader(engine) as reader:  # the suite's database: SQLite file or PostgreSQL
        assert reader is not None
        assert reader.dialect.name == engine.dialect.name


@pytest.fixture(scope="module")
def pg_engine(pg_server: PostgresServer | None) -> Iterator[Engine]:
    """A migrated PostgreSQL database: on the suite's server in the PostgreSQL pass, on a
    server of its own in the SQLite pass (the driver pool exists only for PostgreSQL)."""
    own = start_postgres() if pg_server is None else None
    server = pg_server or own
    assert server is not None
    try:
        url = server.create_database(f"fastread_{uuid.uuid4().hex[:10]}")
        migrate.upgrade(url)
        eng = make_engine(url)
        yield eng
        eng.dispose()
        fastread.close_pools()
    finally:
        if own is not None:
            own.stop()


def test_postgres_lookup_pool_is_capped_and_drops_broken_connections(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pg_engine
    factory = make_sessionmaker(engine)
    with factory() as s:
        ds = _dataset(s, status=DatasetStatus.published)
        s.commit()
    with factory() as s:
        via_session = s.execute(heads._READ_BY_SLUG, {"ref": ds.slug}).first()
    with fastread.reader(engine) as reader:
        assert reader is not None
        assert heads._FAST_BY_SLUG.first(reader, {"ref": ds.slug}) == tuple(via_session or ())
    with factory() as s:  # a NUL byte, which PostgreSQL text cannot hold, is a clear 404
        with pytest.raises(NotFound):
            heads.dataset_for_read(session=s, ref=ds.slug + "\x00")
    # all lent: the next caller gets None and reads through its session
    monkeypatch.setattr(fastread, "POOL_SIZE", 2)
    key = engine.url.render_as_string(hide_password=True)
    fastread.close_pools()
    with fastread.reader(engine) as a, fastread.reader(engine) as b, fastread.reader(engine) as c:
        assert a is not None and b is not None and c is None
    # a connection that broke behind the pool's back: Unavailable, dropped, session answers
    with fastread.reader(engine) as reader:
        assert reader is not None
        broken = reader.conn
        broken.close()
    with factory() as s:
        facts, _ = heads.dataset_for_read(session=s, ref=ds.slug)
        assert facts.id == ds.id
    pool = fastread._pools[key]
    assert broken not in pool._idle
    with fastread.reader(engine) as reader:  # a fresh connection takes its place
        assert reader is not None and not reader.conn.closed
    with factory() as s:
        s.delete(s.get(Dataset, ds.id))
        s.commit()
    fastread.close_pools()


# -- fetch on the loop or in the pool ------------------------------------------------------


def _publish(session: Session, settings: Settings, rows: int) -> Dataset:
    ds = _dataset(session, status=DatasetStatus.published)
    folder = lake.new_staging(settings)
    start = datetime(2025, 1, 1)
    table = pa.table(
        {
            "a": list(range(rows)),
            "b": [i % 7 for i in range(rows)],
            "ts": [start + timedelta(minutes=i) for i in range(rows)],
        }
    )
    pq.write_table(table, folder / "source")
    lake.ingest_file(
        session=session,
        settings=settings,
        dataset=ds,
        source=folder / "source",
        filename="f.parquet",
        mode=WriteMode.replace,
        uploaded_by=None,
    )
    return ds


def _prepared(
    session: Session, settings: Settings, ds: Dataset, items: list[tuple[str, str]]
) -> tuple[pipeline.Read, Any]:
    r = pipeline.begin(
        session=session, settings=settings, actor=ANONYMOUS, dataset=ds, channel="api"
    )
    return r, r.parse(session, items)


def test_fast_fetch_only_when_the_row_index_answers(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _publish(session, settings, 60_000)
    head = lake.head_files(session=session, settings=settings, dataset_id=ds.id)
    assert head is not None
    sorted_page = [("b", "3"), ("_sort", "ts"), ("_size", "3"), ("_col", "a")]
    # no index yet: the loop declines, the pool answers (from DuckDB)
    assert lake.row_index(settings=settings, head=head) is None
    assert engines.fetch(*_prepared(session, settings, ds, sorted_page), fast=True) is None
    assert lake.wait_row_index(settings=settings, version_id=head.version_id)
    fast = engines.fetch(*_prepared(session, settings, ds, sorted_page), fast=True)
    slow = engines.fetch(*_prepared(session, settings, ds, sorted_page))
    assert fast is not None and slow is not None
    assert fast.rows == slow.rows == [[3], [10], [17]]
    assert fast.next == slow.next
    # aggregates and counts never run on the loop
    for items in ([("_group_by", "b"), ("_agg", "count")], [*sorted_page, ("_count", "1")]):
        assert engines.fetch(*_prepared(session, settings, ds, items), fast=True) is None
    # a read the index cannot finish within the loop's budget goes to the pool, whole
    scan = [("b", "3"), ("a__exact", "-1"), ("_sort", "ts")]  # walks all of b=3, finds none
    monkeypatch.setattr(engines, "FAST_BUDGET_MS", 0)
    assert engines.fetch(*_prepared(session, settings, ds, scan), fast=True) is None
    page = engines.fetch(*_prepared(session, settings, ds, scan))
    assert page is not None and page.rows == []
    # ...where the full budget still applies
    monkeypatch.setattr(settings, "query_time_budget_ms", 0)
    with pytest.raises(Invalid):
        engines.fetch(*_prepared(session, settings, ds, scan))


# -- end to end on a real server -----------------------------------------------------------


def test_every_answered_read_is_committed_and_batched(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered_on_loop: list[bool] = []
    real_fetch = engines.fetch

    def fetch(r: pipeline.Read, q: Any, *, fast: bool = False) -> object:
        page = real_fetch(r, q, fast=fast)
        if fast:
            answered_on_loop.append(page is not None)
        return page

    monkeypatch.setattr(engines, "fetch", fetch)

    def setup(session: Session) -> tuple[str, uuid.UUID]:
        ds = _publish(session, live_server.settings, 5_000)
        head = lake.head_files(session=session, settings=live_server.settings, dataset_id=ds.id)
        assert head is not None
        return str(ds.id), head.version_id

    ds_id, version_id = live_server.with_session(setup)

    def count() -> int:
        return live_server.with_session(
            lambda s: audit.count(session=s, action="data.read", target_id=ds_id)
        )

    url = f"{live_server.url}/api/v1/datasets/{ds_id}/rows?b=3&_sort_desc=ts&_size=4&_col=a"
    first = httpx.get(url, timeout=60)  # starts the row index; answered from DuckDB
    assert first.status_code == 200
    assert lake.wait_row_index(settings=live_server.settings, version_id=version_id)
    before = count()

    def get(_: int) -> tuple[int, list[list[object]], int]:
        resp = httpx.get(url, timeout=60)
        return resp.status_code, resp.json()["rows"], count()

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(get, range(60)))
    assert all(status == 200 and rows == first.json()["rows"] for status, rows, _ in results)
    # a 200 means its record was committed: a count taken after it includes it
    assert all(seen > before for _, _, seen in results)
    assert count() == before + 60
    assert live_server.with_session(lambda s: audit.verify_chain(session=s).ok)
    sizes = [
        n
        for per_loop in journal._batchers.values()
        for b in per_loop.values()
        for n in b.batch_sizes
    ]
    assert sum(sizes) >= 60
    assert answered_on_loop[0] is False  # no row index yet: the pool answered
    assert answered_on_loop[-60:] == [True] * 60  # then the index, on the loop


def test_refusals_and_errors_on_the_loop_path(live_server: LiveServer) -> None:
    def setup(session: Session) -> str:
        ds = _publish(session, live_server.settings, 10)
        ds.access_rights = AccessRights.restricted  # not open: needs an agreement
        return str(ds.id)

    ds_id = live_server.with_session(setup)
    base = f"{live_server.url}/api/v1/datasets"
    resp = httpx.get(f"{base}/{ds_id}/rows")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    refused = live_server.with_session(
        lambda s: audit.count(session=s, action="data.read", target_id=ds_id)
    )
    assert refused == 1  # the refusal is on record
    assert httpx.get(f"{base}/{uuid.uuid4()}/rows").status_code == 404
    assert httpx.get(f"{base}/%27%20OR%201%3D1--/rows").status_code == 404
    assert httpx.get(f"{base}/a%00b/rows").status_code == 404
