"""Every DuckDB connection of the platform, opened with bounded memory, threads and spill space.

DuckDB's defaults are made for a notebook: 80 % of the machine's memory and a thread per core
for each database. A server opens several at once (the gate's reader, each upload's ingest,
row index builds), so one wide or huge file could take the machine. ``connect`` gives every
connection a ``memory_limit`` (past it DuckDB spills to ``temp_directory`` or stops the query
with an out-of-memory error, which callers turn into a clear refusal), a number of
``threads`` and a ``temp_directory`` under the lake. ``configure`` sets these from the
settings once per process (``create_app``, the command line); until then the defaults below
apply.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024
    threads: int = 2
    temp_directory: Path = Path(tempfile.gettempdir()) / "datatorg-duckdb"
    queries: int = 4  # queries the gate's reader runs at once in a process (``lake.reader``)


_limits = Limits()
_lock = threading.Lock()


def configure(
    *, memory_mb: int, threads: int, temp_directory: Path, queries: int = Limits.queries
) -> None:
    """Set the limits for connections opened from now on (once per process)."""
    global _limits
    with _lock:
        _limits = Limits(
            memory_mb=memory_mb, threads=threads, temp_directory=temp_directory, queries=queries
        )


def limits() -> Limits:
    return _limits


def connect(*, memory_mb: int | None = None, threads: int | None = None) -> Any:
    """A new in-memory DuckDB database with the process's limits (or tighter ones)."""
    lim = _limits
    if memory_mb is not None:
        lim = replace(lim, memory_mb=min(memory_mb, lim.memory_mb))
    if threads is not None:
        lim = replace(lim, threads=min(threads, lim.threads))
    lim.temp_directory.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={
            "memory_limit": f"{lim.memory_mb}MB",
            "threads": max(1, lim.threads),
            "temp_directory": str(lim.temp_directory),
        }
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB stopped a query because it reached its memory limit."""
    return isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in str(exc).lower()
