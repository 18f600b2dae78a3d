"""delinquency: episodes, transitions, letters, daily runs, per-group thresholds, grace
extensions, and the coverage a group termination ended (for reinstatement)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00

One OPEN episode per group, one transition and one letter of a stage per episode, one
run of a date in progress (partial unique indexes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delinquency_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "CURED",
                "TERMINATED",
                "REINSTATED",
                name="episode_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "stage",
            sa.Enum(
                "DELINQUENT",
                "SECOND_NOTICE",
                "SUSPENDED",
                "TERMINATED",
                name="delinquency_stage",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("past_due_since", sa.Date(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("cured_on", sa.Date(), nullable=True),
        sa.Column("oldest_due_date", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("past_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_through_date", sa.Date(), nullable=True),
        sa.Column("termination_date", sa.Date(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_delinquency_episodes_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delinquency_episodes")),
    )
    op.create_index(
        "ix_delinquency_episodes_group_id", "delinquency_episodes", ["group_id"], unique=False
    )
    op.create_index(
        "ix_delinquency_episodes_status_stage",
        "delinquency_episodes",
        ["status", "stage"],
        unique=False,
    )
    op.create_index(
        "uq_delinquency_episodes_one_open",
        "delinquency_episodes",
        ["group_id"],
        unique=True,
        sqlite_where=sa.text("status = 'OPEN'"),
        postgresql_where=sa.text("status = 'OPEN'"),
    )

    op.create_table(
        "delinquency_policies",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("first_notice_days", sa.Integer(), nullable=False),
        sa.Column("second_notice_days", sa.Integer(), nullable=False),
        sa.Column("suspension_days", sa.Integer(), nullable=False),
        sa.Column("termination_days", sa.Integer(), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "first_notice_days >= 1 AND second_notice_days > first_notice_days AND suspension_days > second_notice_days AND termination_days > suspension_days",
            name=op.f("ck_delinquency_policies_stages_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_delinquency_policies_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_delinquency_policies_updated_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_delinquency_policies")),
    )
    op.create_table(
        "delinquency_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED",
                "RUNNING",
                "COMPLETED",
                "FAILED",
                name="delinquency_run_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("groups_total", sa.Integer(), nullable=True),
        sa.Column("groups_done", sa.Integer(), nullable=False),
        sa.Column("transitions_count", sa.Integer(), nullable=False),
        sa.Column("letters_count", sa.Integer(), nullable=False),
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
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_delinquency_runs_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delinquency_runs")),
    )
    op.create_index(
        "ix_delinquency_runs_due", "delinquency_runs", ["status", "lease_until"], unique=False
    )
    op.create_index(
        "uq_delinquency_runs_date_in_progress",
        "delinquency_runs",
        ["as_of"],
        unique=True,
        sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )

    op.create_table(
        "grace_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("extra_days", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_grace_extensions_ends_after_start")
        ),
        sa.CheckConstraint(
            "extra_days BETWEEN 1 AND 180", name=op.f("ck_grace_extensions_extra_days_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_grace_extensions_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grace_extensions")),
    )
    op.create_table(
        "delinquency_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "FIRST_NOTICE",
                "SECOND_NOTICE",
                "SUSPENSION",
                "TERMINATION",
                "REINSTATEMENT",
                name="letter_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT", "SENT", name="letter_status", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("past_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("past_due_since", sa.Date(), nullable=False),
        sa.Column("paid_through_date", sa.Date(), nullable=True),
        sa.Column("action_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(status = 'SENT') = (sent_at IS NOT NULL)",
            name=op.f("ck_delinquency_letters_sent_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["delinquency_episodes.id"],
            name=op.f("fk_delinquency_letters_episode_id_delinquency_episodes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_delinquency_letters_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_user_id"],
            ["users.id"],
            name=op.f("fk_delinquency_letters_sent_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delinquency_letters")),
    )
    op.create_index(
        "ix_delinquency_letters_group_status",
        "delinquency_letters",
        ["group_id", "status"],
        unique=False,
    )
    op.create_index(
        "uq_delinquency_letters_once", "delinquency_letters", ["episode_id", "kind"], unique=True
    )

    op.create_table(
        "delinquency_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "event",
            sa.Enum(
                "DELINQUENT",
                "SECOND_NOTICE",
                "SUSPENDED",
                "TERMINATED",
                "CURED",
                "REOPENED",
                "REINSTATED",
                name="delinquency_event",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("past_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_through_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["delinquency_episodes.id"],
            name=op.f("fk_delinquency_transitions_episode_id_delinquency_episodes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_delinquency_transitions_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["delinquency_runs.id"],
            name=op.f("fk_delinquency_transitions_run_id_delinquency_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_delinquency_transitions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delinquency_transitions")),
    )
    op.create_index(
        "ix_delinquency_transitions_episode_id",
        "delinquency_transitions",
        ["episode_id"],
        unique=False,
    )
    op.create_index(
        "ix_delinquency_transitions_group_id", "delinquency_transitions", ["group_id"], unique=False
    )
    op.create_index(
        "uq_delinquency_transitions_stage_once",
        "delinquency_transitions",
        ["episode_id", "event"],
        unique=True,
        sqlite_where=sa.text("event IN ('DELINQUENT', 'SECOND_NOTICE', 'SUSPENDED', 'TERMINATED')"),
        postgresql_where=sa.text(
            "event IN ('DELINQUENT', 'SECOND_NOTICE', 'SUSPENDED', 'TERMINATED')"
        ),
    )

    op.create_table(
        "coverage_endings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("coverage_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("group_plan_id", sa.Integer(), nullable=False),
        sa.Column(
            "tier",
            sa.Enum(
                "EMPLOYEE",
                "EMPLOYEE_SPOUSE",
                "EMPLOYEE_CHILDREN",
                "FAMILY",
                name="coverage_tier",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("previous_termination_date", sa.Date(), nullable=True),
        sa.Column(
            "member_status",
            sa.Enum(
                "ACTIVE",
                "TERMINATED",
                "MERGED",
                name="member_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.id"],
            name=op.f("fk_coverage_endings_coverage_id_coverages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_coverage_endings_group_id_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["group_plan_id"],
            ["group_plans.id"],
            name=op.f("fk_coverage_endings_group_plan_id_group_plans"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_coverage_endings_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_endings")),
    )
    op.create_index(
        "ix_coverage_endings_group_ended",
        "coverage_endings",
        ["group_id", "ended_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_coverage_endings_group_ended", table_name="coverage_endings")

    op.drop_table("coverage_endings")
    op.drop_index("uq_delinquency_transitions_stage_once", table_name="delinquency_transitions")
    op.drop_index("ix_delinquency_transitions_group_id", table_name="delinquency_transitions")
    op.drop_index("ix_delinquency_transitions_episode_id", table_name="delinquency_transitions")

    op.drop_table("delinquency_transitions")
    op.drop_index("uq_delinquency_letters_once", table_name="delinquency_letters")
    op.drop_index("ix_delinquency_letters_group_status", table_name="delinquency_letters")

    op.drop_table("delinquency_letters")
    op.drop_table("grace_extensions")
    op.drop_index("uq_delinquency_runs_date_in_progress", table_name="delinquency_runs")
    op.drop_index("ix_delinquency_runs_due", table_name="delinquency_runs")

    op.drop_table("delinquency_runs")
    op.drop_table("delinquency_policies")
    op.drop_index("uq_delinquency_episodes_one_open", table_name="delinquency_episodes")
    op.drop_index("ix_delinquency_episodes_status_stage", table_name="delinquency_episodes")
    op.drop_index("ix_delinquency_episodes_group_id", table_name="delinquency_episodes")

    op.drop_table("delinquency_episodes")
