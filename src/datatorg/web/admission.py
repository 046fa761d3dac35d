"""A few requests at work per worker; the others wait their turn in the order they came.

A worker process runs its requests' Python in threads that share one interpreter lock. With
every request admitted at once, 25 concurrent requests on a worker each get a 25th of it:
every request takes about 25 times its own work, the ones that make many database round
trips (each one gives up the lock and waits for it again) far longer, and a thread that holds
a database lock (SQLite's writer turn, PostgreSQL's audit head row) waits behind all of them
before it can commit and let go. Measured on two cores, 50 connections of mixed traffic
against two workers: p99 786 ms on SQLite and 876 ms on PostgreSQL.

So each worker lets at most ``limit`` requests (``DATATORG_REQUEST_CONCURRENCY``) do their
work at once; the others wait in a first-come, first-served queue on the event loop, which
costs nothing while they wait. A request then takes its queue wait, the same for all, plus
its own work: with 8 the same soaks measured p99 339–403 ms on SQLite and 508–540 ms on
PostgreSQL, at a fifth less CPU per request (docs/robust.md, "Under load"). The default is 4
since the waits for locks and for DuckDB step aside (below): in alternating 30 s soaks
PostgreSQL answered 12–15 % more requests than with 8, at a tenth less CPU each, and SQLite
as many.

A request holds its place while it does server work, never while it waits for its client or
for a lock held elsewhere:

- a body of at most ``PRELOAD_BYTES`` is read *before* the request queues, then handed to the
  application as it came; a client that sends its body slowly (or never) holds nothing;
- a larger or chunked body sent with ``POST``, ``PUT`` or ``PATCH`` (an upload) is not queued:
  it streams in as it always did, and its work (minutes of ingest for a large file, in a
  process of its own) must not hold a place the quick requests need. Any other method is
  queued whatever its headers say (a ``GET`` announcing a chunked body does not skip the
  line);
- a client that leaves while its request is queued takes its request with it (uvicorn does
  not cancel a request whose client left; the queue listens for it);
- the place is given back when the response starts (a download read slowly by its client, an
  event stream), and when the request has waited ``STEP_ASIDE_AFTER_S`` for a lock held
  elsewhere or for DuckDB (``datatorg.db.waits``: SQLite's writer turn, another thread
  committing its read's audit record, PostgreSQL's audit head row, a query DuckDB works on
  without the interpreter), after which it finishes without one;
- a client that leaves while its request is at work stops the request's DuckDB query: once
  the request's (small) body is read, the middleware listens for the client while the
  application works, and its ``http.disconnect`` calls ``db.calls.Call.leave`` of the
  request, which the lake's reader interrupts its cursor on (a query left to its time budget
  held one of the process's DuckDB places for nobody); the application hears the disconnect
  as before;
- ``/healthz`` and ``/readyz`` do not queue: a busy worker is alive, and a load balancer's
  probe must not time out behind its queue.

Its count of requests in hand goes on the workers' board, and a worker that queues while
it has more in hand than the others closes a keep-alive connection now and then, so that
its clients spread over the workers again (``datatorg.web.balance``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datatorg.db import calls, waits
from datatorg.web.balance import Board

PRELOAD_BYTES: Final = 64 * 1024
UPLOAD_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
# The health probes: never queued here, and answered without looking up their caller
# (``identity.deps.get_actor``).
PROBE_PATHS: Final = frozenset({"/healthz", "/readyz"})
# How long a request waits for a lock held elsewhere before its place goes on. Under load the
# SQLite writer turn is waited for at about a third of the requests: in a 30 s soak on two
# cores, 1,591 waits of median 27 ms, 90th percentile 92 ms, 99th 195 ms. Those keep their
# places (each one given away admits one more request past the bound); a turn held for
# seconds by another process does not.
STEP_ASIDE_AFTER_S: Final = 0.1


class Turns:
    """At most ``limit`` holders at once, the waiters served in arrival order (one per worker,
    used on its event loop only)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("at least one request must be able to run")
        self.limit = limit
        self.active = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiting if not f.done())

    @property
    def free(self) -> bool:
        return self.active < self.limit and not self._waiting

    async def acquire(self) -> None:
        if self.free:
            self.active += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn came as the request was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the place passes straight to the next in line
                return
        self.active -= 1


class _Place:
    """One admitted request's place, and the ``db.waits.Waiter`` of its request: given back
    once, by the middleware on the loop, or when a wait of the request outlasts
    ``STEP_ASIDE_AFTER_S`` (waits are marked from any thread)."""

    def __init__(self, turns: Turns, loop: asyncio.AbstractEventLoop) -> None:
        self._turns = turns
        self._loop = loop
        self._held = True
        self._lock = threading.Lock()
        self._waiting = 0  # waits under way (a wait may begin inside another)
        self._wait = 0  # which wait began last: a timer looks whether it is still the one

    def give_back(self) -> None:
        """On the loop: release the place if it is still held."""
        if self._held:
            self._held = False
            self._turns.release()

    def wait_began(self, at_once: bool = False) -> None:
        with self._lock:
            self._waiting += 1
            if self._waiting > 1:
                return  # the outer wait's timer runs
            self._wait += 1
            wait = self._wait
        try:
            self._loop.call_soon_threadsafe(self._time, wait, at_once)
        except RuntimeError:  # the loop is closed (the server stopped): no place to give on
            pass

    def wait_ended(self) -> None:
        with self._lock:
            self._waiting -= 1

    def _time(self, wait: int, at_once: bool) -> None:
        if not self._held:
            return
        if at_once:
            self._step_aside(wait)
        else:
            self._loop.call_later(STEP_ASIDE_AFTER_S, self._step_aside, wait)

    def _step_aside(self, wait: int) -> None:
        with self._lock:
            still = self._waiting > 0 and self._wait == wait
        if still:
            self.give_back()  # the place goes to the next in line


