"""void bills: a settlement or carrier bill can be voided in billing (status 'void')

A voided one that never synced stays home; one that synced has its QuickBooks bill deleted, and its sync record
says so (status 'removed', a plain string column: no constraint to change there).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_STATUSES = {
    "settlements": ("'draft', 'finalized', 'paid'", "'draft', 'finalized', 'paid', 'void'"),
    "carrier_bills": ("'received', 'accepted', 'disputed', 'paid'",
                      "'received', 'accepted', 'disputed', 'paid', 'void'"),
}


def _rebuild() -> str:
    """SQLite changes a constraint only by rebuilding the table; PostgreSQL alters it in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def _set_statuses(new: bool) -> None:
    for table, (old_list, new_list) in _STATUSES.items():
        with op.batch_alter_table(table, recreate=_rebuild()) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_status_known"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_status_known"),
                                             sa.text(f"status IN ({new_list if new else old_list})"))


def upgrade() -> None:
    """Allow status 'void' on settlements and carrier bills."""
    _set_statuses(new=True)


def downgrade() -> None:
    """Voided rows go back to the status a void replaced closest: a draft settlement, a received carrier bill."""
    op.execute("UPDATE settlements SET status = 'draft', finalized_at = NULL WHERE status = 'void'")
    op.execute("UPDATE carrier_bills SET status = 'received' WHERE status = 'void'")
    op.execute("UPDATE sync_records SET status = 'cleared' WHERE status = 'removed'")
    _set_statuses(new=False)
