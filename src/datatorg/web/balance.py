"""Keep-alive connections spread evenly over the workers.

Each worker accepts from a socket of its own (``datatorg.web.workers``), and the kernel
hashes every new connection to one of them. A client that keeps its connections open (an
API client, a reverse proxy's pool, a load test) keeps the split it got: 50 connections
opened at once came out 20/30, 21/29, 22/28, 23/27, 24/26 and 25/25 in six tries. Each worker
has a core's worth of work to give, so the one with 30 answers each of its requests about
a fifth later than an even split would, and those requests are the slowest tenth of all.

So the supervisor keeps a *board* (a small file mapped into every worker's memory) where
each worker writes how many requests it has in hand (at work and queued, as
``datatorg.web.admission`` counts them), and a worker where requests wait for a place while
it has ``MARGIN`` more in hand than the least busy worker answers one request at a time with
``Connection: close`` (at most one every ``CLOSE_EVERY_S``). That client connects again, and
the kernel hashes the new connection afresh: about half of them land on another worker, so
a 30/20 split evens out in about a second. Nothing is lost: the response is whole, and
HTTP/1.1 clients open a new connection for their next request. A worker that has no board
(a single worker, or uvicorn's own multi-process mode) never closes anything.

A worker that dies leaves its slot *absent* (the supervisor marks it) until its replacement
makes its app (``Board.of_worker``, which writes 0 there), so the others do not steer
connections towards its socket meanwhile.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import time
from typing import Final

BOARD_ENV: Final = "DATATORG_WORKER_BOARD"  # the board's file, set by the supervisor
SLOT_ENV: Final = "DATATORG_WORKER_SLOT"  # this worker's slot on it
ABSENT: Final = -1  # a slot whose worker has not started, or died
MARGIN: Final = 2  # requests in hand beyond the least busy worker's before a close
CLOSE_EVERY_S: Final = 0.05
_SLOT: Final = struct.Struct("i")


class Board:
    """Every worker's requests in hand, one 4-byte slot each, in a shared mapped file."""

    def __init__(self, path: str, slots: int, slot: int | None) -> None:
        self.path = path
        self.slots = slots
        self.slot = slot
        with open(path, "r+b") as fh:
            self._map = mmap.mmap(fh.fileno(), slots * _SLOT.size)
        self._last_close = 0.0

    def _whole(self) -> bool:
        """Whether the file still holds every slot: a mapped page past the end of a file cut
        short (truncated in the temp dir by someone) kills the process that touches it with
        SIGBUS, the supervisor included, so a board cut short is left alone."""
        try:
            return self._map.size() >= self.slots * _SLOT.size  # the file's size, now
        except (OSError, ValueError):
            return False

    @classmethod
    def create(cls, slots: int) -> Board:
        """The supervisor's board: every slot absent until its worker writes."""
        fd, path = tempfile.mkstemp(prefix="datatorg-workers-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_SLOT.pack(ABSENT) * slots)
        return cls(path, slots, None)

    @classmethod
    def of_worker(cls) -> Board | None:
        """This worker's board, from what its supervisor put in its environment; None when
        it has none (or the file is gone)."""
        path, slot = os.environ.get(BOARD_ENV), os.environ.get(SLOT_ENV)
        if not path or slot is None:
            return None
        try:
            size = os.path.getsize(path)
            board = cls(path, size // _SLOT.size, int(slot))
        except (OSError, ValueError):
            return None
        if board.slot is None or not 0 <= board.slot < board.slots:
            return None
        # present from now on, with nothing in hand: a worker whose slot stayed absent until
        # its first request would never be steered to, and one that no connection reaches
        # (all of them held by the others, as after a start or a replacement) never gets one
        board.publish(0)
        return board

    def env(self, slot: int) -> dict[str, str]:
        """What worker ``slot``'s environment needs to find its place here."""
        return {BOARD_ENV: self.path, SLOT_ENV: str(slot)}

    def read(self, slot: int) -> int:
        """Slot ``slot``'s count (``ABSENT`` when the board is cut short)."""
        if not self._whole():
            return ABSENT
        value: int = _SLOT.unpack_from(self._map, slot * _SLOT.size)[0]
        return value

    def write(self, slot: int, value: int) -> None:
        if self._whole():
            _SLOT.pack_into(self._map, slot * _SLOT.size, value)

    def publish(self, in_hand: int) -> None:
        """This worker's requests in hand, for the others to see."""
        if self.slot is not None:
            self.write(self.slot, in_hand)

    def should_close(self, in_hand: int, queueing: bool) -> bool:
        """Whether this worker, with ``in_hand`` requests and others waiting for a place
        (``queueing``), should close the connection of the response it is about to send.

        Requests in hand that wait for nobody (a slow download, a request that stepped
        aside) do not count as a queue. While any worker is absent (dead, its replacement
        starting) nothing is closed: a reconnecting client could be hashed to its socket
        and wait there for the replacement."""
        if self.slot is None or not queueing:
            return False  # nothing queues here: an uneven split costs nobody anything
        others = [self.read(i) for i in range(self.slots) if i != self.slot]
        if not others or ABSENT in others or in_hand < min(others) + MARGIN:
            return False
        now = time.monotonic()
        if now - self._last_close < CLOSE_EVERY_S:
            return False
        self._last_close = now
        return True

    def close(self) -> None:
        self._map.close()

    def remove(self) -> None:
        """The supervisor's end: the file goes (workers keep their mapping until they exit)."""
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
