"""Group commit of read audit events: concurrent reads in one process share one transaction.

Every read's ``data.read`` event (and its agreement's usage metering) is committed before
the read's response is sent (DESIGN.md, invariant 6); what this module changes is how many
transactions that takes. A reading thread calls ``append``: its item joins a pending list;
if no batch is being written, that thread becomes the *leader*, takes every pending item
and writes them in its own request session (one head lock, one multi-row insert, the usage
upserts, one commit); the others (*followers*) wait until a leader has committed their item,
or raise if it could not be. A failed batch is written again read by read, so one bad item
fails only its own read. With one read at a time each read leads a batch of one, so no
background thread or connection of its own is needed.

The chain order is the commit order. One journal serves each database (keyed by the engine's
URL); processes do not share batches, they queue on the database's lock as before. Reads
answered on the event loop reach the journal through ``LoopBatcher``, one slot per loop
iteration.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session

from datatorg.access import ledger
from datatorg.audit import service as audit
from datatorg.db import waits, writes
from datatorg.db.base import utcnow
from datatorg.db.engine import engine_of
from datatorg.market import service as market


@dataclass(frozen=True)
class Disclosure:
    """Rows of a dataset that left under an agreement, and the subject keys they carried."""

    agreement_id: uuid.UUID
    dataset_id: uuid.UUID
    version: int
    channel: str
    rows: int
    subject_keys: frozenset[str]


@dataclass(frozen=True)
class Item:
    """One read to record: its audit event and, under an agreement, its usage: billed on its
    quota ``reservation`` (the rows it did not use are given back), or, without one, on
    ``agreement_id``."""

    event: audit.NewEvent
    agreement_id: uuid.UUID | None = None
    rows: int = 0
    nbytes: int = 0
    at: datetime = field(default_factory=utcnow)  # when the read was answered
    reservation: market.Reservation | None = None
    disclosure: Disclosure | None = None  # for the disclosure ledger (``WRITERS``)


Writer = Callable[[Session, Sequence[Item]], None]
# Records other domains keep of reads, written in the transaction of every batch, before its
# commit: privacy's disclosure ledger (``access/ledger.py``) writes the items whose
# ``disclosure`` is set. A writer that raises fails the batch, which is then written item
# by item (so only the read whose record failed fails).
WRITERS: list[Writer] = [ledger.write]


class BatchFailed(RuntimeError):
    """The batch holding this read's audit event was not committed."""


class _Slot:
    __slots__ = ("items", "done", "error")

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.done = False
        self.error: BaseException | None = None


Hook = Callable[[str, Sequence[Item]], None]


def write_batch(session: Session, items: Sequence[Item], *, wait_s: float | None = None) -> None:
    """Record ``items`` in one transaction of ``session`` and commit it (rolled back on error).

    The transaction is a write transaction from its start (``datatorg.db.writes``): on
    SQLite it waits its turn for the write lock (at most ``wait_s`` seconds, default the
    engine's bound; 0 only tries) instead of failing on a read-to-write upgrade, and raises
    ``WriteBusy`` when the turn did not come.
    """
    writes.begin(session, wait_s=wait_s)
    _write_batch(session, items)


def _write_batch(session: Session, items: Sequence[Item]) -> None:
    try:
        audit.append_rows(session=session, events=[i.event for i in items])
        reserved = [(i.reservation, i.rows, i.nbytes) for i in items if i.reservation]
        if reserved:
            market.bill_reads(session=session, reads=reserved)
        usage: dict[tuple[uuid.UUID, date], list[Any]] = {}
        for i in items:
            if i.agreement_id is not None and i.reservation is None:
                key = (i.agreement_id, i.at.astimezone(UTC).date())
                u = usage.setdefault(key, [i.at, 0, 0, 0])
                u[1], u[2], u[3] = u[1] + 1, u[2] + i.rows, u[3] + i.nbytes
        for (agreement_id, _day), (at, calls, rows, nbytes) in usage.items():
            market.record_usage(
                session=session,
                agreement_id=agreement_id,
                rows=rows,
                nbytes=nbytes,
                calls=calls,
                at=at,
            )
        for writer in WRITERS:
            writer(session, items)
        hook = _hook
        if hook is not None:
            hook("written", items)
        session.commit()
    except BaseException:
        session.rollback()
        raise


