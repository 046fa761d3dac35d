"""What every ingest step shares: the error type, limits and SQL quoting for DuckDB."""

from __future__ import annotations

from typing import Any

MAX_LINE_BYTES = 1024 * 1024
# At most 1,000 columns. DuckDB reading a Parquet file holds a buffer of about 128 KB per
# column per thread: 1,000 columns take ~125 MB of a query's DATATORG_DUCKDB_MEMORY_MB
# (1 GB), leaving room for other queries; 2,000 columns needed more than 244 MB for a single
# row. Typing, statistics and pages also cost per column. A table wider than that is nearly
# always a matrix or a pivot, better published long (one row per observation). The width is
# checked before the file is read as a whole (a 20,000-column CSV of 168 KB took 768 MB and
# 16 s to type).
MAX_COLUMNS = 1000
MAX_ERRORS = 20
# Small row groups let the engine skip most of a file for selective filters (min/max stats).
ROW_GROUP_ROWS = 16384
PARQUET_OPTIONS = f"FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"


class IngestError(Exception):
    """The file cannot be published; ``errors`` says where and why."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [{"message": message}]

    def __reduce__(self) -> tuple[type[IngestError], tuple[str, list[dict[str, Any]]]]:
        # with its located errors when it crosses from the ingest process (``ingest_process``)
        return (type(self), (self.message, self.errors))


def check_width(count: int) -> None:
    """Refuse a table with more than ``MAX_COLUMNS`` columns (before the costly reading)."""
    if count > MAX_COLUMNS:
        message = (
            f"The table has {count} columns; at most {MAX_COLUMNS} are accepted. Publish a "
            "table this wide in long form instead (one row per observation)."
        )
        raise IngestError(message, [{"message": f"{count} columns (at most {MAX_COLUMNS})"}])


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a column name taken from a schema (never from a request)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A DuckDB string literal for a value the platform chose (paths, options), never user input."""
    return "'" + value.replace("'", "''") + "'"
