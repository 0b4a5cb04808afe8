"""Nudges (催办) with their per-enterprise limit, idle-draft reminders, API tokens for
province admins and commissioners, and the deliveries' index by status and purpose.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprise_nudges",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("commissioner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"],
                                name="fk_enterprise_nudges_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"],
                                name="fk_enterprise_nudges_notice_id_notices"),
        sa.PrimaryKeyConstraint("enterprise_id", name="pk_enterprise_nudges"),
    )
    # Plain ADD COLUMN (see 0007): no table copy.
    op.add_column("draft_activity", sa.Column("idle_reminded_at", sa.DateTime(timezone=True),
                                              nullable=True))
    op.create_index("ix_draft_activity_last_active_at", "draft_activity", ["last_active_at"])
    # The personal messages due were found by scanning every queued delivery of a campaign
    # (status, then updated_at): with the purpose second, each lookup is one range.
    op.drop_index("ix_notice_deliveries_status_updated_at", table_name="notice_deliveries")
    op.create_index("ix_notice_deliveries_status_purpose_updated_at", "notice_deliveries",
                    ["status", "purpose", "updated_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("commissioner_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["commissioner_id"], ["commissioners.id"],
                                name="fk_api_tokens_commissioner_id_commissioners"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("digest", name="uq_api_tokens_digest"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_index("ix_notice_deliveries_status_purpose_updated_at",
                  table_name="notice_deliveries")
    op.create_index("ix_notice_deliveries_status_updated_at", "notice_deliveries",
                    ["status", "updated_at"])
    op.drop_index("ix_draft_activity_last_active_at", table_name="draft_activity")
    with op.batch_alter_table("draft_activity") as batch:
        batch.drop_column("idle_reminded_at")
    op.drop_table("enterprise_nudges")
