"""Row index: a read-optimised SQLite copy of one version, for filtered, sorted row pages.

Versions are immutable, so an index keyed by the version id is exact, like a search index.
DuckDB reads the version's Parquet files to build it; the gate (``datatorg.access``) decides
per query whether the index can answer it and reads it through ``lake.reader.query_index``.
No policy lives here: this module only builds, finds and removes index files; the file's
layout and ``Meta`` are in ``rowindex_meta``, the building steps in ``rowindex_build``.

Layout: table ``r`` with ``__datatorg_pos INTEGER PRIMARY KEY`` (file ordinal × 2^40 + row
number in the file, so rowid order is DuckDB's ``(filename, file_row_number)`` order) and one
column per field, stored so that SQLite compares them as DuckDB does (timestamps as integer
microseconds, dates as integer days, booleans 0/1). Indexes: ``(k)`` and ``(k, t IS NULL, t)``
(ascending and descending) for each low-cardinality key column ``k``, and ``(t IS NULL, t)``
(both ways) for the time column ``t``.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datatorg.lake import rowindex_build
from datatorg.lake.rowindex_build import MAX_COLUMNS, TooLong, Unsupported
from datatorg.lake.rowindex_meta import FORMAT, POS, SHIFT, TABLE, Meta
from datatorg.lake.storage import Storage

__all__ = [
    "FORMAT",
    "MAX_COLUMNS",
    "POS",
    "SHIFT",
    "TABLE",
    "Meta",
    "TooLong",
    "Unsupported",
    "build",
    "collect",
    "drop",
    "lookup",
    "wait",
]

log = logging.getLogger(__name__)

FOLDER = "rowindex"
_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Postponed(Exception):
    """An earlier build of this version failed and its pause is not over."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def index_path(storage: Storage, version_id: uuid.UUID | str) -> Path:
    return storage.local_path(f"{FOLDER}/{version_id}.sqlite3")


