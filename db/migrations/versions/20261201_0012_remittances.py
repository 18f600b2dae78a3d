"""self-billed remittances, their lines and their differences from expected premium

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:30:00

A group has at most one open remittance (ACCEPTED or EXCEPTION) per month: a partial
unique index. A group may have its own exception threshold (two nullable columns).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('ACCEPTED', 'EXCEPTION')")
EXCEPTIONS = sa.text("status = 'EXCEPTION'")
TIERS = ("EMPLOYEE", "EMPLOYEE_SPOUSE", "EMPLOYEE_CHILDREN", "FAMILY")
DIFFERENCE_KINDS = (
    "REMITTED_NOT_ENROLLED", "ENROLLED_NOT_REMITTED", "PLAN_MISMATCH", "TIER_MISMATCH",
    "RATE_MISMATCH",
)  # fmt: skip


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remittance_threshold_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("remittance_threshold_percent", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "remittance_threshold_cents_not_negative", "remittance_threshold_cents >= 0"
        )
        batch_op.create_check_constraint(
            "remittance_threshold_percent_range", "remittance_threshold_percent BETWEEN 0 AND 100"
        )
    _create_remittances()
    _create_lines()
    _create_differences()


def _create_remittances() -> None:
    op.create_table(
        "remittances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column(
            "status",
            _enum("remittance_status", "ACCEPTED", "EXCEPTION", "REJECTED", "SUPERSEDED"),
            nullable=False,
        ),
        sa.Column("source", _enum("remittance_source", "LINES", "CSV"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_cents", sa.BigInteger(), nullable=False),
        sa.Column("threshold_cents", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("expected_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("submitted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("decision", _enum("remittance_decision", "ACCEPT", "REJECT"), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_by_user_id", sa.Integer(), nullable=True),
        _timestamp("resolved_at"),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        _timestamp("superseded_at"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_remittances_amount_not_negative")),
        sa.CheckConstraint(
            "expected_cents >= 0", name=op.f("ck_remittances_expected_not_negative")
        ),
        sa.CheckConstraint(
            "threshold_cents >= 0", name=op.f("ck_remittances_threshold_not_negative")
        ),
        sa.CheckConstraint(
            "(status = 'ACCEPTED') = (invoice_id IS NOT NULL)",
            name=op.f("ck_remittances_accepted_has_invoice"),
        ),
        sa.CheckConstraint(
            "(status = 'SUPERSEDED') = (superseded_at IS NOT NULL)",
            name=op.f("ck_remittances_superseded_has_time"),
        ),
        sa.CheckConstraint(
            "(decision IS NULL) = (resolved_at IS NULL)",
            name=op.f("ck_remittances_decision_has_time"),
        ),
        sa.CheckConstraint(
            "(status = 'REJECTED') = (decision IS NOT NULL AND decision = 'REJECT')",
            name=op.f("ck_remittances_rejected_by_decision"),
        ),
        sa.CheckConstraint(
            "decision IS NULL OR decision <> 'ACCEPT' OR status = 'ACCEPTED'",
            name=op.f("ck_remittances_accepted_by_decision"),
        ),
        sa.CheckConstraint(
            "decision IS NULL OR resolution_reason IS NOT NULL",
            name=op.f("ck_remittances_decision_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"],
            name=op.f("fk_remittances_group_id_groups"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"], ["users.id"],
            name=op.f("fk_remittances_submitted_by_user_id_users"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"],
            name=op.f("fk_remittances_invoice_id_invoices"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"], ["users.id"],
            name=op.f("fk_remittances_resolved_by_user_id_users"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["remittances.id"],
            name=op.f("fk_remittances_supersedes_id_remittances"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittances")),
        sa.UniqueConstraint(
            "group_id", "idempotency_key", name=op.f("uq_remittances_group_id_idempotency_key")
        ),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_remittances_invoice_id")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_remittances_supersedes_id")),
    )  # fmt: skip
    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.create_index(
            "uq_remittances_group_month_open",
            ["group_id", "month"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )
        batch_op.create_index(
            "ix_remittances_exceptions",
            ["id"],
            unique=False,
            sqlite_where=EXCEPTIONS,
            postgresql_where=EXCEPTIONS,
        )
        batch_op.create_index("ix_remittances_group_month", ["group_id", "month"], unique=False)


def _create_lines() -> None:
    op.create_table(
        "remittance_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_number", sa.String(length=20), nullable=False),
        sa.Column("plan_code", sa.String(length=40), nullable=False),
        sa.Column("tier", _enum("coverage_tier", *TIERS), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount_cents >= 0", name=op.f("ck_remittance_lines_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"],
            name=op.f("fk_remittance_lines_remittance_id_remittances"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_lines")),
        sa.UniqueConstraint(
            "remittance_id", "member_number",
            name=op.f("uq_remittance_lines_remittance_id_member_number"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("remittance_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remittance_lines_remittance_id"), ["remittance_id"], unique=False
        )


def _create_differences() -> None:
    op.create_table(
        "remittance_differences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind", _enum("remittance_difference_kind", *DIFFERENCE_KINDS), nullable=False
        ),
        sa.Column("member_number", sa.String(length=20), nullable=False),
        sa.Column("expected_plan_code", sa.String(length=40), nullable=True),
        sa.Column("expected_tier", _enum("expected_tier", *TIERS), nullable=True),
        sa.Column("expected_cents", sa.BigInteger(), nullable=False),
        sa.Column("remitted_plan_code", sa.String(length=40), nullable=True),
        sa.Column("remitted_tier", _enum("remitted_tier", *TIERS), nullable=True),
        sa.Column("remitted_cents", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"],
            name=op.f("fk_remittance_differences_remittance_id_remittances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_differences")),
    )  # fmt: skip
    with op.batch_alter_table("remittance_differences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remittance_differences_remittance_id"), ["remittance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("remittance_differences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_differences_remittance_id"))
    op.drop_table("remittance_differences")
    with op.batch_alter_table("remittance_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_lines_remittance_id"))
    op.drop_table("remittance_lines")
    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.drop_index("ix_remittances_group_month")
        batch_op.drop_index("ix_remittances_exceptions")
        batch_op.drop_index("uq_remittances_group_month_open")
    op.drop_table("remittances")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint("remittance_threshold_percent_range", type_="check")
        batch_op.drop_constraint("remittance_threshold_cents_not_negative", type_="check")
        batch_op.drop_column("remittance_threshold_percent")
        batch_op.drop_column("remittance_threshold_cents")
