"""pulled bill payments: bills paid in QuickBooks (by check or card, entered there) come back to billing

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulled_bill_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("qbo_bill_payment_id", sa.String(length=32), nullable=False),
        sa.Column("qbo_bill_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("pay_type", sa.String(length=12), nullable=True),
        sa.Column("txn_date", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"],
                                name=op.f("fk_pulled_bill_payments_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulled_bill_payments")),
        sa.UniqueConstraint("company_id", "qbo_bill_payment_id", "qbo_bill_id",
                            name=op.f("uq_pulled_bill_payments_company_id_qbo_bill_payment_id_qbo_bill_id")),
    )
    op.create_index("ix_pulled_bill_payments_entity", "pulled_bill_payments", ["entity_type", "entity_id", "status"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_pulled_bill_payments_entity", table_name="pulled_bill_payments")
    op.drop_table("pulled_bill_payments")
