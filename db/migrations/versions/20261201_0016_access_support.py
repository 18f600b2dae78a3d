"""access support: access issues and their history, rate-limit counters, password-reset
links

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counters")),
    )
    op.create_table(
        "access_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "CANT_LOG_IN",
                "LOCKED_OUT",
                "LOST_MFA",
                "MISSING_PERMISSION",
                "OTHER",
                name="access_issue_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "IN_PROGRESS",
                "WAITING_ON_CLIENT",
                "RESOLVED",
                name="access_issue_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_email", sa.String(length=320), nullable=False),
        sa.Column("reporter_email_key", sa.String(length=320), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("group_number", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("subject_user_id", sa.Integer(), nullable=True),
        sa.Column("assigned_to_user_id", sa.Integer(), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_user_id"],
            ["users.id"],
            name=op.f("fk_access_issues_assigned_to_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"],
            ["users.id"],
            name=op.f("fk_access_issues_reporter_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_user_id"],
            ["users.id"],
            name=op.f("fk_access_issues_subject_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_issues")),
        sa.UniqueConstraint("reference", name=op.f("uq_access_issues_reference")),
    )
    op.create_index(
        "ix_access_issues_assigned_to_user_id",
        "access_issues",
        ["assigned_to_user_id"],
        unique=False,
    )
    op.create_index(
        "ix_access_issues_reporter_email_key", "access_issues", ["reporter_email_key"], unique=False
    )
    op.create_index(
        "ix_access_issues_status_due",
        "access_issues",
        ["status", "first_response_due_at"],
        unique=False,
    )
    op.create_index(
        "ix_access_issues_subject_user_id", "access_issues", ["subject_user_id"], unique=False
    )

    op.create_table(
        "access_issue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "NOTE",
                "REPLY",
                "STATUS",
                "RESET",
                name="access_issue_entry_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_access_issue_entries_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["access_issues.id"],
            name=op.f("fk_access_issue_entries_issue_id_access_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_issue_entries")),
    )
    op.create_index(
        "ix_access_issue_entries_issue_id", "access_issue_entries", ["issue_id"], unique=False
    )

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("access_issue_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["access_issue_id"],
            ["access_issues.id"],
            name=op.f("fk_password_resets_access_issue_id_access_issues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_password_resets_user_id", table_name="password_resets")

    op.drop_table("password_resets")
    op.drop_index("ix_access_issue_entries_issue_id", table_name="access_issue_entries")

    op.drop_table("access_issue_entries")
    op.drop_index("ix_access_issues_subject_user_id", table_name="access_issues")
    op.drop_index("ix_access_issues_status_due", table_name="access_issues")
    op.drop_index("ix_access_issues_reporter_email_key", table_name="access_issues")
    op.drop_index("ix_access_issues_assigned_to_user_id", table_name="access_issues")

    op.drop_table("access_issues")
    op.drop_table("rate_limit_counters")
