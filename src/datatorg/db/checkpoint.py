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
checkpoint waits for no reader or writer and holds no lock they need; when another worker's
checkpointer is at it, this one's attempt is simply skipped. The command line and the
tests keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("datatorg.db")

INTERVAL_S = 0.5


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
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.rounds += 1
        except sqlite3.Error as exc:  # another checkpointer at it, a database being replaced
            log.debug("WAL checkpoint skipped: %s", exc)
