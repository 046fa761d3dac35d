"""The current request as the work below the web layer sees it: whether its client has left,
and whom its DuckDB time is charged to.

The web layer's admission (``web.admission``) makes a ``Call`` for each request it admits and
sets it in the context variable ``current`` before the application sees the request; context
variables follow the request into the threads it runs in (anyio copies the context), and a
``Call`` is one object shared by all of them. Outside a request (the command line, background
threads) there is none, and the functions below do nothing.

- **A client that leaves stops its query.** uvicorn does not cancel a request whose client
  has gone, and a slow DuckDB query (a heavy filter over millions of rows) would run on to its
  time budget, holding one of the process's few DuckDB places for nobody. The admission
  listens for the client's ``http.disconnect`` while the application works and calls
  ``Call.leave``; the lake's reader registers its cursor's interrupt with ``on_leave`` for the
  time the query runs, and asks ``left`` before it starts one.
- **DuckDB time is charged to the client** (``spent``): the gate sets the request's
  ``Spender`` (``access.spending``: an account per user, or per client address for the
  anonymous, refused with 429 while it is over its DuckDB seconds per minute), the reader
  asks it before a query (``check``) and charges it the time each query held its DuckDB
  place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

log = logging.getLogger(__name__)


class Spender(Protocol):
    """Whom a request's DuckDB time is charged to (callable from any thread)."""

    def check(self) -> None:
        """Raise (a 429) if the account may not start another DuckDB query now."""

    def spend(self, seconds: float) -> None: ...


class Call:
    """One request, for the work below the web layer (any thread)."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address  # the client's address (the key of an anonymous account)
        self.spender: Spender | None = None
        self._left = False
        self._calls: dict[int, Callable[[], None]] = {}
        self._next = 0
        self._lock = threading.Lock()

    @property
    def left(self) -> bool:
        return self._left

    def leave(self) -> None:
        """The client has gone: run what was registered to stop the request's work (once)."""
        with self._lock:
            if self._left:
                return
            self._left = True
            calls = list(self._calls.values())
        for call in calls:
            try:
                call()
            except Exception:  # e.g. a cursor closed as the client left: stop the others
                log.debug("stopping a call's work failed", exc_info=True)

    @contextmanager
    def on_leave(self, call: Callable[[], None]) -> Iterator[None]:
        """Run ``call`` if the client leaves inside the block (not if it left before: ask
        ``left`` after entering)."""
        with self._lock:
            self._next += 1
            key = self._next
            self._calls[key] = call
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(key, None)


current: ContextVar[Call | None] = ContextVar("datatorg_call", default=None)


def left() -> bool:
    """Whether the current request's client has gone (False outside a request)."""
    call = current.get()
    return call is not None and call.left


@contextmanager
def on_leave(callback: Callable[[], None]) -> Iterator[None]:
    """``Call.on_leave`` of the current request; nothing outside a request."""
    call = current.get()
    if call is None:
        yield
        return
    with call.on_leave(callback):
        yield


def check() -> None:
    """Raise if the current request's account may not start a DuckDB query now."""
    call = current.get()
    if call is not None and call.spender is not None:
        call.spender.check()


def spent(seconds: float) -> None:
    """Charge ``seconds`` of DuckDB time to the current request's account, if it has one."""
    call = current.get()
    if call is not None and call.spender is not None:
        call.spender.spend(seconds)
