"""What Alembic's model comparison leaves alone: search structures no model can describe.

The SQLite FTS5 virtual table (and its shadow tables) and the PostgreSQL GIN expression index
for catalog search are created by hand in the catalog migration; autogenerate must neither
drop them nor report them as differences.
"""

from __future__ import annotations

from typing import Any

UNMODELLED_TABLE_PREFIXES = ("dataset_fts",)
UNMODELLED_INDEXES = {"ix_datasets_search_tsv"}


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Skip hand-made search tables and indexes when reflecting the database."""
    if name is None:
        return True
    if type_ == "table" and name.startswith(UNMODELLED_TABLE_PREFIXES):
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """The same rule for objects (covers indexes reflected with their table)."""
    return include_name(name, type_, None)


COMPARE_OPTS: dict[str, Any] = {
    "compare_type": True,
    "include_name": include_name,
    "include_object": include_object,
}
