"""The roster of enterprises to transform (待转型企业库): contacts and membership.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite has: a batch would copy the table, and SQLite cannot drop
    # a table that submissions and persons refer to.
    op.add_column("enterprises", sa.Column("contact_name", sa.String(length=40), nullable=True))
    op.add_column("enterprises", sa.Column("contact_mobile", sa.String(length=20),
                                           nullable=True))
    op.add_column("enterprises", sa.Column("in_roster", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
    op.add_column("enterprises", sa.Column("roster_imported_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.create_index("ix_enterprises_city_county", "enterprises", ["city", "county"])


def downgrade() -> None:
    op.drop_index("ix_enterprises_city_county", table_name="enterprises")
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("roster_imported_at")
        batch.drop_column("in_roster")
        batch.drop_column("contact_mobile")
        batch.drop_column("contact_name")
