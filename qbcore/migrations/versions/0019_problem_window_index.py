"""sync records by type and status carry the problem list's sort keys: its window is read from the index alone

At a million invoices and 200,000 problems, choosing the 500 oldest problems read every problem's row from the table
(0.26 s); with the first failure, company and billing row in the index it reads the index alone (0.14 s). The index
keeps its first three columns, so what it served before it still serves.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:45:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_WIDE = ["entity_type", "status", "last_attempt_at", "first_failed_at", "company_id", "entity_id"]


def upgrade() -> None:
    op.drop_index("ix_sync_records_type_status", table_name="sync_records")
    op.create_index("ix_sync_records_type_status", "sync_records", _WIDE)


def downgrade() -> None:
    op.drop_index("ix_sync_records_type_status", table_name="sync_records")
    op.create_index("ix_sync_records_type_status", "sync_records", ["entity_type", "status", "last_attempt_at"])
