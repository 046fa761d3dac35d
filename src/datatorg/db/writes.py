"""Writes that wait their turn: on SQLite, a write transaction takes the write lock first.

SQLite has one writer at a time. A *deferred* transaction (plain ``BEGIN``) that has read
and then writes fails at once with "database is locked" when another connection holds the
write lock: SQLite cannot let it wait, since the other writer's commit would make its reads
stale, and its busy timeout does not apply to that upgrade. So a transaction that may write
says so when it begins, and then:

1. waits for this database's *writer turn*: a first-come, first-served queue of the threads
   of this process, then an ``flock`` on ``<database>-write.lock`` shared with the other
   processes (workers, the command line); both wake a waiter the moment the holder is done,
   where SQLite's own busy handler polls with sleeps of up to 100 ms;
2. begins with ``BEGIN IMMEDIATE`` (the write lock is taken before the first read);
3. gives the turn back after its ``COMMIT`` or ``ROLLBACK``.

The wait is bounded (``DATATORG_WRITE_WAIT_MS``): past it the caller gets ``WriteBusy``, a
503 with ``Retry-After``, never a 500. Read-only transactions stay deferred and wait for
nothing (WAL readers never block). On PostgreSQL every transaction is a plain ``BEGIN``:
rows are locked one by one and writers queue on the rows they share.

How a transaction says it may write:

- a session from ``write_sessionmaker`` (requests with an unsafe method, the command line,
  the outbox worker) begins every transaction as a write;
- ``begin(session)`` ends the session's current transaction and begins a write one (a read
  request that writes once, e.g. a token's last use);
- ``begin(session, wait_s=0)`` only tries (the event loop must never wait): ``WriteBusy``
  when the turn is taken.

``begin_read(session)`` does the opposite for a write session: its next transaction is a
read one (a write request's look-up of its caller takes no turn; its handler's transaction
does, once).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from datatorg.db import waits
from datatorg.errors import ServiceUnavailable

WRITE = "datatorg_write"  # connection execution option: seconds a write may wait, or True
DEFAULT_WAIT_S = 10.0
# Waiters already in line for the writer turn from which a new one gives its admission place
# on at once (db.waits): behind two others its wait is several writes long. With a threshold
# only, 100 writes queued on one worker held its places 0.1 s per group of eight, and a
# look-up behind them waited 1.24 s.
LONG_LINE = 2


class WriteBusy(ServiceUnavailable):
    """Other writes held the database longer than this one may wait; try again shortly."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The service is busy writing other changes; please try again in a moment.",
            retry_after=2,
        )


