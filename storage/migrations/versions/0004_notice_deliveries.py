"""Notice deliveries, one row per notice and person, and the fan-out's cursor.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("planned_until", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("planned", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "notice_deliveries",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"],
                                name="fk_notice_deliveries_notice_id_notices"),
        sa.PrimaryKeyConstraint("notice_id", "person_id", name="pk_notice_deliveries"),
    )
    op.create_index("ix_notice_deliveries_status_updated_at", "notice_deliveries",
                    ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("notice_deliveries")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("planned")
        batch.drop_column("planned_until")
