"""Initial schema: enterprises, persons, submissions.

Revision ID: 0001
Revises:

Plain SQLAlchemy types only, so this revision stays valid whatever `storage.types` becomes:
the exact decimals are NUMERIC(8, 4) on PostgreSQL and an integer count of 0.0001 on SQLite
(see `storage.types.ExactDecimal`); datetimes are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal() -> sa.types.TypeEngine[Decimal]:
    return sa.Numeric(8, 4).with_variant(sa.BigInteger(), "sqlite")


def _datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("county", sa.String(length=32), nullable=False),
        sa.Column("industry", sa.String(length=8), nullable=False),
        sa.Column("industry_division", sa.String(length=8), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_enterprises"),
        sa.UniqueConstraint("credit_code", name="uq_enterprises_credit_code"),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("subscribed_at", _datetime(), nullable=True),
        sa.Column("unsubscribed_at", _datetime(), nullable=True),
        sa.Column("last_message_at", _datetime(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"],
            name="fk_persons_enterprise_id_enterprises", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
    )
    op.create_index("ix_persons_enterprise_id", "persons", ["enterprise_id"])
    op.create_index("ix_persons_unionid", "persons", ["unionid"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("indicator_set", sa.String(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("total", _decimal(), nullable=False),
        sa.Column("foundation", _decimal(), nullable=False),
        sa.Column("management", _decimal(), nullable=False),
        sa.Column("effectiveness", _decimal(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_name", sa.String(length=64), nullable=False),
        sa.Column("scene_levels", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("started_at", _datetime(), nullable=True),
        sa.Column("submitted_at", _datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name="fk_submissions_enterprise_id_enterprises"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("draft_id", name="uq_submissions_draft_id"),
    )
    for column in ("enterprise_id", "person_id"):
        op.create_index(
            f"ix_submissions_{column}_submitted_at", "submissions", [column, "submitted_at"]
        )


def downgrade() -> None:
    op.drop_table("submissions")  # its indexes go with it
    op.drop_table("persons")
    op.drop_table("enterprises")
