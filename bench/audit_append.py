"""Read-audit appends from 16 threads on a SQLite file: the old per-read transaction vs
``record_many`` alone vs the group-committing journal. Ratios from one run.

Each "read" is what the gate does after answering a query: append one ``data.read`` event
(hash-linked) and commit it before returning. Statements are counted with an engine hook.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from datatorg.access import journal
from datatorg.audit import service as audit
from datatorg.audit.models import AuditEvent, AuditHead
from datatorg.db import migrate
from datatorg.db.base import utcnow
from datatorg.db.engine import make_engine, make_sessionmaker

THREADS = 16
EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", 4000))


def _old_append(session: Session, target: str) -> None:
    """The gate's path before group commit: begin_audit_write + ORM record + commit."""
    session.commit()
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .execution_options(synchronize_session=False)
    )
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    assert head is not None
    now = utcnow()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    seq = head.seq + 1
    details = json.loads(json.dumps({"channel": "api", "rows": 20, "version": 1}))
    digest = audit._digest(head.hash, seq, at, None, "data.read", "dataset", target, "ok", details)
    session.add(
        AuditEvent(
            seq=seq,
            at=at,
            action="data.read",
            target_type="dataset",
            target_id=target,
            outcome="ok",
            details=details,
            prev_hash=head.hash,
            hash=digest,
        )
    )
    head.seq, head.hash = seq, digest
    session.flush()
    session.commit()


def _event(target: str) -> audit.NewEvent:
    return audit.NewEvent(
        action="data.read",
        target_type="dataset",
        target_id=target,
        details={"channel": "api", "rows": 20, "version": 1},
    )


def _single_append(session: Session, target: str) -> None:
    """record_many of one, no batching across threads."""
    session.commit()
    audit.record_many(session=session, events=[_event(target)])
    session.commit()


def _journal_append(session: Session, target: str) -> None:
    journal.append(session, journal.Item(event=_event(target)))


def _measure(
    root: Path, name: str, append: Callable[[Session, str], None]
) -> tuple[float, float, float]:
    """Events/s, statements per event, mean events per commit, on a fresh database."""
    url = f"sqlite:///{root / f'{name}.sqlite3'}"
    make_engine(url).dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    with factory() as s:  # create the head row outside the timing
        audit.record_many(session=s, events=[_event("warm")])
        s.commit()
    counts = {"stmt": 0, "commit": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _stmt(*_: Any) -> None:
        counts["stmt"] += 1

    @event.listens_for(engine, "commit")
    def _commit(*_: Any) -> None:
        counts["commit"] += 1

    each = EVENTS // THREADS
    start = threading.Barrier(THREADS + 1)
    errors: list[BaseException] = []
    target = str(uuid.uuid4())

    def worker() -> None:
        try:
            with factory() as s:
                start.wait()
                for _ in range(each):
                    append(s, target)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    with factory() as s:
        report = audit.verify_chain(session=s)
    engine.dispose()
    n = each * THREADS
    if not report.ok or report.checked != n + 1:
        raise RuntimeError(f"{name}: chain {report}, expected {n + 1} events")
    return n / elapsed, counts["stmt"] / n, n / max(1, counts["commit"])


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        old = _measure(root, "old", _old_append)
        single = _measure(root, "single", _single_append)
        grouped = _measure(root, "journal", _journal_append)
    rows = [
        ("per-read transaction, ORM record (before)", old),
        ("per-read transaction, record_many of one", single),
        ("group commit (journal)", grouped),
    ]
    lines = [
        "## Read-audit appends (group commit)",
        "",
        f"{EVENTS // THREADS * THREADS} `data.read` events appended and committed from "
        f"{THREADS} threads on one SQLite file (WAL); each path on a fresh database, chain "
        "verified after.",
        "",
        "| Path | Events/s | vs before | SQL statements per event | Events per commit |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (rate, stmts, per_commit) in rows:
        lines.append(
            f"| {label} | {rate:,.0f} | {rate / old[0]:.2f}× | {stmts:.2f} | {per_commit:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
