"""catalog: each dataset's FTS5 row at a rowid derived from its id (SQLite)

``dataset_fts`` has no index on ``dataset_id`` (an FTS5 column is either full-text indexed or
``UNINDEXED``), so deleting a dataset's row by it read the whole table: 28 ms at 50,000
datasets, inside the write lock, on every catalog write. Rows now sit at
``catalog.search.fts_rowid(dataset_id)`` (or, for the rare second dataset with the same
number, at a negative rowid) and are found by rowid. This revision rewrites the table from
``datasets.search_doc`` with those rowids. Data only; PostgreSQL has nothing to do.

Revision ID: 9c41e07d2b5a
Revises: a1d3c0de9e10
Create Date: 2026-11-30 22:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c41e07d2b5a"
down_revision: str | None = "a1d3c0de9e10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from datatorg.catalog.search import fts_rowid

    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    rows = conn.execute(sa.text("SELECT id, search_doc FROM datasets ORDER BY id")).all()
    conn.execute(sa.text("DELETE FROM dataset_fts"))
    placed: list[dict[str, object]] = []
    taken: set[int] = set()
    low = 0
    for ds, doc in rows:
        ds_id = ds if isinstance(ds, uuid.UUID) else uuid.UUID(hex=str(ds))
        rid = fts_rowid(ds_id)
        if rid in taken:
            low -= 1
            rid = low
        taken.add(rid)
        placed.append({"r": rid, "k": ds_id.hex, "d": doc or ""})
    if placed:
        conn.execute(
            sa.text("INSERT INTO dataset_fts (rowid, dataset_id, doc) VALUES (:r, :k, :d)"),
            placed,
        )


def downgrade() -> None:
    """The rows stay where they are: older code finds them by ``dataset_id``."""
