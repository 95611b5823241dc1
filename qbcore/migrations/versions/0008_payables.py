"""payables: vendors (drivers, fleet owners, carriers), trucks, pay and deduction codes, settlements, carrier bills

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:55:17.284610
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('deduction_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deduction_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_deduction_codes_code'))
    )
    op.create_table('pay_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_pay_codes_code'))
    )
    op.create_table('vendors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qbo_display_name', sa.String(length=500), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('is_driver', sa.Boolean(), nullable=False),
    sa.Column('is_fleet_owner', sa.Boolean(), nullable=False),
    sa.Column('is_carrier', sa.Boolean(), nullable=False),
    sa.Column('is_1099', sa.Boolean(), nullable=False),
    sa.Column('terms', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('address_line1', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=40), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=60), nullable=False),
    sa.Column('mc_number', sa.String(length=20), nullable=True),
    sa.Column('dot_number', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('is_driver OR is_fleet_owner OR is_carrier', name=op.f('ck_vendors_has_a_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendors')),
    sa.UniqueConstraint('code', name=op.f('uq_vendors_code'))
    )
    op.create_table('payables_account_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pay_code_id', sa.Integer(), nullable=True),
    sa.Column('deduction_code_id', sa.Integer(), nullable=True),
    sa.Column('qbo_account_name', sa.String(length=100), nullable=True),
    sa.Column('qbo_account_id', sa.String(length=32), nullable=True),
    sa.Column('qbo_item_id', sa.String(length=32), nullable=True),
    sa.Column('qbo_item_name', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(pay_code_id IS NULL) <> (deduction_code_id IS NULL)', name=op.f('ck_payables_account_mappings_exactly_one_code')),
    sa.ForeignKeyConstraint(['deduction_code_id'], ['deduction_codes.id'], name=op.f('fk_payables_account_mappings_deduction_code_id_deduction_codes')),
    sa.ForeignKeyConstraint(['pay_code_id'], ['pay_codes.id'], name=op.f('fk_payables_account_mappings_pay_code_id_pay_codes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payables_account_mappings')),
    sa.UniqueConstraint('deduction_code_id', name=op.f('uq_payables_account_mappings_deduction_code_id')),
    sa.UniqueConstraint('pay_code_id', name=op.f('uq_payables_account_mappings_pay_code_id'))
    )
    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=21), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('settlement_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('pay_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('deduction_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('net_pay', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name=op.f('ck_settlements_paid_has_date')),
    sa.CheckConstraint("status <> 'draft' OR finalized_at IS NULL", name=op.f('ck_settlements_draft_not_finalized')),
    sa.CheckConstraint("status IN ('draft', 'finalized', 'paid')", name=op.f('ck_settlements_status_known')),
    sa.CheckConstraint('abs(net_pay - (pay_total - deduction_total)) < 0.005', name=op.f('ck_settlements_net_is_pay_less_deductions')),
    sa.CheckConstraint('pay_total >= 0 AND deduction_total >= 0', name=op.f('ck_settlements_totals_not_negative')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_settlements_period_in_order')),
    sa.CheckConstraint('settlement_date >= period_end', name=op.f('ck_settlements_settled_after_period')),
    sa.ForeignKeyConstraint(['driver_id'], ['vendors.id'], name=op.f('fk_settlements_driver_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements')),
    sa.UniqueConstraint('driver_id', 'period_start', name=op.f('uq_settlements_driver_id_period_start')),
    sa.UniqueConstraint('number', name=op.f('uq_settlements_number'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_settlement_date'), ['settlement_date'], unique=False)
        batch_op.create_index('ix_settlements_status_date', ['status', 'settlement_date'], unique=False)

    op.create_table('trucks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('plate_number', sa.String(length=20), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['vendors.id'], name=op.f('fk_trucks_owner_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trucks')),
    sa.UniqueConstraint('number', name=op.f('uq_trucks_number'))
    )
    with op.batch_alter_table('trucks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trucks_owner_id'), ['owner_id'], unique=False)

    op.create_table('carrier_bills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('carrier_invoice_number', sa.String(length=21), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('terms', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('dispute_reason', sa.String(length=400), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name=op.f('ck_carrier_bills_paid_has_date')),
    sa.CheckConstraint("status <> 'disputed' OR dispute_reason IS NOT NULL", name=op.f('ck_carrier_bills_dispute_has_reason')),
    sa.CheckConstraint("status IN ('received', 'accepted', 'disputed', 'paid')", name=op.f('ck_carrier_bills_status_known')),
    sa.CheckConstraint('due_date >= bill_date', name=op.f('ck_carrier_bills_due_after_bill')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_carrier_bills_total_not_negative')),
    sa.ForeignKeyConstraint(['carrier_id'], ['vendors.id'], name=op.f('fk_carrier_bills_carrier_id_vendors')),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], name=op.f('fk_carrier_bills_load_id_loads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_bills')),
    sa.UniqueConstraint('carrier_id', 'carrier_invoice_number', name=op.f('uq_carrier_bills_carrier_id_carrier_invoice_number'))
    )
    with op.batch_alter_table('carrier_bills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_bills_bill_date'), ['bill_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrier_bills_carrier_id'), ['carrier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrier_bills_load_id'), ['load_id'], unique=False)
        batch_op.create_index('ix_carrier_bills_status_date', ['status', 'bill_date'], unique=False)

    op.create_table('settlement_deductions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('deduction_code_id', sa.Integer(), nullable=False),
    sa.Column('truck_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_settlement_deductions_amount_positive')),
    sa.ForeignKeyConstraint(['deduction_code_id'], ['deduction_codes.id'], name=op.f('fk_settlement_deductions_deduction_code_id_deduction_codes')),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_settlement_deductions_settlement_id_settlements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['truck_id'], ['trucks.id'], name=op.f('fk_settlement_deductions_truck_id_trucks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_deductions'))
    )
    with op.batch_alter_table('settlement_deductions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_deductions_deduction_code_id'), ['deduction_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_deductions_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('settlement_loads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('truck_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], name=op.f('fk_settlement_loads_load_id_loads')),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_settlement_loads_settlement_id_settlements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['truck_id'], ['trucks.id'], name=op.f('fk_settlement_loads_truck_id_trucks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_loads')),
    sa.UniqueConstraint('settlement_id', 'load_id', name=op.f('uq_settlement_loads_settlement_id_load_id'))
    )
    with op.batch_alter_table('settlement_loads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_loads_load_id'), ['load_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_loads_truck_id'), ['truck_id'], unique=False)

    op.create_table('carrier_bill_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_bill_id', sa.Integer(), nullable=False),
    sa.Column('pay_code_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_carrier_bill_lines_amount_not_negative')),
    sa.ForeignKeyConstraint(['carrier_bill_id'], ['carrier_bills.id'], name=op.f('fk_carrier_bill_lines_carrier_bill_id_carrier_bills'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pay_code_id'], ['pay_codes.id'], name=op.f('fk_carrier_bill_lines_pay_code_id_pay_codes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_bill_lines'))
    )
    with op.batch_alter_table('carrier_bill_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_bill_lines_carrier_bill_id'), ['carrier_bill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrier_bill_lines_pay_code_id'), ['pay_code_id'], unique=False)

    op.create_table('settlement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_load_id', sa.Integer(), nullable=False),
    sa.Column('pay_code_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('rate', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_settlement_lines_amount_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_settlement_lines_quantity_positive')),
    sa.CheckConstraint('rate >= 0', name=op.f('ck_settlement_lines_rate_not_negative')),
    sa.ForeignKeyConstraint(['pay_code_id'], ['pay_codes.id'], name=op.f('fk_settlement_lines_pay_code_id_pay_codes')),
    sa.ForeignKeyConstraint(['settlement_load_id'], ['settlement_loads.id'], name=op.f('fk_settlement_lines_settlement_load_id_settlement_loads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_lines'))
    )
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_lines_pay_code_id'), ['pay_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_lines_settlement_load_id'), ['settlement_load_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_lines_settlement_load_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_lines_pay_code_id'))

    op.drop_table('settlement_lines')
    with op.batch_alter_table('carrier_bill_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_bill_lines_pay_code_id'))
        batch_op.drop_index(batch_op.f('ix_carrier_bill_lines_carrier_bill_id'))

    op.drop_table('carrier_bill_lines')
    with op.batch_alter_table('settlement_loads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_loads_truck_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_loads_load_id'))

    op.drop_table('settlement_loads')
    with op.batch_alter_table('settlement_deductions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_deductions_settlement_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_deductions_deduction_code_id'))

    op.drop_table('settlement_deductions')
    with op.batch_alter_table('carrier_bills', schema=None) as batch_op:
        batch_op.drop_index('ix_carrier_bills_status_date')
        batch_op.drop_index(batch_op.f('ix_carrier_bills_load_id'))
        batch_op.drop_index(batch_op.f('ix_carrier_bills_carrier_id'))
        batch_op.drop_index(batch_op.f('ix_carrier_bills_bill_date'))

    op.drop_table('carrier_bills')
    with op.batch_alter_table('trucks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trucks_owner_id'))

    op.drop_table('trucks')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_settlements_status_date')
        batch_op.drop_index(batch_op.f('ix_settlements_settlement_date'))
        batch_op.drop_index(batch_op.f('ix_settlements_driver_id'))

    op.drop_table('settlements')
    op.drop_table('payables_account_mappings')
    op.drop_table('vendors')
    op.drop_table('pay_codes')
    op.drop_table('deduction_codes')

