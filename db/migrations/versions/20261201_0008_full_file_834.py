"""full-file 834s: the group's setting, the file's comparison, and a status to wait for a rep

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:30:00

A full file (BGN08 RX or 4) is compared with the roster. Members it leaves out are
terminated only when the group says so, and never beyond its safety share without a
rep (``AWAITING_APPROVAL``). The decided changes are kept with the file's bytes so that a
resumed job applies the same ones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("RECEIVED", "VALIDATING", "APPLYING", "COMPLETED", "COMPLETED_WITH_ERRORS", "REJECTED")
AFTER = (*BEFORE[:3], "AWAITING_APPROVAL", *BEFORE[3:])


def _status(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="file_status", native_enum=False, create_constraint=True)


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "full_file_terminates_missing",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("full_file_safety_percent", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "full_file_safety_percent_range", "full_file_safety_percent BETWEEN 1 AND 100"
        )
    with op.batch_alter_table("eligibility_files", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=_status(BEFORE), type_=_status(AFTER), existing_nullable=False
        )
        batch_op.add_column(
            sa.Column("full_file", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("missing_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_eligibility_files_reviewed_by_user_id_users"),
            "users",
            ["reviewed_by_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("eligibility_file_contents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eligibility_file_contents", schema=None) as batch_op:
        batch_op.drop_column("plan")
    op.execute(
        "UPDATE eligibility_files SET status = 'REJECTED' WHERE status = 'AWAITING_APPROVAL'"
    )
    with op.batch_alter_table("eligibility_files", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_eligibility_files_reviewed_by_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_user_id")
        batch_op.drop_column("missing_count")
        batch_op.drop_column("full_file")
        batch_op.alter_column(
            "status", existing_type=_status(AFTER), type_=_status(BEFORE), existing_nullable=False
        )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint("full_file_safety_percent_range", type_="check")
        batch_op.drop_column("full_file_safety_percent")
        batch_op.drop_column("full_file_terminates_missing")
