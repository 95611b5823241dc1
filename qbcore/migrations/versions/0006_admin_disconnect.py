"""an admin's disconnect is remembered, so nothing reconnects on its own

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qbo_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disconnected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disconnected_by", sa.String(length=200), nullable=True))
    # A company the previous release left disconnected was disconnected by someone: the audit log says who.
    last_disconnect = ("SELECT {col} FROM audit_events WHERE action = 'disconnect_quickbooks' AND outcome = 'ok' "
                       "ORDER BY at DESC, id DESC LIMIT 1")
    op.execute(
        "UPDATE qbo_connections SET "
        f"disconnected_at = ({last_disconnect.format(col='at')}), "
        f"disconnected_by = ({last_disconnect.format(col='actor')}) "
        "WHERE status = 'disconnected' AND connected_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("qbo_connections", schema=None) as batch_op:
        batch_op.drop_column("disconnected_by")
        batch_op.drop_column("disconnected_at")
