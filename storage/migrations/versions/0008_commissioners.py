"""Digital commissioners and their one-time binding codes.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commissioners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=True),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_commissioners"),
        sa.UniqueConstraint("person_id", name="uq_commissioners_person_id"),
        sa.UniqueConstraint("code_digest", name="uq_commissioners_code_digest"),
    )


def downgrade() -> None:
    op.drop_table("commissioners")
