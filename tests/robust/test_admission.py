"""A few requests at work per worker, the others in arrival order (src/datatorg/web/admission.py).

The middleware is driven with plain ASGI applications whose steps the test controls, so each
rule is checked where it can fail: the bound, the order, a place never held while the client is
sending, uploads not queued, the place given back at the response's start, on an error, and by
a request cancelled while it waits.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.types import Message

from datatorg.app import create_app
from datatorg.db import calls, waits, writes
from datatorg.lake import reader
from datatorg.settings import Settings
from datatorg.web.admission import (
    PRELOAD_BYTES,
    STEP_ASIDE_AFTER_S,
    Admission,
    Turns,
    _Place,
)
from datatorg.web.priority import PagesFirst
from tests import aio
from tests.robust.server import new_installation, serve
from tests.waiters import Marks


def _scope(method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": "/", "headers": headers or []}


class _Client:
    """One request's client side: a body sent when the test says, the messages it got."""

    def __init__(self, body: list[Message] | None = None) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        for message in body or [{"type": "http.request", "body": b"", "more_body": False}]:
            self.inbox.put_nowait(message)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def _ok(send: Callable[[Message], Awaitable[None]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _full(app: Any) -> Admission:
    """The middleware around ``app`` with its one place taken (on the running loop)."""
    mw = Admission(app, limit=1)
    mw.turns = Turns(1)
    await mw.turns.acquire()
    return mw


def test_turns_bound_and_order() -> None:
    async def run() -> None:
        turns = Turns(2)
        order: list[int] = []
        inside = 0
        most = 0
        gates = [asyncio.Event() for _ in range(6)]

        async def request(i: int) -> None:
            nonlocal inside, most
            await turns.acquire()
            order.append(i)
            inside += 1
            most = max(most, inside)
            await gates[i].wait()
            inside -= 1
            turns.release()

        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(request(i)))
            await _settle()
        assert order == [0, 1] and turns.waiting == 4
        for i in (1, 0, 2, 3, 4, 5):  # the ones at work finish out of order
            gates[i].set()
            await _settle()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4, 5]  # admitted in arrival order
        assert most == 2
        assert turns.active == 0 and turns.waiting == 0

    aio.run(run())


def test_a_request_cancelled_while_waiting_takes_no_place() -> None:
    async def run() -> None:
        turns = Turns(1)
        await turns.acquire()
        waiting = asyncio.create_task(turns.acquire())
        after = asyncio.create_task(turns.acquire())
        await _settle()
        waiting.cancel()
        await _settle()
        turns.release()  # the first holder leaves: the place goes to the next one still waiting
        await asyncio.wait_for(after, 1)
        assert turns.active == 1
        turns.release()
        assert turns.active == 0

    aio.run(run())


def test_a_request_cancelled_as_its_turn_came_passes_it_on() -> None:
    async def run() -> None:
        turns = Turns(1)
        await turns.acquire()
        first = asyncio.create_task(turns.acquire())
        second = asyncio.create_task(turns.acquire())
        await _settle()
        turns.release()  # the place is handed to ``first``...
        first.cancel()  # ...which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)  # so it went on to ``second``
        assert turns.active == 1

    aio.run(run())


def test_turns_refuse_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        Turns(0)


def test_middleware_bounds_requests_at_work() -> None:
    async def run() -> None:
        inside = 0
        most = 0
        release = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1
            await _ok(send)

        mw = Admission(app, limit=3)
        clients = [_Client() for _ in range(10)]
        tasks = [asyncio.create_task(mw(_scope(), c.receive, c.send)) for c in clients]
        await _settle()
        assert inside == 3
        release.set()
        await asyncio.gather(*tasks)
        assert most == 3
        assert all(c.sent[0]["status"] == 200 for c in clients)
        assert mw.turns is not None and mw.turns.active == 0

    aio.run(run())


