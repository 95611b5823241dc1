"""Import fixtures: the sample file set, editable cell by cell, and a snapshot of the whole book."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.importer import TEMPLATE_NAMES, FileKind
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    CarrierBillLine,
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    DeductionCode,
    Invoice,
    Load,
    PayCode,
    Payment,
    PaymentApplication,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    Truck,
    Vendor,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
TABLES = (Customer, ChargeCode, Load, Invoice, ChargeSet, ChargeLine, Payment, PaymentApplication, CreditMemo,
          CreditMemoLine, CreditMemoApplication, Vendor, Truck, PayCode, DeductionCode, Settlement, SettlementLoad,
          SettlementLine, SettlementDeduction, CarrierBill, CarrierBillLine, SyncRecord)


def read_rows(kind: FileKind) -> list[dict[str, str]]:
    """The sample file of one kind as a list of dicts."""
    with open(FIXTURES / TEMPLATE_NAMES[kind], newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def to_csv(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    """Rows back to CSV bytes."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or list(rows[0]), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def sample_files() -> dict[FileKind, bytes]:
    """The valid sample file set."""
    return {kind: (FIXTURES / TEMPLATE_NAMES[kind]).read_bytes() for kind in FileKind}


def book_state(session: Session) -> dict[str, object]:
    """Row counts of every billing and sync table, plus the newest updated_at of each record kind."""
    state: dict[str, object] = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in TABLES}
    for model in (Customer, Invoice, Payment, CreditMemo, Vendor, Settlement, CarrierBill, SyncRecord):
        state[f"{model.__tablename__}.updated_at"] = session.scalar(select(func.max(model.updated_at)))
    state["audit_events"] = session.scalar(select(func.count()).select_from(AuditEvent))
    return state


@pytest.fixture
def files() -> dict[FileKind, bytes]:
    """A fresh copy of the valid sample set."""
    return sample_files()
