"""pay code accounts per company: a pay or deduction code maps to an expense account of each QuickBooks company

Each company has its own chart of accounts, so a mapping belongs to one company, as charge code → item mappings
do. Every mapping already there goes to the company that holds driver pay (the default company when none does),
keeping its QuickBooks ids; when another company holds carrier pay, it gets a copy of each mapping by account
name (the name is what the sync looks up in each company; the ids were read from another company's file), so its
carrier bills post where they posted before the upgrade.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLE = "payables_account_mappings"


def _rebuild() -> str:
    """SQLite changes a column or constraint only by rebuilding the table; PostgreSQL alters it in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def _pay_company(bind: sa.Connection, column: str) -> int | None:
    """The company holding a pay function, else the default company, else the first (None: no company yet)."""
    for where in (f"{column} = :yes", "is_default = :yes", "1 = 1"):
        found = bind.execute(sa.text(f"SELECT id FROM companies WHERE {where} ORDER BY id LIMIT 1"),  # noqa: S608
                             {"yes": True}).scalar()
        if found is not None:
            return int(found)
    return None


def upgrade() -> None:
    """Give every mapping its company; a code is unique per company."""
    with op.batch_alter_table(_TABLE, recreate=_rebuild()) as batch_op:
        batch_op.add_column(sa.Column("company_id", sa.Integer(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # rows written with their own ids leave the sequence behind
        bind.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{_TABLE}', 'id'), "  # noqa: S608
                             f"COALESCE((SELECT MAX(id) FROM {_TABLE}), 0) + 1, false)"))
    driver = _pay_company(bind, "driver_pay")
    carrier = _pay_company(bind, "carrier_pay")
    if driver is not None:
        bind.execute(sa.text(f"UPDATE {_TABLE} SET company_id = :company"), {"company": driver})  # noqa: S608
    with op.batch_alter_table(_TABLE, recreate=_rebuild()) as batch_op:
        batch_op.alter_column("company_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(op.f(f"fk_{_TABLE}_company_id_companies"), "companies", ["company_id"], ["id"])
        batch_op.drop_constraint(f"uq_{_TABLE}_pay_code_id", type_="unique")
        batch_op.drop_constraint(f"uq_{_TABLE}_deduction_code_id", type_="unique")
        batch_op.create_unique_constraint(f"uq_{_TABLE}_company_id_pay_code_id", ["company_id", "pay_code_id"])
        batch_op.create_unique_constraint(f"uq_{_TABLE}_company_id_deduction_code_id",
                                          ["company_id", "deduction_code_id"])
    if carrier is not None and carrier != driver:
        bind.execute(sa.text(
            f"INSERT INTO {_TABLE} (company_id, pay_code_id, deduction_code_id, qbo_account_name, qbo_account_id, "  # noqa: S608
            "qbo_item_id, qbo_item_name, updated_at) SELECT :carrier, pay_code_id, deduction_code_id, "
            f"qbo_account_name, NULL, NULL, qbo_item_name, updated_at FROM {_TABLE} WHERE company_id = :driver"),
            {"carrier": carrier, "driver": driver})


def downgrade() -> None:
    """Not reversible: two companies' mappings of one code cannot become one."""
    raise NotImplementedError("0017 is not reversible: a code mapped in several companies cannot be mapped once")
