"""Single-statement reads straight on the database driver, for the gate's hottest lookups.

Through an ORM session one small SELECT costs about 200 µs of Python (session and pool
bookkeeping, execution context, result objects) and, on PostgreSQL, four round trips (the
pool's ping, BEGIN, the SELECT, COMMIT) for a statement the database answers in a few
microseconds. A ``FastSelect`` is a Core SELECT compiled once per dialect; ``first`` runs it
on a driver connection in autocommit mode from ``reader``, converting parameters and results
with the statement's own column types, so callers get the same values as from a session.

Each call is its own transaction, as a single SELECT is atomic anyway; reads that must share
a snapshot with other statements belong in a session. ``reader`` gives:

- for a SQLite file, a read-only connection this thread keeps;
- for PostgreSQL, a connection borrowed from a small pool of this process
  (``POOL_SIZE``; when all are lent, None);
- for anything else (in-memory SQLite), None.

On None, or ``Unavailable`` (a broken connection, dropped from the pool), callers read
through their session instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect

POOL_SIZE = 8  # PostgreSQL connections per process for these reads

_local = threading.local()
_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


class Unavailable(Exception):
    """The driver connection failed; read through a session instead."""


@dataclass(frozen=True)
class Reader:
    dialect: Dialect
    conn: Any  # a DB-API connection in autocommit mode


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: list[str]
    positional: bool
    binds: dict[str, Callable[[Any], Any] | None]
    results: list[Callable[[Any], Any] | None]


class FastSelect:
    """A SELECT compiled once per dialect, with its bind and result conversions."""

    def __init__(self, stmt: Select[Any]) -> None:
        self._stmt = stmt
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._stmt.compile(dialect=dialect)
            names = list(compiled.positiontup or compiled.binds)
            found = self._compiled[dialect.name] = _Compiled(
                sql=str(compiled),
                names=names,
                positional=bool(compiled.positional),
                binds={
                    n: compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect)
                    for n in names
                },
                results=[
                    col.type.dialect_impl(dialect).result_processor(dialect, None)
                    for col in self._stmt.selected_columns
                ],
            )
        return found

    def first(self, reader: Reader, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``params``, converted as a session would, or None."""
        c = self._for(reader.dialect)
        values = {}
        for name in c.names:
            value, proc = params[name], c.binds[name]
            values[name] = proc(value) if proc is not None and value is not None else value
        args: Any = [values[n] for n in c.names] if c.positional else values
        try:
            cur = reader.conn.cursor()
            try:
                cur.execute(c.sql, args)
                row = cur.fetchone()
            finally:
                cur.close()
        except Exception as exc:
            dbapi = reader.dialect.loaded_dbapi
            if isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError)):
                raise Unavailable(str(exc).splitlines()[0][:200]) from exc
            raise
        if row is None:
            return None
        return tuple(
            proc(value) if proc is not None and value is not None else value
            for proc, value in zip(c.results, row, strict=True)
        )


@contextmanager
def reader(engine: Engine) -> Iterator[Reader | None]:
    """A driver connection for one ``FastSelect`` (see the module docstring), or None."""
    url = engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            yield None
        else:
            yield Reader(engine.dialect, _sqlite(url.database))
        return
    if backend != "postgresql":
        yield None
        return
    key = url.render_as_string(hide_password=True)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = _Pool(engine)
    conn = pool.take()
    if conn is None:
        yield None
        return
    try:
        yield Reader(engine.dialect, conn)
    except Unavailable:
        pool.drop(conn)
        raise
    except BaseException:
        pool.give(conn)
        raise
    else:
        pool.give(conn)


def close_pools() -> None:
    """Close the idle PostgreSQL connections of every pool and forget the pools (tests, and
    before a process forks)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close_idle()


def _sqlite(path: str) -> sqlite3.Connection:
    conns: dict[str, sqlite3.Connection] | None = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(path)
    if conn is None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=True)
        conn.execute("PRAGMA query_only=ON")
        conns[path] = conn
    return conn


class _Pool:
    """Up to ``POOL_SIZE`` autocommit PostgreSQL connections, lent one at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        self._open = 0
        self._lock = threading.Lock()

    def take(self) -> Any | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._open >= POOL_SIZE:
                return None
            self._open += 1
        try:
            cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
            conn = self._engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
            conn.autocommit = True
            return conn
        except Exception:
            with self._lock:
                self._open -= 1
            return None  # the session will report the problem, with its own retries

    def give(self, conn: Any) -> None:
        with self._lock:
            self._idle.append(conn)

    def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            conn.close()

    def drop(self, conn: Any) -> None:
        with self._lock:
            self._open -= 1
        try:
            conn.close()
        except Exception:  # already broken
            pass
