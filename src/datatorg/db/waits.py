"""A request that starts waiting for a lock held elsewhere steps aside.

The web layer admits a few requests per worker at once (``web.admission``). A request that
waits for SQLite's writer turn, or for another thread to commit its read's audit record, does
no work meanwhile; if it kept its place, a few such waits (another process holding the turn
for seconds) would stall every request of the worker, ``/healthz`` and pages that write
nothing included. So the admission sets, for each request it admits, a callback in this
context variable, and the code that is about to wait calls ``step_aside()``: the place goes to
the next request in line, and the waiting one finishes without one (the turn is held by one
at a time, so a worker goes over its bound by the few that were waiting).

Context variables follow a request into the threads it runs in (anyio copies the context), so
the call works from a handler's thread as from the event loop. Outside a request (the command
line, background threads) there is no callback and ``step_aside`` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

StepAside = Callable[[], None]

current: ContextVar[StepAside | None] = ContextVar("datatorg_step_aside", default=None)


def step_aside() -> None:
    """Give up this request's admission place, if it holds one (any thread; idempotent)."""
    callback = current.get()
    if callback is not None:
        callback()
