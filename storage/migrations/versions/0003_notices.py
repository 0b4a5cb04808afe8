"""Notices, and the opt-out of notices per person.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("notices_opt_out", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("starts_at", _datetime(), nullable=False),
        sa.Column("ends_at", _datetime(), nullable=True),
        sa.Column("place", sa.String(length=120), nullable=True),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("signup_deadline", _datetime(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_at", _datetime(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )


def downgrade() -> None:
    op.drop_table("notices")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("notices_opt_out")
