"""Arranging QuickBooks-side changes with python-quickbooks, and reading back what the pull left."""

from __future__ import annotations

from decimal import Decimal

from quickbooks import QuickBooks
from quickbooks.objects.account import Account as QbAccount
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.bill import Bill as QbBill
from quickbooks.objects.billpayment import BillPayment as QbBillPayment
from quickbooks.objects.billpayment import BillPaymentCreditCard, BillPaymentLine, CheckPayment
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


def pay_bill_in_quickbooks(qb: QuickBooks, qbo_bill_id: str, amount: Decimal, *, pay_type: str = "Check",
                           number: str = "1001", txn_date: str = "2026-11-20") -> str:
    """A bill payment keyed directly into QuickBooks (a check or a card charge) paying one bill; returns its id."""
    bill = QbBill.get(qbo_bill_id, qb=qb)
    payment = QbBillPayment()
    payment.PayType = pay_type
    payment.TotalAmt = float(amount)
    payment.DocNumber = number
    payment.TxnDate = txn_date
    vendor = Ref()
    vendor.value = bill.VendorRef.value
    payment.VendorRef = vendor
    account = Ref()
    if pay_type == "Check":
        account.value = QbAccount.where("AccountSubType = 'Checking'", qb=qb)[0].Id
        payment.CheckPayment = CheckPayment()
        payment.CheckPayment.BankAccountRef = account
    else:
        account.value = QbAccount.where("AccountType = 'Credit Card'", qb=qb)[0].Id
        payment.CreditCardPayment = BillPaymentCreditCard()
        payment.CreditCardPayment.CCAccountRef = account
    line = BillPaymentLine()
    line.Amount = float(amount)
    link = LinkedTxn()
    link.TxnId = qbo_bill_id
    link.TxnType = "Bill"
    line.LinkedTxn.append(link)
    payment.Line.append(line)
    payment.save(qb=qb)
    return str(payment.Id)
