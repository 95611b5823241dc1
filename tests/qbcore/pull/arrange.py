"""Arranging QuickBooks-side changes with python-quickbooks, and reading back what the pull left."""

from __future__ import annotations

from decimal import Decimal

from quickbooks import QuickBooks
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.invoice import Invoice as QbInvoice
from quickbooks.objects.payment import Payment as QbPayment
from quickbooks.objects.payment import PaymentLine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.models import EntityType, Invoice, InvoiceStatus, PaymentApplication, SyncRecord


def open_synced_invoices(factory: sessionmaker[Session], count: int = 3) -> list[tuple[int, str, Decimal]]:
    """(invoice id, QuickBooks id, total) of synced, approved invoices with nothing applied to them."""
    with factory() as session:
        paid = select(PaymentApplication.invoice_id).where(PaymentApplication.invoice_id.is_not(None))
        rows = session.execute(
            select(Invoice.id, SyncRecord.qbo_id, Invoice.total)
            .join(SyncRecord, (SyncRecord.entity_id == Invoice.id)
                  & (SyncRecord.entity_type == EntityType.INVOICE.value))
            .where(Invoice.status == InvoiceStatus.APPROVED.value, SyncRecord.qbo_id.is_not(None),
                   Invoice.id.not_in(paid), Invoice.total > 10)
            .order_by(Invoice.id).limit(count)).all()
    assert len(rows) == count
    return [(r[0], str(r[1]), Decimal(r[2])) for r in rows]


def pay_in_quickbooks(qb: QuickBooks, qbo_invoice_id: str, amount: Decimal, ref: str = "CHK-9001") -> str:
    """A payment keyed directly into QuickBooks, applied to one invoice; returns its QuickBooks id."""
    invoice = QbInvoice.get(qbo_invoice_id, qb=qb)
    payment = QbPayment()
    payment.TotalAmt = float(amount)
    customer = Ref()
    customer.value = invoice.CustomerRef.value
    payment.CustomerRef = customer
    payment.PaymentRefNum = ref
    line = PaymentLine()
    line.Amount = float(amount)
    link = LinkedTxn()
    link.TxnId = qbo_invoice_id
    link.TxnType = "Invoice"
    line.LinkedTxn.append(link)
    payment.Line.append(line)
    payment.save(qb=qb)
    return str(payment.Id)


def invoice_status(factory: sessionmaker[Session], invoice_id: int) -> str:
    with factory() as session:
        return str(session.get(Invoice, invoice_id).status)
