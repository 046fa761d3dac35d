"""Building a row index file (see ``datatorg.lake.rowindex`` for the lifecycle): plan the
columns and key indexes from the version's Parquet files, copy the rows into SQLite in chunks
sized to the table's width, add the indexes, all within a time limit and, for DuckDB, a memory
limit."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from datatorg.lake import duck
from datatorg.lake.rowindex_meta import POS, SHIFT, TABLE, Meta
from datatorg.lake.schema import time_column
from datatorg.lake.subject_no import COLUMN as NUMBER

MAX_KEYS = 4
# Wider versions get no index: DuckDB serves their pages. Each column is a value per row to
# copy and an entry in the page's decoding; 500 is far beyond any table the index speeds up.
MAX_COLUMNS = 500
CHUNK_VALUES = 1_000_000  # values copied per chunk (rows per chunk = this / columns)
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
# DECIMAL(p,s) is held as the integer value * 10**s (exact; ``dec<s>``). Up to 18 digits it
# always fits a signed 64-bit integer; wider ones are held when every value does (checked).
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_FITS = 18  # digits every signed 64-bit integer can hold
# What builds can hold; a version refused for good by a build that held less (a failure
# record of an earlier ``HOLDS``) is tried again. 2: decimals.
HOLDS = 2
NOT_COPIED = ("subject_key", "direct_identifier")


def qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Unsupported(Exception):
    """The version has a column type or value the index cannot hold exactly."""


class TooLong(Exception):
    """The build ran past its time limit and was stopped."""


def _source(paths: Sequence[Path]) -> str:
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"read_parquet([{files}], filename=true, file_row_number=true)"


def decimal_kind(typ: str) -> str | None:
    """``dec<s>`` for a DuckDB ``DECIMAL(p,s)`` the index can hold, else None."""
    m = _DECIMAL.fullmatch(typ)
    if m is None or int(m[2]) > _FITS:
        return None
    return f"dec{m[2]}"


def _scale(kind: str) -> int:
    return int(kind[3:])


def _digits(typ: str) -> int:
    m = _DECIMAL.fullmatch(typ)
    return int(m[1]) if m else 0


def _store_expr(name: str, kind: str) -> str:
    col = qi(name)
    if kind.startswith("dec"):
        return f"CAST({col} * {10 ** _scale(kind)} AS BIGINT)"
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
    fields = {f["name"]: f for f in schema.get("fields", [])}
    # Direct identifiers and subject keys are never copied: the copy serves only reads that
    # cannot see them (the gate declines the others to DuckDB); nor is the hidden subject
    # number (reads under a subject filter are DuckDB's).
    types = {
        str(d[0]): str(d[1])
        for d in rel.description or []
        if fields.get(str(d[0]), {}).get("role") not in NOT_COPIED and str(d[0]) != NUMBER
    }
    if len(types) > MAX_COLUMNS:
        raise Unsupported(f"{len(types)} columns (at most {MAX_COLUMNS})")
    kinds: dict[str, str] = {}
    for name, typ in types.items():
        kind = KINDS.get(typ) or decimal_kind(typ)
        if kind is None:
            raise Unsupported(f"column type {typ}")
        kinds[name] = kind
    folded = [n.casefold() for n in kinds]
    if len(set(folded)) != len(folded) or POS.casefold() in folded:
        raise Unsupported("column names that SQLite cannot tell apart")
    reals = [n for n, k in kinds.items() if k == "real"]
    # NaN sorts last in DuckDB but is NULL in SQLite; -0.0 would come back as 0.0
    odd = [
        f"count(*) FILTER (WHERE isnan({qi(n)}) OR ({qi(n)} = 0 AND signbit({qi(n)})))"
        for n in reals
    ]
    cands = [
        n
        for n, k in kinds.items()
        if k in ("text", "int") and fields.get(n, {}).get("role") != "time"
    ]
    wide = [n for n, t in types.items() if t in _WIDE]
    odd += [
        f"count(*) FILTER (WHERE {qi(n)} > 9223372036854775807 OR {qi(n)} < -9223372036854775808)"
        for n in wide
    ]
    # a wide decimal's values must fit 64 bits once scaled: |v| * 10**s < 10**18
    odd += [
        f"count(*) FILTER (WHERE abs({qi(n)}) >= {10 ** (_FITS - _scale(k))})"
        for n, k in kinds.items()
        if k.startswith("dec") and _digits(types[n]) > _FITS
    ]
    # approximate distinct counts (HyperLogLog: a few KB per column, where exact counts keep
    # every value) only choose the key columns; the index answers exactly either way
    outs = ["count(*)", *odd, *[f"approx_count_distinct({qi(n)})" for n in cands]]
    got = con.execute(f"SELECT {', '.join(outs)} FROM {src}").fetchone()
    assert got is not None
    rows = int(got[0])
    if any(got[1 : 1 + len(odd)]):
        raise Unsupported("NaN, negative zero or a too large integer or decimal in a column")
    distinct = dict(zip(cands, got[1 + len(odd) :], strict=True))
    limit = max(1000, rows // 100)
    keys = [n for n in cands if distinct[n] <= limit][:MAX_KEYS]
    time_col = time_column(schema)  # the default order of reads (datatorg.lake.schema)
    if time_col not in kinds or kinds[time_col] not in ("ts", "date"):
        time_col = None
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
    per_chunk = max(100, CHUNK_VALUES // (len(names) + 1))  # bounded memory, any width
    for ordinal, path in enumerate(sorted(paths, key=str)):
        lit = "'" + str(path).replace("'", "''") + "'"
        rel = con.execute(
            f"SELECT file_row_number + {ordinal * SHIFT}"
            + (f", {exprs}" if exprs else "")
            + f" FROM read_parquet({lit}, file_row_number=true) ORDER BY file_row_number"
        )
        while chunk := rel.fetchmany(per_chunk):
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


# Builds running in this process: at interpreter exit ``stop_all`` interrupts them, so no
# thread is still inside DuckDB when Python stops its daemon threads (a thread stopped
# inside DuckDB's C++ code aborts the process: "FATAL: exception not rethrown").
STOPPING = threading.Event()
_running_lock = threading.Lock()
_running: set[duckdb.DuckDBPyConnection] = set()


class Stopped(Exception):
    """The process is exiting: the build was stopped (not a failure of the version)."""


def stop_all() -> None:
    """Stop every build of this process now and start no new one."""
    STOPPING.set()
    with _running_lock:
        for con in _running:
            con.interrupt()


def build_into(
    tmp: Path,
    version_id: str,
    paths: Sequence[Path],
    schema: dict[str, Any],
    seconds: float,
    memory_mb: int,
) -> None:
    con = duck.connect(memory_mb=memory_mb, threads=1)
    with _running_lock:
        _running.add(con)
    db = sqlite3.connect(tmp, isolation_level=None)
    deadline = time.monotonic() + seconds
    timer = threading.Timer(seconds, con.interrupt)
    db.set_progress_handler(lambda: int(time.monotonic() > deadline or STOPPING.is_set()), 100_000)
    timer.start()
    try:
        if STOPPING.is_set():
            raise Stopped()
        _build_steps(con, db, version_id, paths, schema)
    except (duckdb.InterruptException, sqlite3.OperationalError) as exc:
        if STOPPING.is_set():
            raise Stopped() from None
        if time.monotonic() >= deadline:
            raise TooLong(f"stopped after {seconds:.0f} s") from None
        raise exc
    finally:
        timer.cancel()
        with _running_lock:
            _running.discard(con)
        db.close()
        con.close()


def _build_steps(
    con: duckdb.DuckDBPyConnection,
    db: sqlite3.Connection,
    version_id: str,
    paths: Sequence[Path],
    schema: dict[str, Any],
) -> None:
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
