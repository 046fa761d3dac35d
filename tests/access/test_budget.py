"""The read path's time budget interrupts DuckDB; the row cap sets ``truncated``."""

from __future__ import annotations

import contextvars
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datatorg.db import calls, waits
from datatorg.lake import duck, reader
from tests.waiters import Marks


def test_time_budget_interrupts_a_long_query() -> None:
    started = time.monotonic()
    with pytest.raises(reader.QueryTimeout):
        reader.query(
            "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
            [],
            cap=1,
            budget_ms=200,
        )
    assert time.monotonic() - started < 30  # interrupted, not run to the end


def test_row_cap_fetches_one_more_to_flag_truncation() -> None:
    res = reader.query("SELECT * FROM range(50)", [], cap=10, budget_ms=5000)
    assert len(res.rows) == 10 and res.truncated is True
    res = reader.query("SELECT * FROM range(10)", [], cap=10, budget_ms=5000)
    assert len(res.rows) == 10 and res.truncated is False


def _marked(work: object) -> list[str]:
    waiter = Marks()

    def run() -> None:
        waits.current.set(waiter)
        work()  # type: ignore[operator]

    contextvars.copy_context().run(run)  # the waiter stays in this call's context
    return waiter.marks


def test_duckdb_work_is_a_wait_of_the_request(tmp_path: Path) -> None:
    """A query, an export and a stream each mark DuckDB's work as one wait of the request,
    ended when DuckDB is done, also when the time budget interrupts it: the admission lets
    the next request in line through while a slow query runs without the interpreter."""
    assert _marked(lambda: reader.query("SELECT 1", [], cap=1, budget_ms=5000)) == [
        "began",
        "ended",
    ]
    target = tmp_path / "out.csv"
    copied = _marked(
        lambda: reader.copy_to("SELECT * FROM range(3)", [], target, "csv", budget_ms=5000)
    )
    assert copied == ["began", "ended"] and target.read_text().count("\n") == 4

    def streamed() -> None:
        batches = list(reader.stream("SELECT * FROM range(7)", [], batch=3, budget_ms=5000))
        assert [len(rows) for _, rows in batches] == [3, 3, 1]

    assert _marked(streamed) == ["began", "ended"]

    def interrupted() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query(
                "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
                [],
                cap=1,
                budget_ms=200,
            )

    assert _marked(interrupted) == ["began", "ended"]


def _index(tmp_path: Path) -> Path:
    """A row index file (a SQLite serving copy) of a million rows."""
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE r (n INTEGER)")
    db.execute(
        "INSERT INTO r WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
        "WHERE n < 1000000) SELECT n FROM c"
    )
    db.commit()
    db.close()
    return path


# a scan the index cannot narrow, long enough for any budget below
SCAN = "SELECT count(*) FROM r a, r b WHERE a.n + b.n = 7"


def test_row_index_work_is_a_wait_of_the_request(tmp_path: Path) -> None:
    """A page from the row index is marked as one wait of the request, as DuckDB's work is
    (SQLite works without the interpreter's lock too), ended also when the time budget stops
    it."""
    path = _index(tmp_path)
    parts = [("SELECT n FROM r WHERE n <= ? ORDER BY n", [3])]
    marks = _marked(lambda: reader.query_index(path, parts, cap=10, budget_ms=5000))
    assert marks == ["began", "ended"]

    def interrupted() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query_index(path, [(SCAN, [])], cap=1, budget_ms=200)

    assert _marked(interrupted) == ["began", "ended"]


def test_a_row_index_scan_stops_when_the_client_leaves(tmp_path: Path) -> None:
    path = _index(tmp_path)
    call = calls.Call()
    outcome: list[float] = []

    def scan() -> None:
        started = time.monotonic()
        with pytest.raises(reader.ClientLeft):
            reader.query_index(path, [(SCAN, [])], cap=1, budget_ms=20_000)
        outcome.append(time.monotonic() - started)

    def run() -> None:
        calls.current.set(call)
        scan()

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,))
    thread.start()
    time.sleep(0.3)
    call.leave()
    thread.join(10)
    assert outcome and outcome[0] < 2  # not the 20 s budget


# -- the process's DuckDB places ------------------------------------------------------------


def test_places_serve_in_order_and_refuse_a_long_line() -> None:
    """At most ``size`` queries at once; the next wait in arrival order and the wait is
    marked to step aside at once; a line of twice the places is refused at once."""
    places = reader.Places(1)
    assert places.take(1)
    order: list[int] = []
    marks: list[list[str]] = []

    def waiter(n: int) -> None:
        def work() -> None:
            assert places.take(5)
            order.append(n)
            time.sleep(0.02)
            places.give()

        marks.append(_marked(work))

    threads = [threading.Thread(target=waiter, args=(n,)) for n in range(2)]
    for n, t in enumerate(threads):
        t.start()
        _until(lambda n=n: places.waiting == n + 1)
    started = time.monotonic()
    assert not places.take(5)  # two already wait for the one place: refused at once
    assert time.monotonic() - started < 1 and places.refused == 1
    places.give()
    for t in threads:
        t.join(5)
    assert order == [0, 1]
    assert marks == [["at once", "ended"], ["at once", "ended"]]
    assert places.busy == 0 and places.waiting == 0


def test_a_place_not_free_within_the_budget_is_refused() -> None:
    places = reader.Places(1)
    assert places.take(1)
    started = time.monotonic()
    assert not places.take(0.2)
    assert 0.15 < time.monotonic() - started < 2 and places.refused == 1
    assert places.waiting == 0
    places.give()
    assert places.take(0.1)  # the place is free again
    places.give()


def _until(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def one_place() -> Iterator[reader.Places]:
    """The process's DuckDB places, one of them (as ``DATATORG_DUCKDB_QUERIES=1``)."""
    before = duck.limits()
    duck.configure(
        memory_mb=before.memory_mb,
        threads=before.threads,
        temp_directory=before.temp_directory,
        queries=1,
    )
    try:
        yield reader.places()
    finally:
        duck.configure(
            memory_mb=before.memory_mb,
            threads=before.threads,
            temp_directory=before.temp_directory,
            queries=before.queries,
        )
        reader.places()


def test_queries_wait_for_a_duckdb_place_within_their_budget(
    one_place: reader.Places, tmp_path: Path
) -> None:
    """While a slow query holds the only place, another query, export or stream waits for it
    within its own time budget and is answered busy (503, ``Retry-After``) when the budget
    runs out in line; nothing runs past its budget, and the place is free afterwards."""
    assert one_place.size == 1
    slow_done = threading.Event()

    def slow() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query(
                "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
                [],
                cap=1,
                budget_ms=3000,
            )
        slow_done.set()

    holder = threading.Thread(target=slow)
    holder.start()
    _until(lambda: one_place.busy == 1)
    for attempt in (
        lambda: reader.query("SELECT 1", [], cap=1, budget_ms=200),
        lambda: reader.copy_to("SELECT 1", [], tmp_path / "x.csv", "csv", budget_ms=200),
        lambda: list(reader.stream("SELECT 1", [], budget_ms=200)),
    ):
        started = time.monotonic()
        with pytest.raises(reader.DuckDBBusy) as busy:
            attempt()
        assert 0.15 < time.monotonic() - started < 1.4
        assert busy.value.status == 503 and busy.value.headers() == {"Retry-After": "2"}
    assert not slow_done.is_set()  # refused while the slow query still ran
    holder.join(30)
    assert one_place.busy == 0 and one_place.waiting == 0
    assert reader.query("SELECT 41 + 1", [], cap=1, budget_ms=5000).rows == [(42,)]
