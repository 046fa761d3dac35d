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
PostgreSQL, at a fifth less CPU per request (docs/robust.md, "Under load").

A request holds its place while it does server work, never while it waits for its client:

- a body of at most ``PRELOAD_BYTES`` is read *before* the request queues, then handed to the
  application as it came; a client that sends its body slowly (or never) holds nothing;
- a larger or chunked body (an upload) is not queued at all: it streams in as it always did,
  and its work (minutes of ingest for a large file) must not hold a place the quick requests
  need;
- the place is given back when the response starts: a download read slowly by its client, or
  an event stream, goes on without one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRELOAD_BYTES: Final = 64 * 1024


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

    async def acquire(self) -> None:
        if self.active < self.limit and not self._waiting:
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


def _preload_length(scope: Scope) -> int | None:
    """The body length to read before queuing: 0 for no body, None when the body is not
    queued (larger than ``PRELOAD_BYTES``, chunked, or a length that is not a number)."""
    length: int | None = 0
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    if length is None or length < 0 or length > PRELOAD_BYTES:
        return None
    return length


class Admission:
    """ASGI middleware: each HTTP request waits for a ``Turns`` place before the application
    sees it (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.turns: Turns | None = None  # made on the worker's loop at its first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _preload_length(scope)
        if length is None:
            await self.app(scope, receive, send)
            return
        if length:
            receive, complete = await _preloaded(receive)
            if not complete:  # the client left before its body was whole: nothing to queue
                await self.app(scope, receive, send)
                return
        if self.turns is None:
            self.turns = Turns(self.limit)
        turns = self.turns
        await turns.acquire()
        held = True

        async def send_releasing(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                turns.release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            if held:
                turns.release()


async def _preloaded(receive: Receive) -> tuple[Receive, bool]:
    """Read the whole (small) body now; the returned ``receive`` hands it over in one message,
    then listens to the client as before (for a disconnect). False: the client left first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            first: Message = message  # the client left before its body was complete
            complete = False
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            complete = True
            break
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay, complete
