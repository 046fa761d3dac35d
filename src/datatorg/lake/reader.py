"""The lake's read path: DuckDB over a version's Parquet files, with a time budget and a cap.

Only ``datatorg.access`` (the gate) may import this module; an architecture test checks it.
SQL arrives here built by the gate's query builder: identifiers quoted from the schema,
values bound as parameters.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from datatorg.db import calls, waits
from datatorg.errors import ServiceUnavailable
from datatorg.lake import duck, subject_no

# The hidden subject-number column of files of datasets linked to subjects: the gate's
# consent filter may test it when every file of the version has it (``HeadFiles.numbered``).
SUBJECT_NO = subject_no.COLUMN
_root: duckdb.DuckDBPyConnection | None = None  # opened on first use, with the process's limits
_lock = threading.Lock()


class QueryTimeout(ServiceUnavailable):
    """The query ran past its time budget and was interrupted. The gate answers 422 (add
    filters) where it expects this; anywhere else it is a 503 (``ServiceUnavailable``)."""


class QueryTooLarge(QueryTimeout):
    """The query needed more memory than DuckDB may use (``DATATORG_DUCKDB_MEMORY_MB``)."""

    def __init__(self) -> None:
        super().__init__("The query needs more memory than the server allows")


class ClientLeft(ServiceUnavailable):
    """The request's client left before its query was done, and the query was stopped
    (``db.calls``): no one reads the answer."""

    def __init__(self) -> None:
        super().__init__("The client left before the query was done", retry_after=1)


class QueryFailed(Exception):
    """The engine refused the query (a bug in the builder, or unreadable files)."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def source(paths: Sequence[Path]) -> str:
    """The table expression over ``paths``: the Parquet files, with a stable row identity."""
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}], filename=true, file_row_number=true)"


def _cursor() -> duckdb.DuckDBPyConnection:
    global _root
    with _lock:
        if _root is None:
            _root = duck.connect()  # memory, threads and spill space bounded (lake.duck)
            _root.execute("SET parquet_metadata_cache = true")  # immutable files: keep footers
        return _root.cursor()


