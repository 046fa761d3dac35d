"""A request that waits long for a lock held elsewhere, or for DuckDB, steps aside.

The web layer admits a few requests per worker at once (``web.admission``). A request that
waits for SQLite's writer turn, or for another thread to commit its read's audit record, does
no work meanwhile; if it kept its place through a long wait (another process holding the turn
for seconds), a few such waits would stall every request of the worker, ``/healthz`` and
pages that write nothing included (on PostgreSQL every statement of a write transaction is
marked: it may wait for a row another session locked). A query DuckDB works on in threads of
its own (``lake.reader``) leaves the interpreter to the worker's other requests in the same
way, and a few slow ones (seconds of their time budget) would hold every place as well.

Giving the place up at *every* wait costs as much the other way: under load the writer turn
is taken at nearly every write for a few milliseconds, and each such wait would admit one
more request, past the bound that keeps the worker's requests quick (measured in 30 s soaks
on SQLite: p99 580 and 634 ms against 484 and 543 ms without stepping aside;
docs/performance.md).

So the code that is about to wait marks the wait (``Wait``: ``begin`` when it finds it must
wait, the end when it stops), and the admission, which sets a ``Waiter`` for each request it
admits in the context variable ``current``, gives the request's place to the next in line
only when a wait outlasts a threshold (``web.admission.STEP_ASIDE_AFTER_S``), or at once when
the caller knows its wait is long (a line of waiters ahead of it). The waiting
request then finishes without a place (the turn is held by one at a time, so a worker goes
over its bound by the few that waited long).

Context variables follow a request into the threads it runs in (anyio copies the context), so
a wait is marked alike from a handler's thread or the event loop. Outside a request (the
command line, background threads) there is no waiter and marking a wait does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from types import TracebackType
from typing import Protocol


class Waiter(Protocol):
    """What a request's admission is told of its waits (callable from any thread)."""

    def wait_began(self, at_once: bool = False) -> None: ...

    def wait_ended(self) -> None: ...


current: ContextVar[Waiter | None] = ContextVar("datatorg_waiter", default=None)


class Wait:
    """One wait of the current request, marked only once the caller finds it must wait:

    ``with Wait() as wait: ... wait.begin() ...``; ``begin`` may be called again (it counts
    once), and the wait ends with the block or at ``end``.
    """

    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: Waiter | None = None

    def begin(self, *, at_once: bool = False) -> None:
        """The caller must wait; ``at_once`` when it knows the wait is long (a line of
        waiters ahead of it): the place goes on without waiting for the threshold."""
        if self._waiter is None:
            waiter = current.get()
            if waiter is not None:
                self._waiter = waiter
                waiter.wait_began(at_once)

    def end(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.wait_ended()

    def __enter__(self) -> Wait:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.end()
