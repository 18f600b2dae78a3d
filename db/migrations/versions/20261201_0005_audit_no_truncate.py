"""audit_events refuses TRUNCATE on PostgreSQL (the row triggers of 0002 do not fire for it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """SPEC §2 Audit: append-only. SQLite has no TRUNCATE (its DELETE trigger covers it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER tr_audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_audit_events_no_truncate ON audit_events")
