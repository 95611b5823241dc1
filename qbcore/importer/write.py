"""Writing a planned import: what the files restate cleared, then each file's rows, then the paid statuses."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from qbcore.importer.bulk import insert_returning
from qbcore.importer.files import FILES
from qbcore.importer.records import CHARGE_CODES, Plan
from qbcore.importer.rules import Ids
from qbcore.models import ChargeCode, utcnow
from qbcore.models.base import Base

_WRITTEN_TABLES: tuple[type[Base], ...] = (ChargeCode, *(model for rules in FILES for model in rules.tables))


def _catch_up_sequences(session: Session) -> None:
    """On PostgreSQL, move id sequences past rows written with explicit ids (the demo book's COPY does)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in _WRITTEN_TABLES:
        table = model.__tablename__
        # setval never moves a sequence backwards here: GREATEST with nextval keeps concurrent writers safe.
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST("
            f"COALESCE((SELECT MAX(id) FROM {table}), 0), nextval(pg_get_serial_sequence('{table}', 'id'))))"))


def apply_plan(plan: Plan, session: Session) -> None:
    """Write the planned creates and updates, file by file, in bulk."""
    _catch_up_sequences(session)
    now = utcnow()
    # What the files restate goes first, so the database guards only ever see the final sums.
    for rules in FILES:
        rules.clear(plan, session)
    codes = plan.batch.of(CHARGE_CODES)
    ids: Ids = {CHARGE_CODES.name: dict(plan.book.of(CHARGE_CODES))}
    ids[CHARGE_CODES.name].update(insert_returning(session, ChargeCode, ChargeCode.code, [
        {"code": code, "name": codes[code][:100], "description": codes[code], "active": True}
        for code in plan.create[CHARGE_CODES.name]]))
    for rules in FILES:
        rules.write(plan, session, ids, now)


def settle_statuses(plan: Plan, session: Session) -> None:
    """The statuses that follow from the money now applied (approved, partially paid, paid)."""
    for rules in FILES:
        rules.settle(plan, session, FILES)