class Turn:
    """The writer turn of one SQLite database file: a fair in-process queue, then a
    process-shared ``flock``. Any thread may release it (a session may commit in another
    thread than the one that began it)."""

    def __init__(self, lock_path: str | None) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False
        self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path else None
        self.waits = 0  # acquisitions that had to wait (diagnostics)
        # At most this many threads in line; a write that would join a longer line is busy at
        # once (``limit_line``). None: no bound.
        self.max_line: int | None = None
        self.refused = 0  # acquisitions refused for the line's length (diagnostics)

    def acquire(self, wait_s: float) -> bool:
        """Take the turn, waiting at most ``wait_s`` seconds; whether it was taken."""
        with waits.Wait() as wait:  # a long wait gives the request's admission place on
            return self._acquire(wait_s, wait)

    def _acquire(self, wait_s: float, wait: waits.Wait) -> bool:
        deadline = time.monotonic() + wait_s
        ticket = object()
        with self._cond:
            if self._held or self._queue:
                if wait_s <= 0:
                    return False
                if self.max_line is not None and len(self._queue) >= self.max_line:
                    self.refused += 1
                    return False  # busy now rather than hold a thread through a long line
                self.waits += 1
                # another thread of this process has the turn; with a line behind it the
                # wait is long (each waits for the one before): the place goes on at once
                wait.begin(at_once=len(self._queue) >= LONG_LINE)
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._queue.remove(ticket)
                    self._cond.notify_all()
                    return False
                self._cond.wait(left)
            self._queue.popleft()
            self._held = True
        try:
            taken = self._fd is None or self._flock(deadline, wait)
        except BaseException:
            self._release_local()  # never leave the process's turn taken
            raise
        if not taken:
            self._release_local()
        return taken

    def _flock(self, deadline: float, wait: waits.Wait) -> bool:
        assert self._fd is not None
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                wait.begin()  # another process has the turn
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Only one thread per process gets here: a short poll is cheap.
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.005)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._release_local()

    def _release_local(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def held(self) -> bool:
        with self._cond:
            return self._held


_turns: dict[str, Turn] = {}
_turns_lock = threading.Lock()
_holding: dict[int, Turn] = {}  # id(driver connection) -> the turn its transaction holds
_holding_lock = threading.Lock()


def turn_for(database: str | None) -> Turn:
    """The writer turn of the SQLite database at path ``database`` (None: in memory)."""
    key = database or ":memory:"
    with _turns_lock:
        found = _turns.get(key)
        if found is None:
            lock_path = None if key == ":memory:" else key + "-write.lock"
            found = _turns[key] = Turn(lock_path)
        return found


def limit_line(engine: Engine, waiters: int) -> None:
    """Let at most ``waiters`` threads of this process wait in line for ``engine``'s writer
    turn (SQLite; nothing for other databases); a write beyond is busy at once (503 with
    ``Retry-After``). Each waiter holds a thread of the request pool: with 200 writes queued
    on a worker of 100 threads, the waiters took them all and a catalog look-up admitted
    meanwhile waited 19 s for a thread, and 124 of the writes were busy after their 10 s
    anyway."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        turn_for(database if database != ":memory:" else None).max_line = max(1, waiters)


def _driver(conn: Any) -> Any:
    return getattr(conn, "dbapi_connection", conn)


def install_sqlite(engine: Engine, wait_s: float = DEFAULT_WAIT_S) -> None:
    """Begin ``engine``'s transactions as this module says (SQLite engines only)."""
    turn = turn_for(engine.url.database if engine.url.database != ":memory:" else None)
    dialect = engine.dialect

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        want = conn.get_execution_options().get(WRITE)
        if want is None or want is False:
            conn.exec_driver_sql("BEGIN")
            return
        limit = wait_s if want is True else float(want)
        if not turn.acquire(limit):
            raise WriteBusy()
        key = id(_driver(conn.connection))
        with _holding_lock:
            _holding[key] = turn
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _give_back(key)
            raise

    # After the driver's COMMIT or ROLLBACK (a connection event would fire before it), and
    # when a connection is closed or reset by the pool in the middle of a transaction.
    for name in ("do_commit", "do_rollback", "do_close"):
        original = getattr(dialect, name)

        def wrapped(dbapi_conn: Any, _original: Any = original) -> None:
            try:
                _original(dbapi_conn)
            finally:
                _give_back(id(_driver(dbapi_conn)))

        setattr(dialect, name, wrapped)


_STATEMENT_WAIT = "datatorg_statement_wait"  # connection.info: the running statement's Wait


def install_postgresql(engine: Engine) -> None:
    """A statement of a write transaction on PostgreSQL is a wait of its request
    (``db.waits``): it may wait for a row another session has locked (an operator's open
    transaction, a long maintenance job), and one that lasts gives its admission place to
    the next in line. Each place held through such a wait is one the worker's other requests
    cannot have: with 4 places per worker, four ``PATCH /api/v1/me`` blocked on a user row
    locked for 8 s kept the worker's catalog page waiting 7.5 s (attack review, session 9).
    Reads are not marked: PostgreSQL's readers wait for no writer."""

    @event.listens_for(engine, "before_cursor_execute")
    def _began(conn: Any, *_: Any) -> None:
        want = conn.get_execution_options().get(WRITE)
        if want is None or want is False:
            return
        wait = waits.Wait()
        wait.begin()
        conn.info[_STATEMENT_WAIT] = wait

    def _ended(conn: Any) -> None:
        wait = conn.info.pop(_STATEMENT_WAIT, None)
        if wait is not None:
            wait.end()

    @event.listens_for(engine, "after_cursor_execute")
    def _done(conn: Any, *_: Any) -> None:
        _ended(conn)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        if context.connection is not None:
            _ended(context.connection)


def _give_back(key: int) -> None:
    with _holding_lock:
        turn = _holding.pop(key, None)
    if turn is not None:
        turn.release()


def write_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose every transaction is a write transaction (see the module docstring)."""
    return sessionmaker(bind=engine, expire_on_commit=False, execution_options={WRITE: True})


def is_write_session(session: Session) -> bool:
    """Whether ``session`` begins every transaction as a write (``write_sessionmaker``)."""
    return session.execution_options.get(WRITE) is not None


def begin(session: Session, *, wait_s: float | None = None) -> None:
    """End ``session``'s transaction (committing it) and begin a write transaction.

    ``wait_s``: how long to wait for the turn (default: the engine's bound; 0 only tries).
    Raises ``WriteBusy`` when the turn could not be had in time.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE: True if wait_s is None else wait_s})


def begin_read(session: Session) -> None:
    """Begin ``session``'s transaction as a read one (deferred: it waits for no writer turn),
    also in a session from ``write_sessionmaker``: for a write request's look-up of its
    caller, whose statements only read. A no-op when a transaction is already open."""
    if not session.in_transaction():
        session.connection(execution_options={WRITE: False})


def in_write_transaction(session: Session) -> bool:
    """Whether ``session``'s open transaction began as a write one (it holds the turn)."""
    if not session.in_transaction():
        return False
    want = session.connection().get_execution_options().get(WRITE)
    return want is not None and want is not False
