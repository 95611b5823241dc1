"""sync records by type and last sync: QuickBooks IDs reads each entity's newest syncs from an index

At a million invoices the grid sorted every linked record to show the newest 5,000 (1.4 s); with this index each
entity's part walks its newest rows.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:10:00
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_records_type_synced", "sync_records", ["entity_type", "last_synced_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_records_type_synced", table_name="sync_records")
