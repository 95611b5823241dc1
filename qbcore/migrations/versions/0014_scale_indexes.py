"""scale indexes: find a billing record's sync record by (entity type, entity id) without scanning its whole type

At a million invoices, ensure_sync_records' NOT EXISTS and the payments' "where did its bill go" lookup searched
every record of the type for each row (quadratic); the first index makes each one a single seek. Home's counts of
what waits scanned every sync record; the second lets them read only the records in a problem status. The third
makes "last sync" (the newest last_synced_at) a seek.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:10:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the indexes."""
    op.create_index("ix_sync_records_type_entity", "sync_records", ["entity_type", "entity_id"])
    op.create_index("ix_sync_records_status_type", "sync_records", ["status", "entity_type", "company_id", "entity_id"])
    op.create_index("ix_sync_records_last_synced_at", "sync_records", ["last_synced_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_sync_records_last_synced_at", table_name="sync_records")
    op.drop_index("ix_sync_records_status_type", table_name="sync_records")
    op.drop_index("ix_sync_records_type_entity", table_name="sync_records")
