"""The lead desk and 一项一档: a lead's version (a stale change is refused) and when its
provider was told; a provider's WeChat contact, bound with a one-time code; projects.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_leads_enterprise_id_created_at", "leads",
                    ["enterprise_id", "created_at"])
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("contact_person_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("code_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("code_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.create_unique_constraint("uq_providers_code_digest", ["code_digest"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("scenes", sa.JSON(), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("planned_end", sa.Date(), nullable=False),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_end", sa.Date(), nullable=True),
        sa.Column("investment", sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite"),
                  nullable=True),
        sa.Column("before_submission_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name="fk_projects_lead_id_leads"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_projects_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["solution_id"], ["solutions.id"],
                                name="fk_projects_solution_id_solutions"),
        sa.ForeignKeyConstraint(["before_submission_id"], ["submissions.id"],
                                name="fk_projects_before_submission_id_submissions"),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("lead_id", name="uq_projects_lead_id"),
    )
    op.create_index("ix_projects_enterprise_id", "projects", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index("ix_projects_enterprise_id", table_name="projects")
    op.drop_table("projects")
    with op.batch_alter_table("providers") as batch:
        batch.drop_constraint("uq_providers_code_digest", type_="unique")
        batch.drop_column("code_expires_at")
        batch.drop_column("code_digest")
        batch.drop_column("contact_person_id")
    op.drop_index("ix_leads_enterprise_id_created_at", table_name="leads")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("notified_at")
        batch.drop_column("version")
