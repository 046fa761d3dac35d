"""Row index: a read-optimised SQLite copy of one version, for filtered, sorted row pages.

Versions are immutable, so an index keyed by the version id is exact, like a search index.
DuckDB reads the version's Parquet files to build it; the gate (``datatorg.access``) decides
per query whether the index can answer it and reads it through ``lake.reader.query_index``.
No policy lives here: this module only builds, finds and removes index files; the file's
layout and ``Meta`` are in ``rowindex_meta``.

Layout: table ``r`` with ``__datatorg_pos INTEGER PRIMARY KEY`` (file ordinal × 2^40 + row
number in the file, so rowid order is DuckDB's ``(filename, file_row_number)`` order) and one
column per field, stored so that SQLite compares them as DuckDB does (timestamps as integer
microseconds, dates as integer days, booleans 0/1). Indexes: ``(k)`` and ``(k, t IS NULL, t)``
(ascending and descending) for each low-cardinality key column ``k``, and ``(t IS NULL, t)``
(both ways) for the time column ``t``.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake.rowindex_meta import FORMAT, POS, SHIFT, TABLE, Meta
from datatorg.lake.storage import Storage

__all__ = [
    "FORMAT",
    "POS",
    "SHIFT",
    "TABLE",
    "Meta",
    "Unsupported",
    "build",
    "collect",
    "lookup",
    "wait",
]

log = logging.getLogger(__name__)

FOLDER = "rowindex"
MAX_KEYS = 4
# DuckDB column type -> how the index stores it. Anything else: no index for the version.
KINDS = {
    "VARCHAR": "text",
    "BIGINT": "int",
    "INTEGER": "int",
    "SMALLINT": "int",
    "TINYINT": "int",
    "UTINYINT": "int",
    "USMALLINT": "int",
    "UINTEGER": "int",
    "UBIGINT": "int",  # when every value fits a signed 64-bit integer (checked)
    "HUGEINT": "int",
    "DOUBLE": "real",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP": "ts",
}
_WIDE = ("UBIGINT", "HUGEINT")
_NO_KEY_ROLES = ("subject_key", "direct_identifier")
_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Unsupported(Exception):
    """The version has a column type or value the index cannot hold exactly."""


def index_path(storage: Storage, version_id: uuid.UUID | str) -> Path:
    return storage.local_path(f"{FOLDER}/{version_id}.sqlite3")


def _source(paths: Sequence[Path]) -> str:
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}], filename=true, file_row_number=true)"


def _store_expr(name: str, kind: str) -> str:
    col = qi(name)
    if kind == "ts":
        return f"epoch_us({col})"
    if kind == "date":
        return f"date_diff('day', DATE '1970-01-01', {col})"
    return col


def _plan(
    con: duckdb.DuckDBPyConnection, paths: Sequence[Path], schema: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str], str | None, list[str], int]:
    """Kinds, DuckDB types, time column, key columns and row count; or ``Unsupported``."""
    src = _source(paths)
    rel = con.execute(f"SELECT * EXCLUDE (filename, file_row_number) FROM {src} LIMIT 0")
    types = {str(d[0]): str(d[1]) for d in rel.description or []}
    kinds: dict[str, str] = {}
    for name, typ in types.items():
        if typ not in KINDS:
            raise Unsupported(f"column type {typ}")
        kinds[name] = KINDS[typ]
    folded = [n.casefold() for n in kinds]
    if len(set(folded)) != len(folded) or POS.casefold() in folded:
        raise Unsupported("column names that SQLite cannot tell apart")
    fields = {f["name"]: f for f in schema.get("fields", [])}
    reals = [n for n, k in kinds.items() if k == "real"]
    # NaN sorts last in DuckDB but is NULL in SQLite; -0.0 would come back as 0.0
    odd = [
        f"count(*) FILTER (WHERE isnan({qi(n)}) OR ({qi(n)} = 0 AND signbit({qi(n)})))"
        for n in reals
    ]
    cands = [
        n
        for n, k in kinds.items()
        if k in ("text", "int")
        and fields.get(n, {}).get("role") not in _NO_KEY_ROLES
        and fields.get(n, {}).get("role") != "time"
    ]
    wide = [n for n, t in types.items() if t in _WIDE]
    odd += [
        f"count(*) FILTER (WHERE {qi(n)} > 9223372036854775807 OR {qi(n)} < -9223372036854775808)"
        for n in wide
    ]
    outs = ["count(*)", *odd, *[f"count(DISTINCT {qi(n)})" for n in cands]]
    got = con.execute(f"SELECT {', '.join(outs)} FROM {src}").fetchone()
    assert got is not None
    rows = int(got[0])
    if any(got[1 : 1 + len(odd)]):
        raise Unsupported("NaN, negative zero or a too large integer in a column")
    distinct = dict(zip(cands, got[1 + len(odd) :], strict=True))
    limit = max(1000, rows // 100)
    keys = [n for n in cands if distinct[n] <= limit][:MAX_KEYS]
    roled = [n for n in kinds if fields.get(n, {}).get("role") == "time"]
    stamps = [n for n in kinds if kinds[n] in ("ts", "date")]
    time_col = next((n for n in roled if kinds[n] in ("ts", "date")), None)
    if time_col is None:
        time_col = next((n for n in stamps if kinds[n] == "ts"), None)
    return kinds, types, time_col, keys, rows


def _fill(
    con: duckdb.DuckDBPyConnection,
    db: sqlite3.Connection,
    paths: Sequence[Path],
    kinds: dict[str, str],
) -> None:
    names = list(kinds)
    db.execute(
        f"CREATE TABLE {TABLE} ({qi(POS)} INTEGER PRIMARY KEY"
        + "".join(f", {qi(n)}" for n in names)
        + ")"
    )
    marks = ", ".join("?" for _ in range(len(names) + 1))
    insert = f"INSERT INTO {TABLE} VALUES ({marks})"
    exprs = ", ".join(_store_expr(n, kinds[n]) for n in names)
    for ordinal, path in enumerate(sorted(paths, key=str)):
        lit = "'" + str(path).replace("'", "''") + "'"
        rel = con.execute(
            f"SELECT file_row_number + {ordinal * SHIFT}"
            + (f", {exprs}" if exprs else "")
            + f" FROM read_parquet({lit}, file_row_number=true) ORDER BY file_row_number"
        )
        while chunk := rel.fetchmany(50_000):
            db.executemany(insert, chunk)


def _indexes(db: sqlite3.Connection, keys: list[str], time_col: str | None) -> dict[str, list[str]]:
    """``(k)``, ``(k, t IS NULL, t)`` and ``(k, t IS NULL, t DESC)`` per key column ``k``;
    ``(t IS NULL, t)`` and ``(t IS NULL, t DESC)``. Names ending in ``d`` are descending."""
    made: dict[str, list[str]] = {}
    t = qi(time_col) if time_col else None
    for i, k in enumerate(keys):
        db.execute(f'CREATE INDEX "k{i}" ON {TABLE}({qi(k)})')
        made[f"k{i}"] = [k]
        if t and time_col:
            db.execute(f'CREATE INDEX "kt{i}" ON {TABLE}({qi(k)}, ({t} IS NULL), {t})')
            db.execute(f'CREATE INDEX "kt{i}d" ON {TABLE}({qi(k)}, ({t} IS NULL), {t} DESC)')
            made[f"kt{i}"] = made[f"kt{i}d"] = [k, time_col]
    if t and time_col:
        db.execute(f'CREATE INDEX "t" ON {TABLE}(({t} IS NULL), {t})')
        db.execute(f'CREATE INDEX "td" ON {TABLE}(({t} IS NULL), {t} DESC)')
        made["t"] = made["td"] = [time_col]
    return made


def build(
    storage: Storage, version_id: uuid.UUID | str, paths: Sequence[Path], schema: dict[str, Any]
) -> Path:
    """Build the row index of a version (synchronously); its path.

    Safe against concurrent builders (a file lock: one builds, the others find it done) and
    crashes (a temporary file renamed into place when complete). ``Unsupported`` when the
    version cannot be indexed exactly.
    """
    target = index_path(storage, version_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        tmp = target.with_name(f"{version_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            _build_into(tmp, str(version_id), paths, schema)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def _build_into(tmp: Path, version_id: str, paths: Sequence[Path], schema: dict[str, Any]) -> None:
    con = duckdb.connect(config={"threads": 1})
    db = sqlite3.connect(tmp, isolation_level=None)
    try:
        kinds, types, time_col, keys, _ = _plan(con, paths, schema)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-65536")
        db.execute("BEGIN")
        _fill(con, db, paths, kinds)
        made = _indexes(db, keys, time_col)
        meta = Meta(
            version_id=version_id,
            kinds=kinds,
            types=types,
            files=tuple(p.name for p in sorted(paths, key=str)),
            time=time_col,
            keys=tuple(keys),
            indexes=made,
            descending=tuple(n for n in made if n.startswith(("kt", "t")) and n.endswith("d")),
        )
        db.execute("CREATE TABLE __datatorg_meta (k TEXT PRIMARY KEY, v TEXT)")
        db.execute("INSERT INTO __datatorg_meta VALUES ('meta', ?)", [meta.to_json()])
        db.execute("COMMIT")
        db.execute("PRAGMA analysis_limit=1000")
        db.execute("ANALYZE")
    finally:
        db.close()
        con.close()


def read_meta(path: Path) -> Meta:
    db = sqlite3.connect(path.as_uri() + "?mode=ro&immutable=1", uri=True)
    try:
        row = db.execute("SELECT v FROM __datatorg_meta WHERE k = 'meta'").fetchone()
    finally:
        db.close()
    return Meta.from_json(row[0])


# -- finding an index, building it in the background when missing ---------------------------

_state = threading.Lock()
_ready: dict[Path, Meta] = {}
_building: dict[Path, threading.Thread] = {}
# Versions this process will not try to index, until a monotonic time: unsupported ones
# never (inf), failed builds (a full disk, a file being replaced) after RETRY_FAILED_S.
_refused: dict[Path, float] = {}
RETRY_FAILED_S = 600.0


def lookup(
    storage: Storage,
    version_id: uuid.UUID,
    paths: Sequence[Path],
    schema: dict[str, Any],
    row_count: int,
    max_rows: int,
) -> tuple[Path, Meta] | None:
    """The version's index if it exists; otherwise start building it and return None."""
    if max_rows <= 0 or row_count > max_rows or not paths:
        return None
    path = index_path(storage, version_id)
    hit = _ready.get(path)
    if hit is not None:
        return path, hit
    if path.exists():
        try:
            meta = read_meta(path)
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None
        with _state:
            if len(_ready) > 1024:
                _ready.clear()
            _ready[path] = meta
        return path, meta
    with _state:
        if path in _building or _refused.get(path, 0.0) > time.monotonic():
            return None
        _refused.pop(path, None)
        thread = threading.Thread(
            target=_background,
            args=(storage, version_id, tuple(paths), schema, path),
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
) -> None:
    t0 = time.perf_counter()
    try:
        build(storage, version_id, paths, schema)
        log.info(
            "row index built", extra={"version": str(version_id), "s": time.perf_counter() - t0}
        )
    except Unsupported as exc:
        log.info("no row index", extra={"version": str(version_id), "reason": str(exc)})
        with _state:
            _refused[path] = math.inf
    except Exception:  # a failed build only means the slower path keeps serving
        log.exception("row index build failed", extra={"version": str(version_id)})
        with _state:
            _refused[path] = time.monotonic() + RETRY_FAILED_S
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


def drop(storage: Storage, version_id: uuid.UUID) -> bool:
    """Delete a version's index (an erasure rewrote its rows); whether there was one."""
    path = index_path(storage, version_id)
    with _state:
        _ready.pop(path, None)
        _refused.pop(path, None)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
