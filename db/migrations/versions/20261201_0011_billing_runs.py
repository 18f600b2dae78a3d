"""billing runs as jobs: the run of a coverage month, its progress and its counts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00

At most one run of a month is queued or running at a time (a partial unique index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_PROGRESS = sa.text("status IN ('QUEUED', 'RUNNING')")


def upgrade() -> None:
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("group_numbers", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED", "RUNNING", "COMPLETED", "FAILED",
                name="billing_run_status", native_enum=False, create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("groups_total", sa.Integer(), nullable=True),
        sa.Column("groups_done", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("rebuilt_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.Column("empty_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"], ["users.id"],
            name=op.f("fk_billing_runs_requested_by_user_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )  # fmt: skip
    op.create_index(
        "uq_billing_runs_month_in_progress",
        "billing_runs",
        ["month"],
        unique=True,
        sqlite_where=IN_PROGRESS,
        postgresql_where=IN_PROGRESS,
    )
    op.create_index("ix_billing_runs_due", "billing_runs", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_billing_runs_due", table_name="billing_runs")
    op.drop_index("uq_billing_runs_month_in_progress", table_name="billing_runs")
    op.drop_table("billing_runs")
