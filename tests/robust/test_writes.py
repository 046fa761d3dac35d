"""The writer turn (``datatorg.db.writes``): first come, first served, bounded waits that end
in a 503 with Retry-After, read transactions that wait for nothing, and an event loop that
never waits for another connection's write lock."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from datatorg.access import journal
from datatorg.audit import service as audit
from datatorg.db import migrate, waits, writes
from datatorg.db.engine import make_engine, make_sessionmaker
from datatorg.settings import Settings
from datatorg.web.errorhandlers import install_error_handlers


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('turn') / 'turn.sqlite3'}"
    migrate.upgrade(url)
    eng = make_engine(url, write_wait_ms=300)
    yield eng
    eng.dispose()


def test_the_turn_is_first_come_first_served() -> None:
    turn = writes.Turn(None)
    assert turn.acquire(0)
    order: list[int] = []

    def wait(i: int) -> None:
        assert turn.acquire(5)
        order.append(i)
        turn.release()

    threads = []
    for i in range(5):
        t = threading.Thread(target=wait, args=(i,))
        t.start()
        threads.append(t)
        while turn.waits < i + 1:  # queued in this order
            time.sleep(0.001)
    turn.release()
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4]


class _Waiter:
    """A request's admission as ``db.waits`` sees it: what it was told, in order."""

    def __init__(self, fail: bool = False) -> None:
        self.told: list[str] = []
        self.fail = fail

    def wait_began(self, at_once: bool = False) -> None:
        self.told.append("at once" if at_once else "began")
        if self.fail:
            raise RuntimeError("Event loop is closed")

    def wait_ended(self) -> None:
        self.told.append("ended")


def test_a_wait_behind_a_line_gives_the_place_on_at_once() -> None:
    """The first two in line wait with the threshold (their wait is about one write); from
    the third on the wait is several writes long and the place goes on at once."""
    turn = writes.Turn(None)
    assert turn.acquire(0)
    waiters = [_Waiter() for _ in range(4)]

    def wait(w: _Waiter) -> None:
        waits.current.set(w)  # as the admission does for each request
        assert turn.acquire(5)
        turn.release()

    threads = []
    for i, w in enumerate(waiters):
        t = threading.Thread(target=wait, args=(w,))
        t.start()
        threads.append(t)
        while turn.waits < i + 1:
            time.sleep(0.001)
    turn.release()
    for t in threads:
        t.join()
    assert [w.told for w in waiters] == [
        ["began", "ended"],
        ["began", "ended"],
        ["at once", "ended"],
        ["at once", "ended"],
    ]


def test_a_turn_is_never_left_taken_when_marking_the_wait_fails(tmp_path: Path) -> None:
    """Marking a wait may fail (the event loop closed as the server stopped): the process's
    turn is given back, and the next write takes it."""
    import fcntl

    lock_path = tmp_path / "db-write.lock"
    turn = writes.Turn(str(lock_path))
    with open(lock_path, "a+") as other:  # another process's turn
        fcntl.flock(other, fcntl.LOCK_EX)
        waits.current.set(_Waiter(fail=True))
        try:
            with pytest.raises(RuntimeError):
                turn.acquire(1)
        finally:
            waits.current.set(None)
        assert not turn.held
        fcntl.flock(other, fcntl.LOCK_UN)
    assert turn.acquire(1)
    turn.release()


def test_a_write_beyond_the_longest_line_is_busy_at_once() -> None:
    """At most ``max_line`` threads wait in line for the turn (each holds a request thread);
    the next write is busy at once instead of after its whole wait."""
    turn = writes.Turn(None)
    turn.max_line = 2
    assert turn.acquire(0)
    waiting = [
        threading.Thread(target=lambda: turn.acquire(5) and turn.release()) for _ in range(2)
    ]
    for i, t in enumerate(waiting):
        t.start()
        while turn.waits < i + 1:
            time.sleep(0.001)
    started = time.monotonic()
    assert not turn.acquire(5)
    assert time.monotonic() - started < 1 and turn.refused == 1
    turn.release()
    for t in waiting:
        t.join()
    assert turn.acquire(0)  # the line is gone: the turn is free again
    turn.release()


def test_the_app_bounds_the_line_by_its_threads(tmp_path: Path, settings: Settings) -> None:
    from datatorg.app import create_app

    url = f"sqlite:///{tmp_path / 'line.sqlite3'}"
    create_app(settings.model_copy(update={"database_url": url, "request_threads": 40}))
    assert writes.turn_for(str(tmp_path / "line.sqlite3")).max_line == 20


def test_a_write_waits_at_most_its_bound_then_is_busy(engine: Engine) -> None:
    factory = writes.write_sessionmaker(engine)
    holder = factory()
    holder.execute(text("SELECT 1"))  # a write transaction: holds the turn
    try:
        started = time.monotonic()
        with pytest.raises(writes.WriteBusy), factory() as other:
            other.execute(text("SELECT 1"))
        waited = time.monotonic() - started
        assert 0.25 <= waited < 2
    finally:
        holder.rollback()
        holder.close()
    with factory() as other:  # free again
        other.execute(text("SELECT 1"))
        other.commit()


def test_reads_do_not_wait_for_a_writer(engine: Engine) -> None:
    holder = writes.write_sessionmaker(engine)()
    holder.execute(text("DELETE FROM login_failures WHERE 1 = 0"))
    try:
        started = time.monotonic()
        with make_sessionmaker(engine)() as reader:
            reader.execute(text("SELECT count(*) FROM users")).scalar()
        assert time.monotonic() - started < 0.2
    finally:
        holder.rollback()
        holder.close()


