"""What every ingest step shares: the error type, limits and SQL quoting for DuckDB."""

from __future__ import annotations

from typing import Any

MAX_LINE_BYTES = 1024 * 1024
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


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a column name taken from a schema (never from a request)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A DuckDB string literal for a value the platform chose (paths, options), never user input."""
    return "'" + value.replace("'", "''") + "'"
