"""premium refunds of terminated groups' credit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'PENDING'")


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PENDING", "ISSUED", name="refund_status", native_enum=False,
                    create_constraint=True),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint(
            "(status = 'ISSUED') = (issued_at IS NOT NULL)", name=op.f("ck_refunds_issued_has_time")
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"],
                                name=op.f("fk_refunds_group_id_groups"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["issued_by_user_id"], ["users.id"],
                                name=op.f("fk_refunds_issued_by_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )  # fmt: skip
    op.create_index("ix_refunds_group_id", "refunds", ["group_id"])
    op.create_index(
        "uq_refunds_one_pending", "refunds", ["group_id"], unique=True,
        sqlite_where=PENDING, postgresql_where=PENDING,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_refunds_one_pending", table_name="refunds")
    op.drop_index("ix_refunds_group_id", table_name="refunds")
    op.drop_table("refunds")
