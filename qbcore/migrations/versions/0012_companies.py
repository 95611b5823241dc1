"""companies: several QuickBooks companies at once; the single connection of earlier releases becomes the first

Every row that belongs to one QuickBooks company (its connection, customers, sync records, item and custom-field
mappings, pulled payments, drifts, settings) gains the company; everything already there goes to company 1, so a
single-company database keeps every QuickBooks id and behaves as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Settings that belong to one company (what syncs and how, where the pull left off, its closing date).
_COMPANY_KEYS = ("sync_settings", "pull_bookmarks", "qbo_book_close_date")
# Tables whose rows each belong to one company: (table, constraints to drop, constraints to create).
_OWNED = {
    "qbo_connections": ([], [("uq_qbo_connections_company_id", ["company_id"])]),
    "customers": ([], []),
    "sync_records": ([("uq_sync_records_entity_type_entity_id", "unique")],
                     [("uq_sync_records_company_id_entity_type_entity_id", ["company_id", "entity_type", "entity_id"])]),
    "item_mappings": ([("uq_item_mappings_charge_code_id", "unique")],
                      [("uq_item_mappings_company_id_charge_code_id", ["company_id", "charge_code_id"])]),
    "pulled_payments": ([("uq_pulled_payments_qbo_payment_id_qbo_invoice_id", "unique")],
                        [("uq_pulled_payments_company_id_qbo_payment_id_qbo_invoice_id",
                          ["company_id", "qbo_payment_id", "qbo_invoice_id"])]),
    "drifts": ([], []),
}


def _rebuild() -> str:
    """SQLite changes a column or constraint only by rebuilding the table; PostgreSQL alters it in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("driver_pay", sa.Boolean(), nullable=False),
        sa.Column("carrier_pay", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("name", name=op.f("uq_companies_name")),
    )
    bind = op.get_bind()
    # The first company is the one connection earlier releases knew (named as QuickBooks names it), or a
    # placeholder name a fresh database starts with; it is the default and holds both pay functions.
    name = bind.execute(sa.text(
        "SELECT company_name FROM qbo_connections WHERE company_name IS NOT NULL ORDER BY id LIMIT 1")).scalar()
    bind.execute(sa.text(
        "INSERT INTO companies (id, name, is_default, driver_pay, carrier_pay, created_at, created_by) "
        "VALUES (1, :name, :yes, :yes, :yes, CURRENT_TIMESTAMP, 'upgrade')"),
        {"name": (name or "QuickBooks company")[:100], "yes": True})
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('companies', 'id'), 1)"))

    op.create_table(
        "company_settings",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_company_settings_company_id_companies"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("company_id", "key", name=op.f("pk_company_settings")),
    )
    keys = sa.bindparam("keys", expanding=True)
    bind.execute(sa.text(
        "INSERT INTO company_settings (company_id, key, value, updated_at, updated_by) "
        "SELECT 1, key, value, updated_at, updated_by FROM settings WHERE key IN :keys").bindparams(keys),
        {"keys": list(_COMPANY_KEYS)})
    bind.execute(sa.text("DELETE FROM settings WHERE key IN :keys").bindparams(keys), {"keys": list(_COMPANY_KEYS)})

    for table, (drops, uniques) in _OWNED.items():
        with op.batch_alter_table(table, recreate=_rebuild()) as batch_op:
            batch_op.add_column(sa.Column("company_id", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET company_id = 1")  # noqa: S608 - table names are this module's constants
        with op.batch_alter_table(table, recreate=_rebuild()) as batch_op:
            batch_op.alter_column("company_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(op.f(f"fk_{table}_company_id_companies"), "companies", ["company_id"], ["id"])
            for constraint, kind in drops:
                batch_op.drop_constraint(constraint, type_=kind)
            for constraint, columns in uniques:
                batch_op.create_unique_constraint(constraint, columns)
    with op.batch_alter_table("customers") as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_company_id"), ["company_id"], unique=False)
    with op.batch_alter_table("sync_records") as batch_op:
        batch_op.create_index("ix_sync_records_company_type_status", ["company_id", "entity_type", "status"],
                              unique=False)
    with op.batch_alter_table("drifts") as batch_op:
        batch_op.drop_index("ix_drifts_open")
        batch_op.create_index("ix_drifts_open", ["company_id", "entity_type", "qbo_id", "resolved_at"], unique=False)

    # Custom-field slots are per company: the key becomes (company, slot).
    with op.batch_alter_table("custom_field_mappings", recreate=_rebuild()) as batch_op:
        batch_op.add_column(sa.Column("company_id", sa.Integer(), nullable=True))
    op.execute("UPDATE custom_field_mappings SET company_id = 1")
    with op.batch_alter_table("custom_field_mappings", recreate=_rebuild()) as batch_op:
        batch_op.alter_column("company_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("pk_custom_field_mappings", type_="primary")
        batch_op.create_primary_key("pk_custom_field_mappings", ["company_id", "slot"])
        batch_op.create_foreign_key(op.f("fk_custom_field_mappings_company_id_companies"), "companies",
                                    ["company_id"], ["id"])

    # The audit log is append-only (its triggers forbid UPDATE): the column is added, old events keep NULL.
    op.add_column("audit_events", sa.Column("company_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_events_company_id"), "audit_events", ["company_id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("0012 is not reversible: a database with several companies cannot be made single")