class Journal:
    """The pending items and the leader flag of one database in this process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._writing = False
        self.batch_sizes: deque[int] = deque(maxlen=10_000)  # committed batches, newest last

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def append(self, session: Session, item: Item) -> None:
        """Return once ``item`` is committed (by this thread or another); raise if it failed."""
        self.append_many(session, [item])

    def append_many(self, session: Session, items: Sequence[Item]) -> None:
        """Return once ``items`` are committed, in order, in one batch; raise if it failed."""
        session.commit()  # end this request's transaction: a waiting follower holds no lock
        slot = _Slot(items)
        with self._cond:
            self._pending.append(slot)
            with waits.Wait() as wait:
                if self._writing and not slot.done:
                    wait.begin()  # another thread writes: this request waits for it
                while self._writing and not slot.done:
                    self._cond.wait()
            if slot.done:
                _raise_for(slot)
                return
            self._writing = True
            batch, self._pending = self._pending, []
        error: BaseException | None = None
        alone: dict[int, BaseException | None] = {}  # slot id → its own outcome, if retried
        try:
            hook = _hook
            taken = [i for s in batch for i in s.items]
            if hook is not None:
                hook("taken", taken)
            try:
                write_batch(session, taken)
            except Exception:
                if len(batch) == 1:
                    raise
                alone = _one_by_one(session, batch)
        except BaseException as exc:
            error = exc
        finally:
            with self._cond:
                for s in batch:
                    s.done = True
                    s.error = alone.get(id(s), error) if s is not slot else None
                if error is None and not alone:
                    self.batch_sizes.append(len(batch))
                elif error is None:
                    self.batch_sizes.extend(1 for e in alone.values() if e is None)
                self._writing = False
                self._cond.notify_all()
        mine = alone.get(id(slot), error)
        if mine is not None:
            raise mine


def _one_by_one(session: Session, batch: Sequence[_Slot]) -> dict[int, BaseException | None]:
    """After a failed batch, write each slot's items in a transaction of their own, so one bad
    item (say, usage for an agreement deleted meanwhile) fails only its own read. The outcome
    of each slot, by ``id``: None when committed."""
    outcome: dict[int, BaseException | None] = {}
    for s in batch:
        try:
            write_batch(session, s.items)
            outcome[id(s)] = None
        except Exception as exc:
            outcome[id(s)] = exc
    return outcome


def _raise_for(slot: _Slot) -> None:
    if slot.error is not None:
        raise BatchFailed("the audit record of this read could not be committed") from slot.error


_hook: Hook | None = None  # tests: called as hook("taken"|"written", items) by the leader
_journals: dict[str, Journal] = {}
_journals_lock = threading.Lock()


def set_hook(hook: Hook | None) -> None:
    """Install (or remove, with None) a test hook the leader calls while writing a batch."""
    global _hook
    _hook = hook


def journal_for(session: Session) -> Journal:
    """The journal of the database ``session`` is bound to (one per database URL)."""
    key = engine_of(session).url.render_as_string(hide_password=True)
    with _journals_lock:
        found = _journals.get(key)
        if found is None:
            found = _journals[key] = Journal()
        return found


class WouldWait(RuntimeError):
    """On the event loop, another writer holds the database's write turn: the loop must not
    wait for it, so the caller redoes its work in a worker thread."""


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def append(session: Session, item: Item) -> None:
    """Record ``item`` durably before returning (see the module docstring).

    Called on the event loop (the rows API decides there on SQLite), the record is written at
    once if the write turn is free, else ``WouldWait`` is raised and nothing was written."""
    if _on_loop():
        session.commit()
        try:
            write_batch(session, [item], wait_s=0)
        except writes.WriteBusy:
            raise WouldWait("the write turn is taken; record this off the loop") from None
        return
    journal_for(session).append(session, item)


class LoopBatcher:
    """Group commit for reads answered on the event loop (the rows API's fast path).

    A request awaits ``append``; its item waits in a list until the flush, which runs once
    the reads already on the loop have had their turn, so the reads of one loop iteration
    share a batch. One flush at a time takes every waiting item and commits them: on the loop
    itself for a SQLite file when its write turn is free (a local commit of a fraction of a
    millisecond; a worker thread would wait longer than that for the GIL), else, and for a
    database across the network, as one slot of the process's ``Journal`` in a worker thread.
    Each awaiting request resumes when its batch is committed, or raises ``BatchFailed``.

    That thread waits for the write turn (at most the engine's bound) while the loop goes on;
    it is one thread per loop (one flush at a time) with a limiter of its own, so it is
    neither starved by nor starves the request thread pool.
    """

    def __init__(self, sessionmaker: Callable[[], Session], *, inline: bool) -> None:
        self._sessionmaker = sessionmaker
        self._inline = inline
        # each item with its request's admission waiter (None outside a request)
        self._pending: list[tuple[Item, asyncio.Future[None], waits.Waiter | None]] = []
        self._flushing = False
        self.batch_sizes: deque[int] = deque(maxlen=10_000)
        # The thread path has a thread of its own (one flush at a time): it never waits for a
        # token of the request thread pool, which writes waiting for their turn may fill.
        self._limiter: anyio.CapacityLimiter | None = None

    async def append(self, item: Item) -> None:
        """Return once ``item`` is committed; raise ``BatchFailed`` if its batch was not."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((item, done, waits.current.get()))
        if not self._flushing:
            self._flushing = True
            # A context of its own: the flush serves every request of its batch, not the one
            # whose append started it.
            loop.create_task(self._flush(), context=contextvars.Context())
        await asyncio.shield(done)  # a cancelled request does not cancel its batch

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                items = [item for item, _, _ in batch]
                try:
                    outcome = self._write_now(items) if self._inline else None
                    if outcome is None:
                        # The batch waits in a thread (for the writer turn, or behind another
                        # thread's batch): for its requests, a wait (``db.waits``).
                        waiters = [w for _, _, w in batch if w is not None]
                        for waiter in waiters:
                            waiter.wait_began()
                        try:
                            if self._limiter is None:
                                self._limiter = anyio.CapacityLimiter(1)
                            outcome = await anyio.to_thread.run_sync(
                                self._write, items, limiter=self._limiter
                            )
                        finally:
                            for waiter in waiters:
                                waiter.wait_ended()
                except Exception as exc:  # e.g. no session could be opened
                    outcome = [exc] * len(items)
                for (_, done, _), cause in zip(batch, outcome, strict=True):
                    if done.done():
                        continue
                    if cause is None:
                        done.set_result(None)
                    else:
                        failed = BatchFailed("the audit record of this read could not be committed")
                        failed.__cause__ = cause
                        done.set_exception(failed)
        finally:
            self._flushing = False

    def _write_now(self, items: Sequence[Item]) -> list[BaseException | None] | None:
        """On the loop: commit ``items`` if the write turn is free right now (a local commit
        of a fraction of a millisecond); None when it is taken or the batch failed, and the
        batch then goes to a worker thread, which waits its turn (and retries item by item).
        So another connection's write lock never stalls the loop."""
        try:
            with self._sessionmaker() as session:
                write_batch(session, items, wait_s=0)
        except Exception:
            return None
        self.batch_sizes.append(len(items))
        return [None] * len(items)

    def _write(self, items: Sequence[Item]) -> list[BaseException | None]:
        """Commit ``items`` as one slot; if that fails, each alone (one bad item fails only
        its own read). The outcome of each item: None when committed."""
        with self._sessionmaker() as session:
            j = journal_for(session)
            try:
                j.append_many(session, items)
                self.batch_sizes.append(len(items))
                return [None] * len(items)
            except Exception as exc:
                if len(items) == 1:
                    return [exc]
            outcome: list[BaseException | None] = []
            for item in items:
                try:
                    j.append_many(session, [item])
                    self.batch_sizes.append(1)
                    outcome.append(None)
                except Exception as exc:
                    outcome.append(exc)
            return outcome


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, LoopBatcher]] = (
    weakref.WeakKeyDictionary()
)


def loop_batcher(sessionmaker: Callable[[], Session]) -> LoopBatcher:
    """The batcher of this event loop for the database of ``sessionmaker`` (call on the loop)."""
    per_loop = _batchers.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(id(sessionmaker))
    if found is None or found._sessionmaker is not sessionmaker:
        with sessionmaker() as session:
            inline = engine_of(session).url.get_backend_name() == "sqlite"
        found = per_loop[id(sessionmaker)] = LoopBatcher(sessionmaker, inline=inline)
    return found
