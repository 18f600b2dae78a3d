"""bank accounts for ACH payments (encrypted account and routing numbers)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00

Written to match db/models/bank_accounts.py and checked against it with Alembic's
comparison. The numbers are stored only as AES-GCM ciphertext (``*_ciphertext``) and a
keyed fingerprint; see api/services/bank_data.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=100), nullable=False),
        sa.Column(
            "account_type",
            sa.Enum(
                "CHECKING",
                "SAVINGS",
                name="bank_account_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("routing_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("account_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("number_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("routing_last4", sa.String(length=4), nullable=False),
        sa.Column("account_last4", sa.String(length=4), nullable=False),
        sa.Column("autopay", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "REMOVED",
                name="bank_account_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'REMOVED') = (removed_at IS NOT NULL)",
            name=op.f("ck_bank_accounts_removed_has_time"),
        ),
        sa.CheckConstraint(
            "NOT (autopay AND status = 'REMOVED')",
            name=op.f("ck_bank_accounts_removed_not_autopay"),
        ),
        sa.CheckConstraint(
            "length(account_last4) = 4 AND length(routing_last4) = 4",
            name=op.f("ck_bank_accounts_last4_is_four"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_bank_accounts_created_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_bank_accounts_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_accounts")),
    )
    with op.batch_alter_table("bank_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_bank_accounts_group", ["group_id"], unique=False)
        batch_op.create_index(
            "uq_bank_accounts_one_autopay",
            ["group_id"],
            unique=True,
            sqlite_where=sa.text("autopay"),
            postgresql_where=sa.text("autopay"),
        )
        batch_op.create_index(
            "uq_bank_accounts_active_number",
            ["group_id", "number_fingerprint"],
            unique=True,
            sqlite_where=sa.text("status = 'ACTIVE'"),
            postgresql_where=sa.text("status = 'ACTIVE'"),
        )
    op.create_table(
        "ach_debits",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["bank_account_id"],
            ["bank_accounts.id"],
            name=op.f("fk_ach_debits_bank_account_id_bank_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_ach_debits_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_ach_debits")),
    )
    with op.batch_alter_table("ach_debits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ach_debits_bank_account_id"), ["bank_account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ach_debits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ach_debits_bank_account_id"))
    op.drop_table("ach_debits")
    with op.batch_alter_table("bank_accounts", schema=None) as batch_op:
        batch_op.drop_index("uq_bank_accounts_active_number")
        batch_op.drop_index("uq_bank_accounts_one_autopay")
        batch_op.drop_index("ix_bank_accounts_group")
    op.drop_table("bank_accounts")
