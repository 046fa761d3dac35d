"""WAL checkpoints of the embedded SQLite database, in a thread of their own.

SQLite appends every commit to its write-ahead log and, by default, copies the log back
into the database file (a *checkpoint*, with an fsync) inside whichever commit finds the log
over 1,000 pages. In the server that commit is usually a read's audit batch, committed on
the event loop (``access.journal.LoopBatcher``), or a write holding the writer turn: the
checkpoint then stalls every request of that worker, or every write of every worker. With
16 connections reading rows the log passed 1,000 pages every few seconds, and the p99 of
``/healthz`` on the same worker went from 19 to 36 ms (docs/robust.md).

So the server's connections turn the automatic checkpoint off (``make_engine(...,
background_checkpoints=True)``) and each worker runs ``Checkpointer``: a daemon thread that
asks for a passive checkpoint every ``INTERVAL_S``, on a connection of its own. A passive
checkpoint waits for no reader or writer and holds no lock they need (the one exception, a
log grown past ``RESTART_PAGES``, is below); when another worker's checkpointer is at it,
this one's attempt is simply skipped. The command line and the
tests keep SQLite's automatic checkpoints.

SQLite starts its log over only when a write transaction begins with every frame of it
checkpointed. Inside a commit that is so for the next writer; beside a stream of writes
that never pauses a checkpoint almost never finishes between two of them, and the log grew
by everything written (146 MB in a 60 s write soak, against 4 MB with SQLite's own
checkpoints). So once the log has ``RESTART_PAGES`` frames the checkpointer takes the
writer turn (``datatorg.db.writes``) for one more passive checkpoint: the next writer then
finds the log fully copied and starts it over. The turn is held for the frames written
since the last round only, in this thread, never on a request's path.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from datatorg.db import writes

log = logging.getLogger("datatorg.db")

INTERVAL_S = 0.5
RESTART_PAGES = 1000  # SQLite's own threshold for a checkpoint in a commit
TURN_WAIT_S = 1.0  # how long a checkpoint waits for the writer turn before it skips


class Checkpointer:
    """Passive checkpoints of the SQLite database at ``path`` every ``interval_s``."""

    def __init__(self, path: str, interval_s: float = INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self.rounds = 0  # checkpoints asked for (diagnostics, tests)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=0")
            while not self._stop.wait(self.interval_s):
                self.checkpoint(conn)
            self.checkpoint(conn)  # what the last interval wrote
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        frames = self._passive(conn)
        self.rounds += 1
        if frames < RESTART_PAGES:
            return
        # The log is long: copy the rest while no write can begin, so that the next one
        # starts the log over (see the module docstring).
        turn = writes.turn_for(self.path)
        if not turn.acquire(TURN_WAIT_S):
            return
        try:
            self._passive(conn)
        finally:
            turn.release()

    def _passive(self, conn: sqlite3.Connection) -> int:
        """One passive checkpoint; the number of frames in the log (0 when it failed)."""
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # another checkpointer at it, a database being replaced
            log.debug("WAL checkpoint skipped: %s", exc)
            return 0
        return int(row[1]) if row and row[1] is not None else 0
