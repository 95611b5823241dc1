"""Database guards: append-only audit log, applications never exceeding amounts.

Revision ID: 0002
Revises: 0001
"""

import re

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Each guard: (name, table, event, condition that must NOT hold, message). In conditions, "a > b"
# comparisons of money are written GT(a, b) so SQLite (which keeps Numeric as REAL) compares cents.
_GUARDS = [
    (
        "audit_no_update", "audit_events", "UPDATE", "1 = 1",
        "audit events are append-only",
    ),
    (
        "audit_no_delete", "audit_events", "DELETE", "1 = 1",
        "audit events are append-only",
    ),
    (
        "payment_not_over_applied", "payment_applications", "INSERT",
        "NEW.invoice_id IS NOT NULL AND GT("
        "(SELECT COALESCE(SUM(a.amount), 0) FROM payment_applications a WHERE a.payment_id = NEW.payment_id"
        " AND a.invoice_id IS NOT NULL) + NEW.amount"
        " - (SELECT COALESCE(SUM(c.amount), 0) FROM payment_applications c"
        " WHERE c.payment_id = NEW.payment_id AND c.credit_memo_id IS NOT NULL),"
        " (SELECT p.amount FROM payments p WHERE p.id = NEW.payment_id))",
        "payment applied beyond its amount",
    ),
    (
        "invoice_not_over_paid", "payment_applications", "INSERT",
        "NEW.invoice_id IS NOT NULL AND GT("
        "(SELECT COALESCE(SUM(a.amount), 0) FROM payment_applications a WHERE a.invoice_id = NEW.invoice_id)"
        " + (SELECT COALESCE(SUM(m.amount), 0) FROM credit_memo_applications m WHERE m.invoice_id = NEW.invoice_id)"
        " + NEW.amount, (SELECT i.total FROM invoices i WHERE i.id = NEW.invoice_id))",
        "invoice paid beyond its total",
    ),
    (
        "credit_not_over_applied", "credit_memo_applications", "INSERT",
        "GT((SELECT COALESCE(SUM(a.amount), 0) FROM credit_memo_applications a"
        " WHERE a.credit_memo_id = NEW.credit_memo_id) + NEW.amount,"
        " (SELECT c.total FROM credit_memos c WHERE c.id = NEW.credit_memo_id))",
        "credit memo applied beyond its total",
    ),
    (
        "invoice_not_over_credited", "credit_memo_applications", "INSERT",
        "GT((SELECT COALESCE(SUM(a.amount), 0) FROM payment_applications a WHERE a.invoice_id = NEW.invoice_id)"
        " + (SELECT COALESCE(SUM(m.amount), 0) FROM credit_memo_applications m WHERE m.invoice_id = NEW.invoice_id)"
        " + NEW.amount, (SELECT i.total FROM invoices i WHERE i.id = NEW.invoice_id))",
        "invoice credited beyond its total",
    ),
]


_GT = re.compile(r"GT\((.*), (\(SELECT [a-z]\.(?:amount|total) FROM [a-z_]+ [a-z] WHERE [^)]*\))\)$")


def _render(condition: str, dialect: str) -> str:
    """Expand GT(a, b): exact on PostgreSQL's numeric, rounded to cents on SQLite's REAL."""
    match = _GT.search(condition)
    if not match:
        return condition
    lhs, rhs = match.groups()
    compare = f"ROUND({lhs}, 2) > ROUND({rhs}, 2)" if dialect == "sqlite" else f"{lhs} > {rhs}"
    return condition[: match.start()] + compare


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, event, raw_condition, message in _GUARDS:
        condition = _render(raw_condition, dialect)
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        else:
            cond = condition if event == "INSERT" else "TRUE"
            op.execute(
                f"CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {cond} THEN RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation'; END IF; "
                f"RETURN {'NEW' if event == 'INSERT' else 'OLD'}; END $$"
            )
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, *_ in _GUARDS:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}_fn()")
