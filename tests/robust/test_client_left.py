"""A client that leaves stops its request's DuckDB query (src/datatorg/db/calls.py).

uvicorn does not cancel a request whose client has gone; a slow query would run on to its
time budget, holding one of the process's DuckDB places for nobody. The admission listens
for the client's ``http.disconnect`` while the application works, and the lake's reader
interrupts the request's cursor (or takes it out of the line for a place).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

import pytest

from datatorg.db import calls
from datatorg.lake import reader
from datatorg.web.admission import Admission
from tests import aio
from tests.access.test_budget import _until, one_place  # noqa: F401 (a fixture)

SLOW = "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"


def test_a_client_that_leaves_stops_its_query() -> None:
    """Through the middleware: a request's handler runs a slow query in a worker thread
    (budget 20 s); its client disconnects 0.3 s in. The query is interrupted at once, its
    DuckDB place is free, and the handler hears the disconnect as before."""
    outcome: dict[str, Any] = {}

    def handler() -> None:
        started = time.monotonic()
        try:
            reader.query(SLOW, [], cap=1, budget_ms=20_000)
        except reader.ClientLeft as exc:
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"  # the body, as it came
        await asyncio.to_thread(handler)  # as anyio's thread pool: the context goes along
        outcome["heard"] = (await receive())["type"]

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        mw = Admission(app, limit=4)
        scope = {"type": "http", "method": "GET", "path": "/rows", "headers": []}

        async def send(message: Any) -> None:
            pass

        request = asyncio.create_task(mw(scope, inbox.get, send))
        await asyncio.sleep(0.3)
        assert reader.places().busy == 1
        inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(request, 5)

    aio.run(run())
    assert isinstance(outcome["error"], reader.ClientLeft)
    assert outcome["took"] < 2  # not the 20 s budget
    assert outcome["heard"] == "http.disconnect"
    assert reader.places().busy == 0


def _in_request(work: Any, call: calls.Call) -> threading.Thread:
    def run() -> None:
        calls.current.set(call)
        work()

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,))
    thread.start()
    return thread


def test_a_client_that_leaves_leaves_the_line_for_a_place(
    one_place: reader.Places,  # noqa: F811
) -> None:
    """A request waiting in line for the only DuckDB place leaves the line when its client
    leaves, and the next in line gets the place when it is free."""

    def slow() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query(SLOW, [], cap=1, budget_ms=1500)

    holder = threading.Thread(target=slow)
    holder.start()
    _until(lambda: one_place.busy == 1)
    leaving, staying = calls.Call(), calls.Call()
    outcome: dict[str, Any] = {}

    def waits_then_leaves() -> None:
        started = time.monotonic()
        with pytest.raises(reader.ClientLeft):
            reader.query("SELECT 1", [], cap=1, budget_ms=10_000)
        outcome["left after"] = time.monotonic() - started

    def waits() -> None:
        outcome["rows"] = reader.query("SELECT 2", [], cap=1, budget_ms=10_000).rows

    first = _in_request(waits_then_leaves, leaving)
    _until(lambda: one_place.waiting == 1)
    second = _in_request(waits, staying)
    _until(lambda: one_place.waiting == 2)
    time.sleep(0.1)
    leaving.leave()
    first.join(5)
    assert outcome["left after"] < 1  # while the slow query still holds the place
    holder.join(30)
    second.join(5)
    assert outcome["rows"] == [(2,)]
    assert one_place.busy == 0 and one_place.waiting == 0


def test_a_query_of_a_client_gone_before_it_began_does_not_run() -> None:
    """An interrupt before DuckDB begins a query is lost: the reader asks first."""
    call = calls.Call()
    call.leave()
    outcome: list[type[BaseException]] = []

    def work() -> None:
        started = time.monotonic()
        with pytest.raises(reader.ClientLeft) as left:
            reader.query(SLOW, [], cap=1, budget_ms=5000)
        assert time.monotonic() - started < 1
        outcome.append(left.type)

    _in_request(work, call).join(10)
    assert outcome == [reader.ClientLeft]
    assert reader.places().busy == 0


def test_a_client_that_leaves_stops_a_streamed_query() -> None:
    """``lake.reader.stream`` (the Excel download): most of a filter's work is done while its
    batches are fetched; a client that leaves then stops it too, not only while it starts."""
    sql = "SELECT i FROM range(100000000000) t(i) WHERE md5(i::VARCHAR) LIKE '%abc%'"
    call = calls.Call()
    outcome: dict[str, Any] = {}

    def download() -> None:
        started = time.monotonic()
        try:
            for _ in reader.stream(sql, [], batch=2000, budget_ms=20_000):
                outcome["batches"] = outcome.get("batches", 0) + 1
        except (reader.ClientLeft, reader.QueryTimeout) as exc:
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    context = contextvars.copy_context()
    context.run(calls.current.set, call)
    worker = threading.Thread(target=context.run, args=(download,))
    worker.start()
    deadline = time.monotonic() + 10
    while not outcome.get("batches") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outcome.get("batches"), "no batch within 10 s"
    call.leave()
    worker.join(30)
    assert isinstance(outcome.get("error"), reader.ClientLeft), outcome
    assert outcome["took"] < 15, outcome  # not the 20 s budget


def test_a_stop_that_fails_does_not_keep_the_others_from_running() -> None:
    """A cursor closed just as its client leaves raises on ``interrupt``: the other
    registered stops still run, and nothing escapes into the event loop's callback."""
    call = calls.Call()
    ran: list[str] = []

    def closed_cursor() -> None:
        raise RuntimeError("Connection already closed")

    with call.on_leave(closed_cursor), call.on_leave(lambda: ran.append("second")):
        call.leave()
    assert ran == ["second"] and call.left