class _Budget:
    def __init__(self, cur: duckdb.DuckDBPyConnection, ms: int) -> None:
        self.fired = False
        self.timer = threading.Timer(ms / 1000, self._fire, args=(cur,))

    def _fire(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.fired = True
        cur.interrupt()

    def __enter__(self) -> _Budget:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


class DuckDBBusy(ServiceUnavailable):
    """Every DuckDB place of the process is taken and the line for them is long, or the
    query's time budget ran out in line; try again shortly."""

    def __init__(self) -> None:
        super().__init__(
            "The service is busy answering other queries of the data; please try again in a "
            "moment.",
            retry_after=2,
        )


class Places:
    """At most ``size`` DuckDB queries of the gate at once in this process, the others served
    in arrival order; a query finding ``LONG_LINE_PER_PLACE`` × ``size`` already waiting is
    refused at once (``DuckDBBusy``).

    Without it, a query that steps aside (``_in_duckdb``) lets the next request start one
    more: an attack review flooding one worker with slow queries ran 40-46 at once, bounded
    only by the thread pool, and on two cores its page views waited 3-27 s for CPU.
    """

    LONG_LINE_PER_PLACE = 2

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self.waiting = 0
        self.refused = 0  # diagnostics
        self._cond = threading.Condition()

    def take(self, timeout_s: float) -> bool:
        """Take a place within ``timeout_s`` seconds; False when the line is long (at once),
        the time ran out or the request's client left (``db.calls``) meanwhile. Waiting is a
        wait of the request (``db.waits``)."""
        with self._cond:
            if self.busy < self.size and not self.waiting:
                self.busy += 1
                return True
            if self.waiting >= self.LONG_LINE_PER_PLACE * self.size:
                self.refused += 1
                return False
        with waits.Wait() as wait, calls.on_leave(self._wake_all):
            wait.begin(at_once=True)  # a line of queries: each may take seconds
            deadline = time.monotonic() + timeout_s
            with self._cond:
                self.waiting += 1
                try:
                    while True:
                        if calls.left():  # its client has gone: out of the line
                            if self.busy < self.size:
                                self._cond.notify()  # a place it was woken for: the next's
                            return False
                        if self.busy < self.size:
                            break
                        left = deadline - time.monotonic()
                        if left <= 0:
                            self.refused += 1
                            return False
                        self._cond.wait(left)
                    self.busy += 1
                    return True
                finally:
                    self.waiting -= 1

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def give(self) -> None:
        with self._cond:
            self.busy -= 1
            self._cond.notify()


_places: Places | None = None


def places() -> Places:
    """The process's DuckDB places, sized by ``duck.limits().queries`` when first used."""
    global _places
    with _lock:
        if _places is None or _places.size != duck.limits().queries and not _places.busy:
            _places = Places(duck.limits().queries)
        return _places


@contextmanager
def _place(budget_ms: int) -> Iterator[int]:
    """Hold one of the process's DuckDB places for a query; gives the time budget left after
    waiting for it (the wait counts against the budget, so a query never runs past it)."""
    calls.check()  # an account over its DuckDB time waits in no line (429)
    began = time.monotonic()
    held = places()
    if not held.take(budget_ms / 1000):
        if calls.left():
            raise ClientLeft()
        raise DuckDBBusy()
    try:
        yield max(1, budget_ms - int(1000 * (time.monotonic() - began)))
    finally:
        held.give()


@contextmanager
def _in_duckdb() -> Iterator[None]:
    """DuckDB runs a query in threads of its own, without the interpreter's lock: for the
    web layer's admission (``datatorg.db.waits``) the request waits meanwhile, and one whose
    query outlasts the threshold gives its place to the next request in line. A few slow
    queries (a heavy filter over millions of rows takes seconds of its 10 s budget) would
    otherwise hold every place of their worker, and its pages would wait for them."""
    with waits.Wait() as wait:
        wait.begin()
        yield


def _failed(exc: BaseException) -> QueryFailed | QueryTooLarge:
    if duck.is_out_of_memory(exc):
        return QueryTooLarge()
    return QueryFailed(str(exc).splitlines()[0][:300])


def _gate_error(exc: duckdb.Error, budget: _Budget, budget_ms: int, what: str) -> Exception:
    """DuckDB's error as the gate's: interrupted because the client left or by the time
    budget, out of memory, or failed."""
    if calls.left():
        return ClientLeft()
    if isinstance(exc, duckdb.InterruptException) or budget.fired:
        return QueryTimeout(f"The {what} took longer than {budget_ms} ms")
    return _failed(exc)


@contextmanager
def _running(budget_ms: int, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor holding one of the process's DuckDB places, interrupted when the time budget
    (what is left of it after waiting for the place) runs out or the request's client leaves
    (``db.calls``); DuckDB's errors become the gate's (``QueryTimeout``, ``QueryTooLarge``,
    ``QueryFailed``, ``ClientLeft``). The time it held the place is charged to the request's
    account (``db.calls.spent``)."""
    with _place(budget_ms) as left_ms:
        cur = _cursor()
        budget = _Budget(cur, left_ms)
        began = time.monotonic()
        try:
            with budget, calls.on_leave(cur.interrupt):
                if calls.left():  # an interrupt before the query begins would be lost
                    raise ClientLeft()
                yield cur
        except duckdb.Error as exc:
            raise _gate_error(exc, budget, budget_ms, what) from None
        finally:
            calls.spent(time.monotonic() - began)
            cur.close()


def query(sql: str, params: Sequence[Any], *, cap: int, budget_ms: int) -> Result:
    """Run ``sql``; fetch at most ``cap`` rows (one more tells whether there were more)."""
    with _running(budget_ms, "query") as cur:
        with _in_duckdb():
            rel = cur.execute(sql, list(params))
        columns = [d[0] for d in rel.description or []]
        types = [str(d[1]) for d in rel.description or []]
        rows = rel.fetchmany(cap + 1)
    return Result(columns=columns, types=types, rows=rows[:cap], truncated=len(rows) > cap)


COPY_OPTIONS = {
    "parquet": "FORMAT parquet",
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
    "ndjson": "FORMAT json",
}


def copy_to(sql: str, params: Sequence[Any], target: Path, fmt: str, *, budget_ms: int) -> int:
    """Write the result of ``sql`` to ``target`` as ``fmt`` with DuckDB COPY; rows written."""
    options = COPY_OPTIONS[fmt]
    dest = "'" + str(target).replace("'", "''") + "'"
    with _running(budget_ms, "export") as cur, _in_duckdb():
        written = cur.execute(f"COPY ({sql}) TO {dest} ({options})", list(params)).fetchall()
    return int(written[0][0]) if written else 0


def stream(
    sql: str, params: Sequence[Any], *, batch: int = 5000, budget_ms: int
) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """Yield ``(columns, rows)`` batches of the result, for streamed downloads. A DuckDB place
    is held while the query starts, not while its client reads the batches; the time budget
    runs to the last batch, the request's account is charged for the fetching of every batch
    (DuckDB works on as they are fetched), and a client that leaves stops it."""
    with _place(budget_ms) as left_ms:
        cur = _cursor()
        budget = _Budget(cur, left_ms)
        budget.timer.start()
        began = time.monotonic()
        try:
            with calls.on_leave(cur.interrupt):
                if calls.left():
                    raise ClientLeft()
                with _in_duckdb():
                    rel = cur.execute(sql, list(params))
        except BaseException as exc:
            budget.timer.cancel()
            calls.spent(time.monotonic() - began)
            cur.close()
            if isinstance(exc, duckdb.Error):
                raise _gate_error(exc, budget, budget_ms, "export") from None
            raise
        calls.spent(time.monotonic() - began)  # the batches' reading: not in a place
    try:
        columns = [d[0] for d in rel.description or []]
        while True:
            # DuckDB streams the result: a scan goes on while the batches are fetched (most of
            # a heavy filter's work), so each fetch is charged to the request's account too
            # and stops when its client leaves
            began = time.monotonic()
            try:
                with calls.on_leave(cur.interrupt):
                    if calls.left():
                        raise ClientLeft()
                    chunk = rel.fetchmany(batch)
            finally:
                calls.spent(time.monotonic() - began)
            if not chunk:
                break
            yield columns, chunk
    except duckdb.Error as exc:
        raise _gate_error(exc, budget, budget_ms, "export") from None
    finally:
        budget.timer.cancel()
        cur.close()


# -- the row index (a SQLite serving copy of a version, see ``datatorg.lake.rowindex``) -------

_local = threading.local()
_MAX_OPEN = 16


def _index_db(path: Path) -> sqlite3.Connection:
    """A read-only connection to an index file, cached per thread. Index files never change,
    but one may be dropped and built again (``rowindex.drop``): a connection is kept only
    while the path still names the file it opened."""
    conns: dict[Path, tuple[sqlite3.Connection, int]] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    ino = os.stat(path).st_ino  # FileNotFoundError (an OSError): the caller falls back
    found = conns.get(path)
    if found is not None and found[1] == ino:
        return found[0]
    if found is not None:
        conns.pop(path)[0].close()
    if len(conns) >= _MAX_OPEN:
        conns.pop(next(iter(conns)))[0].close()
    db = sqlite3.connect(path.as_uri() + "?mode=ro&immutable=1", uri=True)
    conns[path] = (db, ino)
    return db


def query_index(
    path: Path, parts: Sequence[tuple[str, Sequence[Any]]], *, cap: int, budget_ms: int
) -> Result:
    """Run the ``parts`` (SQL, binds) on the row index at ``path`` in order, concatenating
    their rows until ``cap`` + 1 are found (one more tells whether there were more).

    SQLite works on them without the interpreter's lock (between calls of the progress
    handler), so the work is a wait of the request (``db.waits``), as DuckDB's is: a filter
    the index cannot narrow scans the whole copy. It stops when the time budget runs out or
    the request's client leaves (``db.calls``)."""
    try:
        db = _index_db(path)
    except OSError as exc:
        raise QueryFailed(f"row index unavailable: {exc.strerror}") from None
    deadline = time.monotonic() + budget_ms / 1000
    db.set_progress_handler(lambda: int(time.monotonic() > deadline or calls.left()), 10_000)
    rows: list[tuple[Any, ...]] = []
    columns: list[str] = []
    try:
        with waits.Wait() as wait:
            wait.begin()
            for sql, binds in parts:
                cur = db.execute(sql, list(binds))
                columns = columns or [d[0] for d in cur.description or []]
                rows += cur.fetchmany(cap + 1 - len(rows))
                cur.close()
                if len(rows) > cap:
                    break
    except sqlite3.OperationalError as exc:
        if calls.left():
            raise ClientLeft() from None
        if time.monotonic() > deadline:
            raise QueryTimeout(f"The query took longer than {budget_ms} ms") from None
        raise QueryFailed(str(exc).splitlines()[0][:300]) from None
    except sqlite3.Error as exc:
        raise QueryFailed(str(exc).splitlines()[0][:300]) from None
    finally:
        db.set_progress_handler(None, 0)
    return Result(columns=columns, types=[], rows=rows[:cap], truncated=len(rows) > cap)
