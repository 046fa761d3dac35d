"""gate: quota windows (atomic reservation of agreement calls and rows)

Revision ID: a1d3c0de9e10
Revises: 25de71eacabe
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1d3c0de9e10"
down_revision: str | None = "25de71eacabe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_quota_windows",
        sa.Column("agreement_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("last_grant", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["market_agreements.id"],
            name=op.f("fk_market_quota_windows_agreement_id_market_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "agreement_id", "kind", "start", name=op.f("pk_market_quota_windows")
        ),
    )


def downgrade() -> None:
    op.drop_table("market_quota_windows")