def test_a_slow_client_body_holds_no_place() -> None:
    """A small body is read before the request queues: a client that never finishes sending
    its body does not keep the next request waiting."""

    async def run() -> None:
        bodies: list[bytes] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            message = await receive()
            bodies.append(message["body"])
            assert message["more_body"] is False
            await _ok(send)

        mw = Admission(app, limit=1)
        slow = _Client([{"type": "http.request", "body": b'{"na', "more_body": True}])
        headers = [(b"content-length", b"20")]
        stalled = asyncio.create_task(mw(_scope("POST", headers), slow.receive, slow.send))
        await _settle()
        quick = _Client()
        await asyncio.wait_for(mw(_scope(), quick.receive, quick.send), 1)
        assert quick.sent[0]["status"] == 200
        assert not stalled.done() and mw.turns is not None and mw.turns.active == 0
        # the rest of the body arrives: the application gets it whole, in one message
        slow.inbox.put_nowait({"type": "http.request", "body": b'me": "x"}', "more_body": False})
        await asyncio.wait_for(stalled, 1)
        assert bodies == [b"", b'{"name": "x"}']  # the quick GET's empty body came first

    aio.run(run())


def test_after_the_body_the_client_is_heard_as_before() -> None:
    async def run() -> None:
        heard: list[Message] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            heard.append(await receive())
            heard.append(await receive())  # a streaming response listens for a disconnect
            await _ok(send)

        client = _Client(
            [
                {"type": "http.request", "body": b"abc", "more_body": False},
                {"type": "http.disconnect"},
            ]
        )
        headers = [(b"content-length", b"3")]
        await asyncio.wait_for(
            Admission(app, limit=1)(_scope("POST", headers), client.receive, client.send), 1
        )
        assert heard == [
            {"type": "http.request", "body": b"abc", "more_body": False},
            {"type": "http.disconnect"},
        ]

    aio.run(run())


def test_a_client_gone_before_its_body_is_whole_is_not_queued() -> None:
    async def run() -> None:
        seen: list[Message] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(await receive())

        mw = await _full(app)  # its one place is taken
        client = _Client(
            [
                {"type": "http.request", "body": b"ab", "more_body": True},
                {"type": "http.disconnect"},
            ]
        )
        headers = [(b"content-length", b"10")]
        await asyncio.wait_for(mw(_scope("POST", headers), client.receive, client.send), 1)
        assert seen == [{"type": "http.disconnect"}]

    aio.run(run())


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", str(PRELOAD_BYTES + 1).encode())],
        [(b"transfer-encoding", b"chunked")],
        [(b"content-length", b"many")],
    ],
    ids=["large", "chunked", "not-a-number"],
)
def test_uploads_do_not_queue(headers: list[tuple[bytes, bytes]]) -> None:
    async def run() -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await _ok(send)

        mw = await _full(app)  # its one place is taken
        client = _Client()
        await asyncio.wait_for(mw(_scope("POST", headers), client.receive, client.send), 1)
        assert client.sent[0]["status"] == 200
        assert mw.turns.active == 1  # it neither took nor gave back a place

    aio.run(run())


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", str(PRELOAD_BYTES + 1).encode())],
        [(b"transfer-encoding", b"chunked")],
    ],
    ids=["large", "chunked"],
)
def test_an_upload_is_still_a_call_charged_to_its_client(
    headers: list[tuple[bytes, bytes]],
) -> None:
    """A request that skips the line (a POST with a chunked or large body) still runs as a
    ``db.calls.Call`` of its client: the CKAN search's POST sent chunked ran its DuckDB
    queries on no account, past DATATORG_DUCKDB_SECONDS_PER_MINUTE (40 of 40 answered where
    the same body with a length was refused 38 times)."""
    seen: list[Any] = []

    async def run() -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(calls.current.get())
            await _ok(send)

        mw = Admission(app, limit=1)
        client = _Client()
        scope = _scope("POST", headers) | {"client": ("192.0.2.7", 40000)}
        await asyncio.wait_for(mw(scope, client.receive, client.send), 1)

    aio.run(run())
    assert seen and seen[0] is not None and seen[0].address == "192.0.2.7"
    assert calls.current.get() is None  # not left behind


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", str(PRELOAD_BYTES + 1).encode())],
        [(b"transfer-encoding", b"chunked")],
    ],
    ids=["large", "chunked"],
)
@pytest.mark.parametrize("method", ["GET", "DELETE", "OPTIONS"])
def test_only_uploads_skip_the_line(method: str, headers: list[tuple[bytes, bytes]]) -> None:
    """A request of a method that uploads nothing queues whatever body it announces (60 such
    GETs once ran at once past a bound of 2)."""

    async def run() -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await _ok(send)

        mw = await _full(app)  # its one place is taken
        client = _Client()
        task = asyncio.create_task(mw(_scope(method, headers), client.receive, client.send))
        await _settle()
        assert not task.done() and mw.turns.waiting == 1
        mw.turns.release()
        await asyncio.wait_for(task, 1)
        assert client.sent[0]["status"] == 200 and mw.turns.active == 0

    aio.run(run())


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_do_not_queue(path: str) -> None:
    async def run() -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await _ok(send)

        mw = await _full(app)  # its one place is taken
        client = _Client()
        await asyncio.wait_for(mw(_scope() | {"path": path}, client.receive, client.send), 1)
        assert client.sent[0]["status"] == 200 and mw.turns.active == 1

    aio.run(run())


