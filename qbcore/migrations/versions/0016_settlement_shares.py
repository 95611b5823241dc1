"""settlement shares: a settlement's QuickBooks bills, one per payee (a settlement split per fleet owner has several)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("doc_number", sa.String(length=21), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=False),
        sa.Column("pay_total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("deduction_total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("net_pay", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_settlement_shares_position_positive")),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"], ondelete="CASCADE",
                                name=op.f("fk_settlement_shares_settlement_id_settlements")),
        sa.ForeignKeyConstraint(["payee_id"], ["vendors.id"], name=op.f("fk_settlement_shares_payee_id_vendors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_shares")),
        sa.UniqueConstraint("settlement_id", "position", name=op.f("uq_settlement_shares_settlement_id_position")),
        sa.UniqueConstraint("settlement_id", "payee_id", name=op.f("uq_settlement_shares_settlement_id_payee_id")),
    )
    op.create_index(op.f("ix_settlement_shares_payee_id"), "settlement_shares", ["payee_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_settlement_shares_payee_id"), table_name="settlement_shares")
    op.drop_table("settlement_shares")
