"""record_many: batches chain exactly like single appends, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.db import waits
from datatorg.identity.actor import ANONYMOUS
from tests.waiters import Marks


def _new(i: int) -> audit.NewEvent:
    return audit.NewEvent(
        action="data.read",
        target_type="dataset",
        target_id=f"ds-{i}",
        details={"rows": i, "name": "Ærlig øl på Å"},
        actor_id=uuid.uuid4() if i % 2 else None,
    )


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    return int(row[0]), str(row[1])


def test_batches_mixed_with_single_records_verify(session: Session) -> None:
    start = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    n = 0
    for size in (1, 5, 0, 17, 2):
        out = audit.record_many(session=session, events=[_new(n + k) for k in range(size)])
        assert [e.target_id for e in out] == [f"ds-{n + k}" for k in range(size)]
        n += size
        audit.record(
            session=session, actor=ANONYMOUS, action="x.single", target_type="t", target_id="s"
        )
        n += 1
    report = audit.verify_chain(session=session)
    assert report.ok and report.checked == start + n
    last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last is not None and _head(session) == (last.seq, last.hash)


def test_a_batch_links_each_event_to_the_previous(session: Session) -> None:
    before = _head(session) if session.get(AuditHead, 1) else (0, audit.GENESIS)
    out = audit.record_many(session=session, events=[_new(i) for i in range(4)])
    assert [e.seq for e in out] == [before[0] + 1 + i for i in range(4)]
    assert out[0].prev_hash == before[1]
    assert all(out[i].prev_hash == out[i - 1].hash for i in range(1, 4))
    assert _head(session) == (out[-1].seq, out[-1].hash)
    stored = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > before[0]).order_by(AuditEvent.seq)
    ).all()
    assert [(e.seq, e.hash, e.details) for e in stored] == [(e.seq, e.hash, e.details) for e in out]


def test_tampering_inside_a_batch_is_found(session: Session) -> None:
    out = audit.record_many(session=session, events=[_new(i) for i in range(3)])
    session.execute(
        AuditEvent.__table__.update().where(AuditEvent.seq == out[1].seq).values(target_id="forged")
    )
    report = audit.verify_chain(session=session)
    assert not report.ok and report.first_bad_seq == out[1].seq


def test_empty_batch_writes_nothing(session: Session) -> None:
    assert audit.record_many(session=session, events=[]) == []
    assert audit.verify_chain(session=session).ok


def test_hostile_details_are_stored_as_data(session: Session) -> None:
    hostile = {"q": "'; DROP TABLE audit_events; --", "f": "=cmd|' /C calc'!A0", "p": "../../etc"}
    ev = audit.NewEvent(action="data.read", target_type="dataset", target_id="x", details=hostile)
    out = audit.record_many(session=session, events=[ev, ev])
    stored = session.scalar(select(AuditEvent).where(AuditEvent.seq == out[1].seq))
    assert stored is not None and stored.details == hostile
    assert audit.verify_chain(session=session).ok


def test_an_append_holds_the_head_for_as_few_statements_as_the_database_allows(
    session: Session,
) -> None:
    """The head row is locked from the first statement to the commit, and every audited write
    queues for it: on PostgreSQL the events and the new head are one statement (a
    data-modifying WITH) after the head's lock, on SQLite two."""
    from tests.statements import recorded

    audit.record_many(session=session, events=[_new(0)])  # the head exists
    with recorded(session) as statements:
        rows = audit.record_many(session=session, events=[_new(i) for i in range(1, 4)])
    postgres = session.get_bind().dialect.name == "postgresql"
    assert len(statements) == (2 if postgres else 3), statements
    assert statements[0].startswith("UPDATE audit_head")
    assert [r.seq for r in rows] == [2, 3, 4]
    assert _head(session) == (4, rows[-1].hash)
    assert audit.verify_chain(session=session).ok


def test_appends_from_many_threads_keep_one_chain(
    pg_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Eight threads, each with its own connection, append 40 times each, one to three events
    at a time, on the run's database: every event is in one unbroken chain."""
    import threading

    from datatorg.db import migrate, writes
    from datatorg.db.engine import make_engine, make_sessionmaker

    if pg_server is not None:
        url = pg_server.create_database(f"chain_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('chain') / 'chain.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def appender(t: int) -> None:
        try:
            for k in range(40):
                with factory() as s:
                    writes.begin(s)
                    audit.record_many(session=s, events=[_new(t * 1000 + k)] * (1 + k % 3))
                    s.commit()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    try:
        threads = [threading.Thread(target=appender, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=300)
        assert errors == []
        with factory() as s:
            report = audit.verify_chain(session=s)
            assert report.ok, report
            assert report.checked == 8 * sum(1 + k % 3 for k in range(40))
    finally:
        engine.dispose()


def test_a_batch_larger_than_one_statement_can_bind_is_appended(session: Session) -> None:
    """6,000 events are 66,000 bound parameters, over PostgreSQL's 65,535 in one statement:
    past ``ONE_STATEMENT_ROWS`` a batch is inserted as before."""
    out = audit.record_many(session=session, events=[_new(i) for i in range(6000)])
    assert _head(session) == (out[-1].seq, out[-1].hash)
    assert audit.verify_chain(session=session).ok


@pytest.mark.parametrize("size", [1, 2, audit.ONE_STATEMENT_ROWS, audit.ONE_STATEMENT_ROWS + 1])
def test_every_batch_size_is_stored_whole(session: Session, size: int) -> None:
    """At the edges of the one-statement path (PostgreSQL: one insert per event in a WITH,
    then the head): every event stored as returned, the head on the last one."""
    before = _head(session) if session.get(AuditHead, 1) else (0, audit.GENESIS)
    out = audit.record_many(session=session, events=[_new(i) for i in range(size)])
    stored = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > before[0]).order_by(AuditEvent.seq)
    ).all()
    assert [(e.seq, e.hash, e.details, e.actor_id) for e in stored] == [
        (e.seq, e.hash, e.details, e.actor_id) for e in out
    ]
    assert _head(session) == (out[-1].seq, out[-1].hash)
    assert audit.verify_chain(session=session).ok


@pytest.mark.parametrize("size", [1, 7, audit.ONE_STATEMENT_ROWS])
def test_the_one_statement_append_is_compiled_once(size: int) -> None:
    """The PostgreSQL append statement has a cache key, so SQLAlchemy compiles it once per
    batch size. Built from a multi-row VALUES it had none and was compiled for every append
    (a third of a download's CPU on PostgreSQL)."""
    from sqlalchemy.dialects import postgresql

    statement = audit._append_statement(size)
    assert statement._generate_cache_key() is not None
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert sql.count("INSERT INTO audit_events") == size and sql.count("UPDATE audit_head") == 1


def test_waiting_for_the_head_row_is_a_wait_on_postgresql(session: Session) -> None:
    """On PostgreSQL the head row's lock may be held elsewhere (another worker, a long
    transaction): the append marks the wait (``db.waits``), so a long one gives the request's
    admission place on. On SQLite the writer turn, taken before, is the lock."""
    told = Marks()
    token = waits.current.set(told)
    try:
        audit.record_many(session=session, events=[_new(1)])
    finally:
        waits.current.reset(token)
    postgres = session.get_bind().dialect.name == "postgresql"
    assert told.marks == (["began", "ended"] if postgres else [])