@pytest.mark.parametrize("body", [b"", b'{"name": "x"}'], ids=["no-body", "small-body"])
def test_a_client_gone_while_queued_takes_its_request_along(body: bytes) -> None:
    """uvicorn does not cancel a request whose client left; the queue hears the disconnect and
    the request never reaches the application (300 abandoned requests once kept /healthz
    waiting 9.6 s)."""

    async def run() -> None:
        ran: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            ran.append(scope["method"])
            await _ok(send)

        mw = await _full(app)  # its one place is taken
        method = "POST" if body else "GET"
        headers = [(b"content-length", str(len(body)).encode())] if body else []
        client = _Client([{"type": "http.request", "body": body, "more_body": False}])
        task = asyncio.create_task(mw(_scope(method, headers), client.receive, client.send))
        await _settle()
        assert mw.turns.waiting == 1
        client.inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(task, 1)
        assert ran == [] and client.sent == []
        assert mw.turns.waiting == 0 and mw.turns.active == 1  # only the place taken above
        mw.turns.release()
        assert mw.turns.active == 0

    aio.run(run())


def test_a_queued_request_hears_its_client_after_its_turn() -> None:
    """What the queue listened for while the request waited reaches the application in order:
    the body first, then the client's next message."""

    async def run() -> None:
        heard: list[Message] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            heard.append(await receive())
            await _ok(send)
            heard.append(await receive())

        mw = await _full(app)  # its one place is taken
        client = _Client([{"type": "http.request", "body": b"", "more_body": False}])
        task = asyncio.create_task(mw(_scope(), client.receive, client.send))
        await _settle()
        mw.turns.release()
        await _settle()
        client.inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(task, 1)
        assert heard == [
            {"type": "http.request", "body": b"", "more_body": False},
            {"type": "http.disconnect"},
        ]
        assert mw.turns.active == 0

    aio.run(run())


async def _write_then_read(
    work: Callable[[], None],
) -> tuple[Admission, list[str], asyncio.Task[None], asyncio.Task[None]]:
    """A worker admitting one request: ``/write`` runs ``work`` in a thread (where it marks
    its waits), then ``/read`` arrives and queues. The paths are listed as they finish."""
    order: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/write":
            await asyncio.to_thread(work)
        order.append(scope["path"])
        await _ok(send)

    mw = Admission(app, limit=1)
    writer, reader = _Client(), _Client()
    writing = asyncio.create_task(mw(_scope() | {"path": "/write"}, writer.receive, writer.send))
    await asyncio.sleep(0.01)
    reading = asyncio.create_task(mw(_scope() | {"path": "/read"}, reader.receive, reader.send))
    return mw, order, writing, reading


