"""sync records by type and last sync also by id: PostgreSQL walks it for QuickBooks IDs' newest syncs

With (entity_type, last_synced_at) alone, PostgreSQL walked the index of every type's syncs backwards and skipped
the other types' rows (1.7 million at a million invoices) to order the ties by id; with the id in the index, this
one gives the whole order.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:03:00
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sync_records_type_synced", table_name="sync_records")
    op.create_index("ix_sync_records_type_synced", "sync_records", ["entity_type", "last_synced_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_sync_records_type_synced", table_name="sync_records")
    op.create_index("ix_sync_records_type_synced", "sync_records", ["entity_type", "last_synced_at"])
