"""Single-statement reads straight on SQLite's driver, for the gate's hottest lookups.

Through an ORM session one small SELECT costs about 200 µs of Python (session and pool
bookkeeping, BEGIN, execution context, result objects) for a statement SQLite answers in
under 10 µs. A ``FastSelect`` is a Core SELECT compiled once for SQLite; ``first`` runs it on
a read-only connection that this thread keeps to the engine's database file, converting
parameters and results with the statement's own column types, so callers get the same
values as from a session.

Each call is its own transaction (autocommit), as a single SELECT is atomic anyway; reads
that must share a snapshot with other statements belong in a session. Only for SQLite files:
``reader_for`` returns None for other databases (and in-memory ones), and callers then use
their session.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.dialects import sqlite

_DIALECT = sqlite.dialect()
_local = threading.local()


class FastSelect:
    """A SELECT compiled once for SQLite, with its bind and result conversions."""

    def __init__(self, stmt: Select[Any]) -> None:
        compiled = stmt.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self.names: list[str] = list(compiled.positiontup or [])
        self._binds: dict[str, Callable[[Any], Any] | None] = {
            name: compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            for name in self.names
        }
        self._results: list[Callable[[Any], Any] | None] = [
            col.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
            for col in stmt.selected_columns
        ]

    def first(self, conn: sqlite3.Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``params``, converted as a session would, or None."""
        args = []
        for name in self.names:
            value, proc = params[name], self._binds[name]
            args.append(proc(value) if proc is not None and value is not None else value)
        row = conn.execute(self.sql, args).fetchone()
        if row is None:
            return None
        return tuple(
            proc(value) if proc is not None and value is not None else value
            for proc, value in zip(self._results, row, strict=True)
        )


def reader_for(engine: Engine) -> sqlite3.Connection | None:
    """This thread's read-only connection to ``engine``'s SQLite file; None for any other
    database (the caller then reads through its session)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    conns: dict[str, sqlite3.Connection] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(url.database)
    if conn is None:
        conn = sqlite3.connect(url.database, isolation_level=None, timeout=30)
        conn.execute("PRAGMA query_only=ON")
        conns[url.database] = conn
    return conn