def test_a_request_waiting_long_for_a_lock_steps_aside() -> None:
    """A request whose wait for a lock held elsewhere (``db.waits.Wait``, marked from its
    handler's thread) outlasts ``STEP_ASIDE_AFTER_S`` gives its place to the next in line and
    finishes without one; the place is given back once however often the wait is marked."""
    locked = threading.Event()

    def waits_for_the_lock() -> None:
        with waits.Wait() as wait:
            wait.begin()
            wait.begin()
            with waits.Wait() as inner:  # a wait inside the wait (the turn, then flock)
                inner.begin()
                assert locked.wait(5)

    async def run() -> None:
        mw, order, writing, reading = await _write_then_read(waits_for_the_lock)
        await asyncio.sleep(STEP_ASIDE_AFTER_S / 2)
        assert order == [], "the place went on before the wait outlasted the threshold"
        await asyncio.wait_for(reading, 2)
        assert order == ["/read"] and not writing.done()
        locked.set()
        await asyncio.wait_for(writing, 5)
        assert order == ["/read", "/write"]
        assert mw.turns is not None and mw.turns.active == 0 and mw.turns.waiting == 0

    aio.run(run())


def test_a_short_wait_keeps_the_place() -> None:
    """Waits shorter than the threshold, one after another (the writer turn under load, taken
    for a few milliseconds at each write), keep the request's place: the next in line waits
    until the request is done, and the worker stays within its bound."""

    def short_waits() -> None:
        for _ in range(4):
            with waits.Wait() as wait:
                wait.begin()
                time.sleep(STEP_ASIDE_AFTER_S / 4)
        time.sleep(STEP_ASIDE_AFTER_S)  # work after the waits, past every timer

    async def run() -> None:
        mw, order, writing, reading = await _write_then_read(short_waits)
        await asyncio.wait_for(asyncio.gather(writing, reading), 5)
        assert order == ["/write", "/read"]
        assert mw.turns is not None and mw.turns.active == 0

    aio.run(run())


def test_a_wait_known_to_be_long_steps_aside_at_once() -> None:
    """A wait begun ``at_once`` (a line of writers ahead) gives the place on without waiting
    for the threshold: with many writes queued, a look-up no longer waits a threshold per
    group of them."""
    locked = threading.Event()

    def waits_behind_a_line() -> None:
        with waits.Wait() as wait:
            wait.begin(at_once=True)
            assert locked.wait(5)

    async def run() -> None:
        mw, order, writing, reading = await _write_then_read(waits_behind_a_line)
        await asyncio.wait_for(reading, STEP_ASIDE_AFTER_S / 2)
        assert order == ["/read"] and not writing.done()
        locked.set()
        await asyncio.wait_for(writing, 5)
        assert mw.turns is not None and mw.turns.active == 0

    aio.run(run())


def test_a_slow_duckdb_query_steps_aside() -> None:
    """DuckDB works on a query in threads of its own, without the interpreter's lock
    (``lake.reader``): a query that outlasts the threshold lets the next request in line
    through, as a long wait for a lock does. A few slow queries no longer hold every place of
    their worker until their time budget runs out."""

    def slow_query() -> None:
        with pytest.raises(reader.QueryTimeout):
            reader.query(
                "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3",
                [],
                cap=1,
                budget_ms=1500,
            )

    async def run() -> None:
        mw, order, querying, reading = await _write_then_read(slow_query)
        await asyncio.wait_for(reading, 1.0)  # not after the query's 1.5 s
        assert order == ["/read"] and not querying.done()
        await asyncio.wait_for(querying, 30)
        assert order == ["/read", "/write"]
        assert mw.turns is not None and mw.turns.active == 0 and mw.turns.waiting == 0

    aio.run(run())


