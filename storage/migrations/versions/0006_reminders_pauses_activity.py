"""Personal notice messages (reminders, promotions, cancellations), paused campaigns and the
activity of drafts in progress.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # A delivery is now one message of a notice to one person for one purpose; the campaign's
    # own are "notice", so existing rows keep their meaning.
    with op.batch_alter_table("notice_deliveries", recreate="always") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=False,
                                   server_default="notice"))
        batch.drop_constraint("pk_notice_deliveries", type_="primary")
        batch.create_primary_key("pk_notice_deliveries", ["notice_id", "purpose", "person_id"])
    # "Is anything of this notice still queued or sending?" without reading what was sent.
    op.create_index("ix_notice_deliveries_notice_id_status", "notice_deliveries",
                    ["notice_id", "status"])
    # Plain ADD COLUMN: a batch would copy `notices`, which SQLite cannot drop while
    # deliveries and sign-ups refer to it.
    op.add_column("notices", sa.Column("paused_until", _datetime(), nullable=True))
    op.add_column("notices", sa.Column("pause_errcode", sa.Integer(), nullable=True))
    op.add_column("notices", sa.Column("reminders_planned", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "draft_activity",
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column("draft_id", sa.String(length=64), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("started_at", _datetime(), nullable=False),
        sa.Column("last_active_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_draft_activity"),
    )
    op.create_index("ix_draft_activity_credit_code", "draft_activity", ["credit_code"])
    op.create_index("ix_draft_activity_draft_id", "draft_activity", ["draft_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_notice_id_status", table_name="notice_deliveries")
    op.drop_table("draft_activity")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("reminders_planned")
        batch.drop_column("pause_errcode")
        batch.drop_column("paused_until")
    op.execute("DELETE FROM notice_deliveries WHERE purpose <> 'notice'")
    with op.batch_alter_table("notice_deliveries", recreate="always") as batch:
        batch.drop_constraint("pk_notice_deliveries", type_="primary")
        batch.create_primary_key("pk_notice_deliveries", ["notice_id", "person_id"])
        batch.drop_column("purpose")
