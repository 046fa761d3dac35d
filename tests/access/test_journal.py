"""Group commit of read audit events (access.journal) on SQLite files and PostgreSQL.

Each test uses its own sessions on a real database (not the rolled-back test session), as a
server's threads do. Overlap is forced by a hook that holds the first leader until the other
threads are queued, so the batch assertions never depend on timing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datatorg.access import journal
from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.catalog.models import Dataset, DatasetStatus
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.identity import service as identity
from datatorg.identity.models import OrgKind, Role
from datatorg.lake import service as lake
from datatorg.lake.models import WriteMode
from datatorg.market import metering
from datatorg.market import service as market
from datatorg.market.metering import today as utc_today
from tests.factories import actor_of, make_org
from tests.live import LiveServer
from tests.market.conftest import make_dataset, offer_data, quick_user, request_data
from tests.pg import PostgresServer


def audit_read(
    session: Session,
    dataset: Any,
    agreement_id: uuid.UUID | None,
    channel: str,
    rows: int,
    nbytes: int,
) -> None:
    """A read's record (and usage, under an agreement), as the gate's pipeline writes it."""
    journal.append(
        session,
        journal.Item(
            event=audit.NewEvent(
                action="data.read",
                target_type="dataset",
                target_id=str(dataset.id),
                details={"channel": channel, "rows": rows},
            ),
            agreement_id=agreement_id,
            rows=rows,
            nbytes=nbytes,
        ),
    )


ROOT = Path(__file__).parent.parent.parent
THREADS, EACH = 6, 8


@pytest.fixture(scope="module")
def db(
    pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, sessionmaker[Session]]]:
    if pg_server is not None:
        url = pg_server.create_database(f"journal_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('journal') / 'journal.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield url, make_sessionmaker(engine)
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def no_hook() -> Iterator[None]:
    yield
    journal.set_hook(None)


@pytest.fixture(scope="module")
def world(db: tuple[str, sessionmaker[Session]]) -> tuple[Dataset, uuid.UUID]:
    """A dataset and an approved agreement to read it under."""
    with db[1]() as session:
        provider = make_org(session, kind=OrgKind.public_sector)
        school = make_org(session, kind=OrgKind.education)
        publisher = quick_user(session, provider, Role.publisher)
        consumer = quick_user(session, school, Role.consumer)
        ds = make_dataset(session, provider)
        offer = market.create_offer(
            session=session, actor=actor_of(session, publisher), data=offer_data(ds)
        )
        req = market.create_request(
            session=session,
            settings=None,
            actor=actor_of(session, consumer),
            data=request_data(offer),
        )
        agreement = market.approve(
            session=session, settings=None, actor=actor_of(session, publisher), request_id=req.id
        )
        session.commit()
        return ds, agreement.id


def _hold_first_batch(until_pending: int, entered: threading.Event | None = None) -> None:
    """Hold the first leader after it took its batch until ``until_pending`` items queue."""
    first = [True]

    def hook(stage: str, items: Sequence[journal.Item]) -> None:
        if stage != "taken" or not first[0]:
            return
        first[0] = False
        if entered is not None:
            entered.set()
        j = _current[0]
        deadline = time.monotonic() + 60
        while j.pending() < until_pending:
            if time.monotonic() > deadline:
                raise AssertionError("the other readers never queued")
            time.sleep(0.001)

    journal.set_hook(hook)


_current: list[journal.Journal] = []


def _journal(factory: sessionmaker[Session]) -> journal.Journal:
    with factory() as s:
        j = journal.journal_for(s)
    _current[:] = [j]
    return j


def _state(factory: sessionmaker[Session], aid: uuid.UUID) -> tuple[int, tuple[int, int, int]]:
    with factory() as s:
        n = int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)
        day = utc_today()  # a window of days: a test may run across midnight
        usage = metering.totals(
            session=s, agreement_id=aid, start=day - timedelta(days=2), end=day + timedelta(days=2)
        )
        return n, usage


def _chain_ok(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        report = audit.verify_chain(session=s)
        head = s.execute(select(AuditHead.seq, AuditHead.hash)).one()
        last = s.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
    assert report.ok, report
    assert tuple(head) == tuple(last)


def _run(n: int, fn: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            fn(i)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a reader is blocked"
    return errors


def test_concurrent_reads_batch_and_lose_nothing(
    db: tuple[str, sessionmaker[Session]], world: tuple[Dataset, uuid.UUID]
) -> None:
    _, factory = db
    ds, aid = world
    j = _journal(factory)
    before, usage_before = _state(factory, aid)
    batches_before = len(j.batch_sizes)
    _hold_first_batch(THREADS - 1)
    under = aid
    open_read = None

    def reader(i: int) -> None:
        for k in range(EACH):
            channel = f"t{i}-{k}"
            decision = under if i % 2 == 0 else open_read
            with factory() as s:
                audit_read(s, ds, decision, channel, i + 1, 10)
            with factory() as other:  # durable when audit_read returns: another connection sees it
                found = other.scalars(
                    select(AuditEvent.details).where(AuditEvent.target_id == str(ds.id))
                ).all()
                assert any(d.get("channel") == channel for d in found), channel

    assert _run(THREADS, reader) == []
    after, usage_after = _state(factory, aid)
    assert after == before + THREADS * EACH
    _chain_ok(factory)
    sizes = list(j.batch_sizes)[batches_before:]
    assert sum(sizes) == THREADS * EACH
    assert max(sizes) >= THREADS - 1 and len(sizes) < THREADS * EACH
    metered = [i for i in range(THREADS) if i % 2 == 0]
    calls = len(metered) * EACH
    rows = sum(i + 1 for i in metered) * EACH
    assert tuple(a - b for a, b in zip(usage_after, usage_before, strict=True)) == (
        calls,
        rows,
        10 * calls,
    )


def test_a_bad_item_fails_only_its_own_read(
    db: tuple[str, sessionmaker[Session]], world: tuple[Dataset, uuid.UUID]
) -> None:
    _, factory = db
    ds, aid = world
    _journal(factory)
    before, usage_before = _state(factory, aid)
    entered = threading.Event()
    _hold_first_batch(2, entered)
    good = aid
    bad = uuid.uuid4()  # no such row
    results: dict[str, BaseException | None] = {}

    def read(name: str, decision: uuid.UUID | None) -> None:
        try:
            with factory() as s:
                audit_read(s, ds, decision, name, 1, 1)
            results[name] = None
        except BaseException as exc:  # inspected below
            results[name] = exc

    first = threading.Thread(target=read, args=("first", good))
    first.start()
    assert entered.wait(60)
    second = [
        threading.Thread(target=read, args=("bad", bad)),
        threading.Thread(target=read, args=("innocent", good)),
    ]
    for t in second:
        t.start()
    for t in [first, *second]:
        t.join(timeout=60)
    assert results["first"] is None
    # "bad" and "innocent" shared a batch, which failed on the bad item's usage row; the
    # leader then wrote each alone: only the bad read fails, and nothing of it is stored
    bad_error = results["bad"]
    assert isinstance(bad_error, IntegrityError) or (
        isinstance(bad_error, journal.BatchFailed)
        and isinstance(bad_error.__cause__, IntegrityError)
    ), results
    assert results["innocent"] is None, results
    read("later", good)
    assert results["later"] is None
    after, usage_after = _state(factory, aid)
    assert after == before + 3  # "first", "innocent" and "later"
    assert usage_after[0] == usage_before[0] + 3
    _chain_ok(factory)


def test_a_commit_failure_after_the_inserts_leaves_nothing_half_written(
    db: tuple[str, sessionmaker[Session]], world: tuple[Dataset, uuid.UUID]
) -> None:
    _, factory = db
    ds, aid = world
    before, usage_before = _state(factory, aid)

    def fail(stage: str, items: Sequence[journal.Item]) -> None:
        if stage == "written":
            raise OSError("disk full")

    journal.set_hook(fail)
    decision = aid
    with factory() as s, pytest.raises(OSError):
        audit_read(s, ds, decision, "api", 1, 1)
    assert _state(factory, aid) == (before, usage_before)
    journal.set_hook(None)
    with factory() as s:
        audit_read(s, ds, decision, "api", 1, 1)
    assert _state(factory, aid)[0] == before + 1
    _chain_ok(factory)


def test_two_processes_append_to_one_database(
    db: tuple[str, sessionmaker[Session]], world: tuple[Dataset, uuid.UUID], tmp_path: Path
) -> None:
    url, factory = db
    ds, aid = world
    before, usage_before = _state(factory, aid)
    threads, each = 4, 15
    procs: list[subprocess.Popen[Any]] = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.access.journal_worker", url, str(ds.id), str(aid)]
            + [str(threads), str(each), str(tmp_path), tag],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{t}").exists() for t in ("p1", "p2")):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.02)
        (tmp_path / "go").touch()
        outs = [p.communicate(timeout=120)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    n = 2 * threads * each
    after, usage_after = _state(factory, aid)
    assert after == before + n
    assert usage_after[0] - usage_before[0] == n and usage_after[1] - usage_before[1] == 2 * n
    with factory() as s:
        channels = s.scalars(select(AuditEvent.details).where(AuditEvent.seq > before)).all()
    assert sorted(d["channel"] for d in channels) == ["p1"] * (n // 2) + ["p2"] * (n // 2)
    _chain_ok(factory)


def test_a_200_means_the_read_is_already_recorded(live_server: LiveServer) -> None:
    """16 concurrent row requests over HTTP: at each 200, its event is committed."""

    def setup(session: Session) -> str:
        n = uuid.uuid4().hex[:8]
        org = identity.create_organisation(session=session, slug=f"j-{n}", name="J")
        ds = Dataset(
            slug=f"j-{n}", title_nb="J", publisher_id=org.id, status=DatasetStatus.published
        )
        session.add(ds)
        session.flush()
        folder = lake.new_staging(live_server.settings)
        (folder / "source").write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(200)))
        lake.ingest_file(
            session=session,
            settings=live_server.settings,
            dataset=ds,
            source=folder / "source",
            filename="j.csv",
            mode=WriteMode.replace,
            uploaded_by=None,
        )
        return str(ds.id)

    ds_id = live_server.with_session(setup)

    def events(session: Session) -> list[dict[str, Any]]:
        return list(
            session.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.target_id == ds_id, AuditEvent.action == "data.read"
                )
            ).all()
        )

    def get(i: int) -> None:  # each request's page size is unique, and so is its event
        url = f"{live_server.url}/api/v1/datasets/{ds_id}/rows?a__gt=10&_sort=a&_size={i + 1}"
        assert httpx.get(url, timeout=60).status_code == 200
        seen = live_server.with_session(events)
        assert any(d["rows"] == i + 1 for d in seen), i

    assert _run(16, get) == []
    assert sorted(d["rows"] for d in live_server.with_session(events)) == list(range(1, 17))
    assert live_server.with_session(lambda s: audit.verify_chain(session=s).ok)