def test_a_write_blocked_by_another_transaction_steps_aside(engine: Engine) -> None:
    """A write whose statement waits for a lock another transaction holds gives its place on:
    on PostgreSQL a row lock (``db.writes.install_postgresql`` marks every statement of a
    write transaction), on SQLite the writer turn. Four writes blocked behind an operator's
    open transaction had held every place of a worker admitting four."""
    name = f"lock_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.exec_driver_sql(f"INSERT INTO {name} (id, n) VALUES (1, 0)")
    bump = text(f"UPDATE {name} SET n = n + 1 WHERE id = 1")
    factory = writes.write_sessionmaker(engine)
    holder = factory()

    def blocked_write() -> None:
        with factory() as s:
            s.execute(bump)
            s.commit()

    async def run() -> None:
        holder.execute(bump)  # the row (PostgreSQL) or the writer turn (SQLite) is held
        mw, order, writing, reading = await _write_then_read(blocked_write)
        try:
            await asyncio.wait_for(reading, 1.0)
            assert order == ["/read"] and not writing.done()
        finally:
            holder.commit()  # also when it failed: the blocked write's thread may end
        await asyncio.wait_for(writing, 10)
        assert order == ["/read", "/write"]
        assert mw.turns is not None and mw.turns.active == 0

    try:
        aio.run(run())
        with engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT n FROM {name}").scalar() == 2
    finally:
        holder.close()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {name}")


def test_only_write_statements_are_marked_on_postgresql(engine: Engine) -> None:
    """Each statement of a write transaction on PostgreSQL is one wait, ended also when it
    fails; a read transaction's statements are none (readers wait for no writer). On
    SQLite a statement is none either: the writer turn, taken before, is the lock."""
    writing, reading = Marks(), Marks()
    token = waits.current.set(writing)
    try:
        with writes.write_sessionmaker(engine)() as s:
            s.execute(text("SELECT 1"))
            with pytest.raises(DBAPIError):
                s.execute(text("SELECT * FROM no_such_table_here"))
            s.rollback()
        waits.current.set(reading)
        with Session(engine) as s:
            s.execute(text("SELECT 1"))
    finally:
        waits.current.reset(token)
    postgres = engine.dialect.name == "postgresql"
    assert writing.marks == (["began", "ended"] * 2 if postgres else [])
    assert reading.marks == []


def test_a_wait_marked_after_the_loop_closed_raises_nothing() -> None:
    """A thread may still mark a wait once the server's loop is closed: nothing to give on."""
    loop = asyncio.new_event_loop()
    place = _Place(Turns(1), loop)
    loop.close()
    place.wait_began()
    place.wait_began(at_once=True)
    place.wait_ended()
    place.wait_ended()


def test_marking_a_wait_outside_a_request_does_nothing() -> None:
    with waits.Wait() as wait:  # the command line, background threads: no place, no error
        wait.begin()


def test_the_place_is_given_back_when_the_response_starts() -> None:
    async def run() -> None:
        more = asyncio.Event()

        async def streaming(scope: Any, receive: Any, send: Any) -> None:
            if scope["path"] == "/stream":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"a", "more_body": True})
                await more.wait()  # a client reading slowly
                await send({"type": "http.response.body", "body": b"b"})
            else:
                await _ok(send)

        mw = Admission(streaming, limit=1)
        stream = _Client()
        streaming_task = asyncio.create_task(
            mw(_scope() | {"path": "/stream"}, stream.receive, stream.send)
        )
        await _settle()
        quick = _Client()
        await asyncio.wait_for(mw(_scope(), quick.receive, quick.send), 1)
        assert quick.sent[0]["status"] == 200 and not streaming_task.done()
        more.set()
        await asyncio.wait_for(streaming_task, 1)
        assert mw.turns is not None and mw.turns.active == 0

    aio.run(run())


def test_an_error_gives_the_place_back() -> None:
    async def run() -> None:
        async def failing(scope: Any, receive: Any, send: Any) -> None:
            raise RuntimeError("boom")

        mw = Admission(failing, limit=1)
        for _ in range(3):  # with the place lost, the second would wait for ever
            client = _Client()
            with pytest.raises(RuntimeError):
                await asyncio.wait_for(mw(_scope(), client.receive, client.send), 1)
        assert mw.turns is not None and mw.turns.active == 0

    aio.run(run())


def test_other_scopes_pass() -> None:
    async def run() -> None:
        seen: list[str] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])

        mw = await _full(app)  # its one place is taken
        await asyncio.wait_for(mw({"type": "lifespan"}, _Client().receive, _Client().send), 1)
        assert seen == ["lifespan"]

    aio.run(run())


