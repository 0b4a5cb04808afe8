"""供需对接: the leads an enterprise's people open with a solution's provider.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("mobile", sa.String(length=20), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_leads_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["solution_id"], ["solutions.id"],
                                name="fk_leads_solution_id_solutions"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_leads_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )
    # One open lead per enterprise and solution, also when two of its people ask at once.
    op.create_index("uq_leads_open_enterprise_id_solution_id", "leads",
                    ["enterprise_id", "solution_id"], unique=True, sqlite_where=OPEN,
                    postgresql_where=OPEN)
    op.create_index("ix_leads_solution_id", "leads", ["solution_id"])


def downgrade() -> None:
    op.drop_index("ix_leads_solution_id", table_name="leads")
    op.drop_index("uq_leads_open_enterprise_id_solution_id", table_name="leads")
    op.drop_table("leads")