def _body(scope: Scope) -> int | None:
    """The body length to read before queuing (0: no body); None when the request's body is
    not read first: an upload (``UPLOAD_METHODS`` with a larger, chunked or unreadable length,
    which does not queue) or another method announcing such a body (which queues as it is)."""
    length = 0
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    if length < 0 or length > PRELOAD_BYTES:
        return None
    return length


class Admission:
    """ASGI middleware: each HTTP request waits for a ``Turns`` place before the application
    sees it (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limit: int, board: Board | None = None) -> None:
        self.app = app
        self.limit = limit
        self.turns: Turns | None = None  # made on the worker's loop at its first request
        # the requests in hand (queued or admitted, until their end), on the workers' board
        # when there is one (``datatorg.web.balance``)
        self.in_hand = 0
        self.board = board

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        length = _body(scope)
        if length is None and scope.get("method") in UPLOAD_METHODS:
            # an upload: see the module docstring. It is still a request whose DuckDB time is
            # charged to its client (``db.calls``): a query sent with a chunked or large body
            # (the CKAN search's POST) would otherwise run on no account at all
            call_token = calls.current.set(calls.Call(_address(scope)))
            try:
                await self.app(scope, receive, send)
            finally:
                calls.current.reset(call_token)
            return
        if self.turns is None:
            self.turns = Turns(self.limit)
        self._count(1)
        try:
            await self._admitted(scope, receive, send, self.turns, length)
        finally:
            self._count(-1)

    def _count(self, change: int) -> None:
        self.in_hand += change
        if self.board is not None:
            self.board.publish(self.in_hand)

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, turns: Turns, length: int | None
    ) -> None:
        client = _Client(receive)
        if length:
            if not await client.read_body():  # the client left before its body was whole
                await self.app(scope, client.receive, send)
                return
        if not turns.free and length is not None:
            if not await _queued(turns, client):
                return  # the client left while its request waited: nothing to answer
        else:
            await turns.acquire()
        place = _Place(turns, asyncio.get_running_loop())
        board = self.board
        call = calls.Call(_address(scope))
        if length is not None:  # the body is small: read it, then listen for the client
            if await client.read_body():
                client.watch(call.leave)
            else:
                call.leave()

        async def send_releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                place.give_back()
                if board is not None and board.should_close(self.in_hand, turns.waiting > 0):
                    headers = [*message.get("headers", ()), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        token = waits.current.set(place)
        call_token = calls.current.set(call)
        try:
            await self.app(scope, client.receive, send_releasing)
        finally:
            calls.current.reset(call_token)
            waits.current.reset(token)
            place.give_back()
            client.close()


def _address(scope: Scope) -> str | None:
    """The client's address (the key of an anonymous client's DuckDB account)."""
    client = scope.get("client")
    return str(client[0]) if client else None


async def _queued(turns: Turns, client: _Client) -> bool:
    """Wait for a place while listening to the client: False if it left first."""
    if not await client.read_body():  # a request without a body: its one empty message
        return False
    listening = client.listen()
    waiting = asyncio.ensure_future(turns.acquire())
    try:
        while True:
            either: set[asyncio.Future[Any]] = {waiting, listening}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if waiting.done():
                return True
            if listening.result()["type"] == "http.disconnect":
                waiting.cancel()
                try:
                    await waiting
                except asyncio.CancelledError:
                    pass
                return False
            listening = client.listen()  # not a disconnect (nothing else is sent): go on
    except BaseException:  # cancelled while queued (the server stops)
        waiting.cancel()
        client.close()
        raise


class _Client:
    """The client's side of one request: its body read up front when small, and what the
    queue heard from the client while the request waited, handed to the application in
    order."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._body: Message | None = None
        self._heard: asyncio.Future[Message] | None = None
        self._read = False

    async def read_body(self) -> bool:
        """Read the whole (small) body now; False if the client left first."""
        if self._read:
            return self._body is not None and self._body["type"] == "http.request"
        self._read = True
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                self._body = message
                return False
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self._body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                return True

    def listen(self) -> asyncio.Future[Message]:
        """The client's next message, listened for now (while the request is queued)."""
        self._heard = asyncio.ensure_future(self._receive())
        return self._heard

    def watch(self, on_leave: Callable[[], None]) -> None:
        """Listen for the client while the application works: ``on_leave`` when it has gone
        (the application hears the disconnect too, at its next ``receive``)."""

        def heard(message: asyncio.Future[Message]) -> None:
            if message.cancelled() or message.exception() is not None:
                return
            if message.result()["type"] == "http.disconnect":
                on_leave()

        listening = self._heard or self.listen()  # the queue may be listening already
        listening.add_done_callback(heard)

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return body
        if self._heard is not None:
            heard = self._heard
            # shielded: an application that stops listening (a cancelled ``receive``) leaves
            # the message for its next one, and the watch goes on
            message = await asyncio.shield(heard)
            if self._heard is heard:
                self._heard = None
            return message
        return await self._receive()

    def close(self) -> None:
        if self._heard is not None and not self._heard.done():
            self._heard.cancel()
