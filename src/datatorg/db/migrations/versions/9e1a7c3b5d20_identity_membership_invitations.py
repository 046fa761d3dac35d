"""identity: membership invitations (a role is given when the person accepts)

Revision ID: 9e1a7c3b5d20
Revises: 6b727296c7d8
Create Date: 2026-12-01 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datatorg.db.base

revision: str = "9e1a7c3b5d20"
down_revision: str | None = "6b727296c7d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("admin", "publisher", "steward", "consumer", "citizen", "coordinator", "evaluator")


def upgrade() -> None:
    op.create_table(
        "membership_invitations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(*ROLES, name="role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                "withdrawn",
                name="invitationstate",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column("decided_at", datatorg.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            datatorg.db.base.UtcDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            datatorg.db.base.UtcDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_membership_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_membership_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_membership_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_invitations")),
    )
    with op.batch_alter_table("membership_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_invitations_organisation_id"),
            ["organisation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_membership_invitations_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("membership_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_invitations_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_invitations_organisation_id"))
    op.drop_table("membership_invitations")
