"""Submissions remember whose draft they were (the cross-channel subject); subscribe consents.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("subject_id", sa.String(length=128), nullable=True))
    # Before this revision every draft belonged to the channel person who submitted it.
    op.execute("UPDATE submissions SET subject_id = person_id")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("subject_id", existing_type=sa.String(length=128), nullable=False)
    op.create_index("ix_submissions_subject_id_submitted_at", "submissions",
                    ["subject_id", "submitted_at"])
    op.create_table(
        "subscribe_consents",
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "template_id", name="pk_subscribe_consents"),
    )


def downgrade() -> None:
    op.drop_table("subscribe_consents")
    op.drop_index("ix_submissions_subject_id_submitted_at", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("subject_id")
