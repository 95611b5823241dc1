"""quota windows: each company's recent QuickBooks requests, shared by every worker (a lease handoff keeps quotas)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_windows",
        sa.Column("realm_key", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("realm_key", name=op.f("pk_quota_windows")),
    )


def downgrade() -> None:
    op.drop_table("quota_windows")