def test_the_app_admits_through_its_setting(settings: Settings) -> None:
    """The application is built with the middleware outermost of its own (only the framework's
    handlers of unhandled errors are outside it), at the configured bound."""
    app = create_app(settings.model_copy(update={"request_concurrency": 3}))
    layers: list[Any] = []
    layer: Any = app.build_middleware_stack()
    while layer is not None and layer is not app.router:
        layers.append(layer)
        layer = getattr(layer, "app", None)
    ours = [type(x) for x in layers if type(x).__module__.startswith("datatorg.")]
    assert ours[:2] == [Admission, PagesFirst]
    admission = next(x for x in layers if isinstance(x, Admission))
    assert admission.limit == 3


def test_clients_that_never_finish_their_body_do_not_stall_a_live_worker(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Slowloris against one worker admitting two requests at once: six clients announce a
    small JSON body and send a byte of it; the worker still answers everyone else."""
    inst = new_installation(tmp_path_factory.mktemp("admission"), None, "admission")
    with serve(inst, workers=1, DATATORG_REQUEST_CONCURRENCY="2") as server:
        host, port = server.url.removeprefix("http://").split(":")
        stalled = []
        try:
            for _ in range(6):
                sock = socket.create_connection((host, int(port)), timeout=10)
                sock.sendall(
                    b"POST /api/v1/me/tokens HTTP/1.1\r\nHost: t\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                )
                stalled.append(sock)
            for _ in range(5):
                assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
                assert httpx.get(server.url + "/api/v1/datasets", timeout=10).status_code == 200
        finally:
            for sock in stalled:
                sock.close()


def test_writes_waiting_for_the_writer_turn_do_not_stall_a_live_worker(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Another process holds SQLite's writer turn for 4 s (as another worker or the command
    line may); three token creations wait for it on a worker admitting two requests at once.
    They step aside: a catalog look-up that writes nothing answers meanwhile, and the writes
    succeed once the turn is free."""
    import fcntl

    from sqlalchemy.engine import make_url

    from datatorg.db.engine import make_engine
    from datatorg.db.writes import write_sessionmaker
    from datatorg.identity import service as identity

    inst = new_installation(tmp_path_factory.mktemp("admission-turn"), None, "turn")
    engine = make_engine(inst.database_url)
    try:
        with write_sessionmaker(engine)() as s:
            user = identity.create_user(
                session=s, email="vent@example.no", display_name="Vent", password=None
            )
            token, _ = identity.create_token(session=s, user=user, name="turn")
            s.commit()
    finally:
        engine.dispose()
    database = make_url(inst.database_url).database
    assert database
    results: dict[str, tuple[int, float]] = {}

    def create(i: int) -> None:
        t0 = time.monotonic()
        resp = httpx.post(
            f"{url}/api/v1/me/tokens",
            json={"name": f"vent {i}", "days": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        results[f"write {i}"] = (resp.status_code, time.monotonic() - t0)

    with serve(inst, workers=1, DATATORG_REQUEST_CONCURRENCY="2") as server:
        url = server.url
        assert httpx.get(url + "/api/v1/datasets", timeout=30).status_code == 200  # warm
        with open(database + "-write.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            held = time.monotonic()
            writers = [threading.Thread(target=create, args=(i,)) for i in range(3)]
            for w in writers:
                w.start()
            time.sleep(0.5)  # the writes are waiting for the turn
            t0 = time.monotonic()
            look_up = httpx.get(url + "/api/v1/datasets", timeout=30)
            answered = time.monotonic() - t0
            still_held = time.monotonic() - held < 4
            time.sleep(max(0.0, 4 - (time.monotonic() - held)))
            fcntl.flock(lock, fcntl.LOCK_UN)
        for w in writers:
            w.join(timeout=60)
    assert look_up.status_code == 200
    assert still_held and answered < 2, answered  # not after the 4 s the turn was held
    assert sorted(status for status, _ in results.values()) == [201, 201, 201], results
