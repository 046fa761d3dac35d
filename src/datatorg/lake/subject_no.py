"""The hidden subject-number column of the files of datasets linked to data subjects.

A file of a dataset that declares subjects (privacy) carries, next to its subject-key column,
the column ``__subject_no``: each row's subject number (``privacy.numbers``), NULL where the
key is empty or names no subject. The gate's consent filter tests this integer instead of the
40-character key: a bitmap lookup or an integer semi-join instead of a string hash join.

The column is in no Table Schema, so nothing shows it: every engine reads the schema's
columns by name, and downloads, exports, schemas, the catalog, DCAT, CKAN and NGSI-LD are
all made from the schema. The row index does not copy it. An upload may not name a column
so (in any letter case).

The writer adds it when it writes a file of such a dataset (``write_version``; an append to a
version whose files lack it stays without, so a version's files agree), and privacy's
``link_dataset`` adds it to the files of older versions. A version uses it only when every
one of its files has it (``numbered``); the gate filters other versions by subject key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from datatorg.lake.ingest_common import PARQUET_OPTIONS, lit, quote_ident

COLUMN = "__subject_no"
Numbers = Callable[[list[str]], Mapping[str, int]]
# privacy's: for a dataset that declares subjects, key → number for the keys of a file
NumberingSource = Callable[[Session, uuid.UUID], Numbers | None]
_SOURCES: list[NumberingSource] = []


def register(source: NumberingSource) -> None:
    """Register where subject numbers come from (privacy registers its ``numbering`` when its
    service module is imported; privacy lies above the lake, so the lake never imports it).
    Without one, files are written without numbers and the gate filters by key."""
    _SOURCES[:] = [source]


def numbers_for(session: Session, dataset_id: uuid.UUID) -> Numbers | None:
    """The numbers for files of ``dataset_id``; None when it declares no subjects."""
    return _SOURCES[0](session, dataset_id) if _SOURCES else None


def reserved(name: str) -> bool:
    """Whether a column name is the hidden column's (DuckDB names ignore letter case)."""
    return name.strip().casefold() == COLUMN


def subject_column(schema: Mapping[str, Any]) -> str | None:
    """The schema's subject-key column, when the schema may have a number column too."""
    fields = list(schema.get("fields", []))
    if any(reserved(str(f.get("name", ""))) for f in fields):
        return None  # a column of that name that is not ours: never trust it as numbers
    return next((str(f["name"]) for f in fields if f.get("role") == "subject_key"), None)


def numbered(paths: Sequence[Path]) -> bool:
    """Whether every file has the number column (read from the files' footers)."""
    return largest(paths) is not None


def largest(paths: Sequence[Path]) -> int | None:
    """The largest subject number in the files (0 when they hold none) if every file has
    the number column with statistics for every row group; else None. Read from the files'
    footers only (the gate sizes its bitmap by it: a number beyond it cannot occur)."""
    if not paths:
        return None
    top = 0
    for path in paths:
        try:
            meta = pq.read_metadata(path)
        except (OSError, pa.ArrowException):
            return None
        names = meta.schema.names
        if COLUMN not in names:
            return None
        at = names.index(COLUMN)
        for g in range(meta.num_row_groups):
            chunk = meta.row_group(g).column(at)
            stats = chunk.statistics
            if stats is not None and stats.has_min_max:
                top = max(top, int(stats.max))
            elif stats is None or stats.null_count != chunk.num_values:
                return None  # values without statistics: unknown
    return top


INT32_MAX = 2**31 - 1  # the column is a 32-bit integer: a bit test reads it without a cast


def write(path: Path, column: str, numbers: Numbers, out: Path) -> Path | None:
    """``path`` written to ``out`` with the number column computed from the subject-key
    ``column`` (a number column it has is replaced); rows keep their order. Returns ``out``,
    or None (nothing written) if a number does not fit the column: the file then stays
    without numbers, and the gate filters its version by key."""
    con = duckdb.connect()
    try:
        src = f"read_parquet({lit(str(path))}, file_row_number=true)"
        plain = f"read_parquet({lit(str(path))})"
        cols = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {plain}").fetchall()]
        keys = [
            str(r[0])
            for r in con.execute(
                f"SELECT DISTINCT CAST({quote_ident(column)} AS VARCHAR) FROM {plain} "
                f"WHERE {quote_ident(column)} IS NOT NULL"
            ).fetchall()
        ]
        pairs = numbers(keys)
        if any(not 0 < n <= INT32_MAX for n in pairs.values()):
            return None
        con.register(
            "subject_numbers",
            pa.table(
                {
                    "k": pa.array(list(pairs), pa.string()),
                    "n": pa.array(list(pairs.values()), pa.int32()),
                }
            ),
        )
        select_list = ", ".join(f"t.{quote_ident(c)}" for c in cols if c != COLUMN)
        con.execute(
            f"COPY (SELECT {select_list}, m.n AS {quote_ident(COLUMN)} FROM {src} t "
            f"LEFT JOIN subject_numbers m ON CAST(t.{quote_ident(column)} AS VARCHAR) = m.k "
            f"ORDER BY t.file_row_number) TO {lit(str(out))} ({PARQUET_OPTIONS})"
        )
    finally:
        con.close()
    return out
