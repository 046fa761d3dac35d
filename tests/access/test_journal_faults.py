"""Group commit under concurrency with injected batch failures: nothing lost, nothing extra.

Every fourth call of the leader's hook fails, before or after the batch's inserts. Every
append either returns (its event is stored exactly once) or raises (its event is not
stored at all), and no reader waits forever — on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from datatorg.access import journal
from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.db import migrate
from datatorg.db.engine import make_engine, make_sessionmaker
from tests.pg import PostgresServer

THREADS, EACH = 8, 12


def test_random_batch_failures_lose_and_invent_nothing(
    pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    if pg_server is not None:
        url = pg_server.create_database(f"faults_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    lock = threading.Lock()
    calls = [0]
    failed_at: list[str] = []

    def flaky(stage: str, items: Sequence[journal.Item]) -> None:
        """Every fourth hook call fails: the 1st (a "taken"), the 5th (a "written"), …"""
        with lock:
            calls[0] += 1
            fail = calls[0] % 4 == 1
            if fail:
                failed_at.append(stage)
        if fail:
            raise OSError(f"injected at {stage}")

    outcome: dict[str, bool] = {}

    def reader(i: int) -> None:
        for k in range(EACH):
            tid = f"r{i}-{k}"
            ev = audit.NewEvent(action="data.read", target_type="dataset", target_id=tid)
            try:
                with factory() as s:
                    journal.append(s, journal.Item(event=ev))
                ok = True
            except (OSError, journal.BatchFailed):
                ok = False
            with lock:
                outcome[tid] = ok

    journal.set_hook(flaky)
    try:
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a reader waits forever"
    finally:
        journal.set_hook(None)
    try:
        assert len(outcome) == THREADS * EACH
        assert 0 < sum(outcome.values()) < THREADS * EACH  # some failed, some did not
        assert {"taken", "written"} <= set(failed_at)
        with factory() as s:
            stored = s.scalars(select(AuditEvent.target_id)).all()
            report = audit.verify_chain(session=s)
            head = s.execute(select(AuditHead.seq, AuditHead.hash)).one()
            last = s.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).one()
        assert sorted(stored) == sorted(t for t, ok in outcome.items() if ok)
        assert report.ok and report.checked == len(stored)
        assert tuple(head) == tuple(last)
    finally:
        engine.dispose()
