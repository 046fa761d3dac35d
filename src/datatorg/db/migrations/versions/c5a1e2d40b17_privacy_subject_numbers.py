"""privacy subject numbers: a stable integer per data subject (the consent filter's column)

Revision ID: c5a1e2d40b17
Revises: 9e1a7c3b5d20
Create Date: 2026-12-01 03:10:00

Every existing subject gets its number here, in the order the subjects were created; new
subjects get theirs when they are created (``privacy.subjects``). Numbers are never reused
(SQLite ``AUTOINCREMENT``, a PostgreSQL sequence).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5a1e2d40b17"
down_revision: str | None = "9e1a7c3b5d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_subject_numbers",
        sa.Column(
            "number",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["privacy_subjects.id"],
            name=op.f("fk_privacy_subject_numbers_subject_id_privacy_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_privacy_subject_numbers")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_privacy_subject_numbers_subject_id")),
        sqlite_autoincrement=True,
    )
    op.execute(
        "INSERT INTO privacy_subject_numbers (subject_id) "
        "SELECT id FROM privacy_subjects ORDER BY created_at, id"
    )


def downgrade() -> None:
    op.drop_table("privacy_subject_numbers")