def build(
    storage: Storage,
    version_id: uuid.UUID | str,
    paths: Sequence[Path],
    schema: dict[str, Any],
    *,
    seconds: float = 600,
    memory_mb: int = 256,
    force: bool = False,
) -> Path:
    """Build the row index of a version (synchronously); its path.

    Safe against concurrent builders (a file lock: one builds, the others find it done) and
    crashes (a temporary file renamed into place when complete). ``Unsupported`` when the
    version cannot be indexed exactly; ``TooLong`` past ``seconds``; DuckDB works within
    ``memory_mb`` (an out-of-memory error ends the build).
    """
    target = index_path(storage, version_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        failure = read_failure(target)
        if not force and failure is not None and failure.waiting:
            raise Postponed(failure)
        tmp = target.with_name(f"{version_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            rowindex_build.build_into(tmp, str(version_id), paths, schema, seconds, memory_mb)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def read_meta(path: Path) -> Meta:
    db = sqlite3.connect(path.as_uri() + "?mode=ro&immutable=1", uri=True)
    try:
        row = db.execute("SELECT v FROM __datatorg_meta WHERE k = 'meta'").fetchone()
    finally:
        db.close()
    return Meta.from_json(row[0])


# -- finding an index, building it in the background when missing ---------------------------

_state = threading.Lock()
_ready: dict[Path, tuple[Meta, int]] = {}  # what each file holds, by its inode
_building: dict[Path, threading.Thread] = {}
# Versions this process will not try to index, until a monotonic time (inf: never).
_refused: dict[Path, float] = {}
# A failed build (too slow, out of memory, a full disk) is recorded beside the index as
# ``<version>.failed`` (so every worker, and the next process, knows) and tried again after
# RETRY_FAILED_S, then twice as long each time; after MAX_ATTEMPTS it is not tried again
# (``datatorg lake rowindex build`` still can). An unsupported version is recorded for good,
# by what builds could hold then (``rowindex_build.HOLDS``): a later build that holds more
# tries it again.
RETRY_FAILED_S = 600.0
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Failure:
    attempts: int
    retry_at: float  # wall-clock seconds; inf: never again
    reason: str

    @property
    def waiting(self) -> bool:
        return self.retry_at > time.time()


def failure_path(path: Path) -> Path:
    return path.with_suffix(".failed")


def read_failure(path: Path) -> Failure | None:
    """The recorded failure of the index at ``path``, if any."""
    try:
        raw = json.loads(failure_path(path).read_text(encoding="utf-8"))
        retry = math.inf if raw["retry_at"] is None else float(raw["retry_at"])
        if math.isinf(retry) and int(raw.get("holds", 1)) < rowindex_build.HOLDS:
            return None  # refused by a build that held less: try again
        return Failure(int(raw["attempts"]), retry, str(raw["reason"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _record_failure(path: Path, reason: str, *, permanent: bool) -> Failure:
    before = read_failure(path)
    attempts = (before.attempts if before else 0) + 1
    if permanent or attempts >= MAX_ATTEMPTS:
        retry_at = math.inf
    else:
        retry_at = time.time() + RETRY_FAILED_S * 2 ** (attempts - 1)
    failure = Failure(attempts, retry_at, reason[:300])
    record = {
        "attempts": attempts,
        "retry_at": None if math.isinf(retry_at) else retry_at,
        "reason": failure.reason,
        "holds": rowindex_build.HOLDS,
    }
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.failtmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, failure_path(path))
    return failure


def _refuse_until(path: Path, failure: Failure) -> None:
    left = failure.retry_at - time.time()
    with _state:
        _refused[path] = time.monotonic() + left if math.isfinite(left) else math.inf


def lookup(
    storage: Storage,
    version_id: uuid.UUID,
    paths: Sequence[Path],
    schema: dict[str, Any],
    row_count: int,
    max_rows: int,
    limits: tuple[float, int] = (600, 256),
) -> tuple[Path, Meta] | None:
    """The version's index if it exists; otherwise start building it and return None (unless
    an earlier build failed and its pause is not over). ``limits``: the build's seconds and
    DuckDB memory (MiB)."""
    if max_rows <= 0 or row_count > max_rows or not paths:
        return None
    path = index_path(storage, version_id)
    try:
        ino = path.stat().st_ino  # one stat a read: a dropped or rebuilt file is noticed
    except FileNotFoundError:
        ino = None
    hit = _ready.get(path)
    if hit is not None and hit[1] == ino:
        return path, hit[0]
    if ino is not None:
        try:
            meta = read_meta(path)
        except ValueError:  # an index of an older format: built again below
            drop(storage, version_id)
        except (sqlite3.Error, KeyError, TypeError):
            return None
        else:
            with _state:
                if len(_ready) > 1024:
                    _ready.clear()
                _ready[path] = (meta, ino)
            return path, meta
    with _state:
        if path in _building or _refused.get(path, 0.0) > time.monotonic():
            return None
    failure = read_failure(path)
    if failure is not None and failure.waiting:
        _refuse_until(path, failure)
        return None
    with _state:
        if path in _building or rowindex_build.STOPPING.is_set():
            return None
        _refused.pop(path, None)
        thread = threading.Thread(
            target=_background,
            args=(storage, version_id, tuple(paths), schema, path, limits),
            name=f"rowindex-{version_id}",
            daemon=True,
        )
        _building[path] = thread
    thread.start()
    return None


def _background(
    storage: Storage,
    version_id: uuid.UUID,
    paths: tuple[Path, ...],
    schema: dict[str, Any],
    path: Path,
    limits: tuple[float, int],
) -> None:
    t0 = time.perf_counter()
    seconds, memory_mb = limits
    try:
        build(storage, version_id, paths, schema, seconds=seconds, memory_mb=memory_mb)
        log.info(
            "row index built", extra={"version": str(version_id), "s": time.perf_counter() - t0}
        )
    except rowindex_build.Stopped:  # the process is exiting: the next one builds it
        log.info("row index build stopped at exit", extra={"version": str(version_id)})
    except Postponed as exc:  # another process's build failed meanwhile
        _refuse_until(path, exc.failure)
    except Unsupported as exc:
        log.info("no row index", extra={"version": str(version_id), "reason": str(exc)})
        _refuse_until(path, _record_failure(path, str(exc), permanent=True))
    except Exception as exc:  # a failed build only means the slower path keeps serving
        failure = _record_failure(path, f"{type(exc).__name__}: {exc}", permanent=False)
        log.warning(
            "row index build failed",
            extra={
                "version": str(version_id),
                "reason": failure.reason,
                "attempts": failure.attempts,
                "s": time.perf_counter() - t0,
            },
        )
        _refuse_until(path, failure)
    finally:
        with _state:
            _building.pop(path, None)


def wait(storage: Storage, version_id: uuid.UUID, timeout: float = 60) -> bool:
    """Wait for a background build of the version's index; whether the index exists."""
    path = index_path(storage, version_id)
    with _state:
        thread = _building.get(path)
    if thread is not None:
        thread.join(timeout)
    return path.exists()


def stop_builds(timeout: float = 10.0) -> None:
    """Stop this process's background builds and wait for their threads (at interpreter
    exit, before Python stops daemon threads: none may be inside DuckDB then)."""
    rowindex_build.stop_all()
    deadline = time.monotonic() + timeout
    with _state:
        threads = list(_building.values())
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


atexit.register(stop_builds)


def forget() -> None:
    """Drop this process's memory of indexes (tests)."""
    with _state:
        _ready.clear()
        _refused.clear()


def collect(storage: Storage, live: set[str], grace_seconds: int) -> int:
    """Remove index files of versions not in ``live`` and stale temporary files; count."""
    folder = storage.local_path(f"{FOLDER}/probe").parent
    if not folder.is_dir():
        return 0
    now = time.time()
    removed = 0
    for path in folder.iterdir():
        vid = path.name.split(".", 1)[0]
        if not _NAME.match(vid):
            continue
        stale = path.suffix == ".tmp" and now - path.stat().st_mtime >= grace_seconds
        if vid not in live or stale:
            path.unlink(missing_ok=True)
            removed += path.suffix == ".sqlite3"
            with _state:
                _ready.pop(path, None)
    return removed


def drop(storage: Storage, version_id: uuid.UUID | str) -> bool:
    """Remove the version's row index now (when rows must disappear from every copy, e.g.
    an erasure); whether there was one. Waits for a build in progress (any process) first;
    the next read builds the index again from the version's files. Readers in other
    processes notice the file is gone on their next read (``lookup`` checks its inode)."""
    target = index_path(storage, version_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existed = target.exists()
        target.unlink(missing_ok=True)
    with _state:
        _ready.pop(target, None)
        _refused.pop(target, None)
    return existed
