"""members: indexes for duplicate detection (name and date of birth, or SSN, in a group)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:25:00

The check runs for every added member; without this index it read the whole group, so a
large group's enrolment file slowed down as it went (each family scanned all the others).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_members_identity",
        "members",
        ["group_id", sa.text("lower(last_name)"), "date_of_birth"],
        unique=False,
    )
    op.create_index("ix_members_group_ssn", "members", ["group_id", "ssn_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_members_group_ssn", table_name="members")
    op.drop_index("ix_members_identity", table_name="members")