def test_a_read_transaction_that_writes_begins_a_write_one(engine: Engine) -> None:
    with make_sessionmaker(engine)() as s:
        s.execute(text("SELECT count(*) FROM users")).scalar()
        writes.begin(s)
        assert writes.turn_for(engine.url.database).held
        s.execute(text("DELETE FROM login_failures WHERE 1 = 0"))
        s.commit()
    assert not writes.turn_for(engine.url.database).held


def _app(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/api/v1/thing")
    def thing() -> None:
        raise exc

    return app


@pytest.mark.parametrize(
    "exc",
    [
        writes.WriteBusy(),
        OperationalError("INSERT", {}, Exception("database is locked")),
        OperationalError("UPDATE", {}, Exception("deadlock detected")),
    ],
    ids=["turn-timeout", "sqlite-busy", "pg-deadlock"],
)
def test_busy_answers_503_with_retry_after_not_500(exc: Exception) -> None:
    with TestClient(_app(exc), raise_server_exceptions=False) as client:
        resp = client.post("/api/v1/thing")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.json()["status"] == 503


def test_the_loop_never_waits_for_another_connections_write_lock(engine: Engine) -> None:
    """A held write lock sends the audit batch to a worker thread; the loop keeps running."""
    engine = make_engine(str(engine.url), write_wait_ms=10_000)  # the thread may wait 0.5 s
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    batcher = journal.LoopBatcher(factory, inline=True)
    target = uuid.uuid4().hex
    holder = writes.write_sessionmaker(engine)()
    holder.execute(text("SELECT 1"))  # holds the turn
    release = threading.Timer(0.5, lambda: (holder.rollback(), holder.close()))

    async def main() -> float:
        gaps: list[float] = []
        done = False

        async def tick() -> None:
            last = time.monotonic()
            while not done:
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.02)
        release.start()
        await batcher.append(
            journal.Item(
                event=audit.NewEvent(action="data.read", target_type="dataset", target_id=target)
            )
        )
        done = True
        await ticker
        return max(gaps)

    # In a thread of its own: Playwright's sync API leaves a running loop in the main thread.
    out: list[float] = []
    runner = threading.Thread(target=lambda: out.append(asyncio.run(main())))
    runner.start()
    runner.join(30)
    worst = out[0]
    assert worst < 0.3  # the loop ran on while the batch waited ~0.5 s for the turn
    with factory() as s:
        assert audit.count(session=s, action="data.read", target_id=target) == 1


def test_the_batch_thread_needs_no_token_of_the_request_pool(engine: Engine) -> None:
    """With every token of the request thread pool taken (say by writes waiting for their
    turn), a batch that must wait for the turn still gets its thread and commits."""
    import anyio.to_thread

    engine = make_engine(str(engine.url), write_wait_ms=10_000)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    batcher = journal.LoopBatcher(factory, inline=True)
    target = uuid.uuid4().hex
    holder = writes.write_sessionmaker(engine)()
    holder.execute(text("SELECT 1"))  # holds the turn: the batch goes to a thread
    release = threading.Timer(0.3, lambda: (holder.rollback(), holder.close()))

    async def main() -> None:
        pool = anyio.to_thread.current_default_thread_limiter()
        pool.total_tokens = 1
        await pool.acquire()  # the request pool is full
        try:
            release.start()
            item = journal.Item(
                event=audit.NewEvent(action="data.read", target_type="dataset", target_id=target)
            )
            await asyncio.wait_for(batcher.append(item), 10)
        finally:
            pool.release()

    runner = threading.Thread(target=lambda: asyncio.run(main()))
    runner.start()
    runner.join(30)
    with factory() as s:
        assert audit.count(session=s, action="data.read", target_id=target) == 1
    engine.dispose()


def test_a_signed_in_write_request_takes_the_turn_once(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's look-up only reads: the write request's handler takes the writer turn,
    and nothing else does (it used to be taken for the look-up too, and given back)."""
    from datatorg.app import create_app
    from datatorg.db.base import utcnow
    from datatorg.identity import service as identity
    from tests.robust.server import new_installation

    inst = new_installation(tmp_path_factory.mktemp("once"), None, "once")
    engine = make_engine(inst.database_url)
    with writes.write_sessionmaker(engine)() as s:
        user = identity.create_user(
            session=s, email="en@example.no", display_name="En", password="x" * 16
        )
        s.flush()
        plaintext, token = identity.create_token(session=s, user=user, name="t")
        token.last_used_at = utcnow()  # used just now: the look-up has nothing to note
        s.commit()
    engine.dispose()
    turn = writes.turn_for(inst.database_url.removeprefix("sqlite:///"))
    taken: list[float] = []
    original = turn.acquire

    def counting(wait_s: float) -> bool:
        taken.append(wait_s)
        return original(wait_s)

    monkeypatch.setattr(turn, "acquire", counting)
    with TestClient(create_app(inst.settings())) as client:
        auth = {"Authorization": f"Bearer {plaintext}"}
        assert client.get("/api/v1/me", headers=auth).status_code == 200
        assert taken == []  # a read takes no turn
        resp = client.post("/api/v1/me/tokens", headers=auth, json={"name": "ny", "days": 1})
        assert resp.status_code == 201, resp.text
    assert len(taken) == 1, taken
