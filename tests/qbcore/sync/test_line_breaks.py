"""Names with line breaks never reach QuickBooks (#17 item 2): names and addresses on one line, numbers refused."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.mapping.names import clean_name, has_line_break, single_line
from qbcore.models import Customer, EntityType, Invoice, Payment, PaymentApplication, SyncStatus
from qbcore.qbo.gateway import QboGateway
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, record_of

# What an unclosed quote once made of a customers file: three lines of it in one name.
SWALLOWED = "Swallow Co,a@x.com,Net 30\nZ0012,Second Co,b@x.com,Net 30\r\nZ0013,Third Co"
BREAKS = "\n\r\t\x00\x0b\x0c\x1b\x7f\x85\u2028\u2029"


@pytest.mark.parametrize("char", list(BREAKS))
def test_every_line_break_and_control_character_becomes_one_space(char: str) -> None:
    assert single_line(f" A{char}{char}B{char} ") == "A B"
    assert has_line_break(f"A{char}B") and not has_line_break("A B: C-D")
    assert clean_name(f"Parent:Child{char}Co", 100) == "Parent-Child Co"


def _has_control(value: object) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in str(value))


def test_a_sync_sends_names_and_addresses_on_one_line_and_refuses_broken_numbers(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with transaction(demo_factory) as session:
        customer = session.scalars(select(Customer).where(Customer.parent_id.is_(None)).order_by(Customer.id)).first()
        assert customer is not None
        customer.name, customer.qbo_display_name = SWALLOWED, None
        # ESC, not NUL, as the trailing control character: PostgreSQL text cannot hold NUL at all (the mapping
        # unit tests above cover NUL, BREAKS, without a database).
        customer.address_line1, customer.city = "12 Dock St\nSuite 4\u2028Back door\x1b", "Newark\r\n"
        invoice = session.scalars(select(Invoice).where(Invoice.customer_id != customer.id)
                                  .order_by(Invoice.id)).first()
        assert invoice is not None
        # A payment of another customer, applied to none of their invoices that could block it.
        touching = select(PaymentApplication.payment_id).where(PaymentApplication.invoice_id == invoice.id)
        payment = session.scalars(select(Payment).where(Payment.customer_id.not_in([customer.id, invoice.customer_id]),
                                                        Payment.id.not_in(touching))
                                  .order_by(Payment.id)).first()
        assert invoice is not None and payment is not None
        invoice.number, payment.number = "INV-1\n00002", "PMT-1\r\n2"
        ids = customer.id, invoice.id, payment.id
    gateway = QboGateway(demo_factory, connected, retry=FAST_RETRY, timeout_s=10)
    sync_now(demo_factory, connected, gateway=gateway)

    with demo_factory() as session:
        customer_record = record_of(session, EntityType.CUSTOMER, ids[0])
        invoice_record = record_of(session, EntityType.INVOICE, ids[1])
        payment_record = record_of(session, EntityType.PAYMENT, ids[2])
    assert customer_record.status == SyncStatus.SYNCED.value
    pushed = gateway.query(f"SELECT * FROM Customer WHERE Id = '{customer_record.qbo_id}'")[0]
    assert pushed["DisplayName"] == pushed["CompanyName"] == \
        "Swallow Co,a@x.com,Net 30 Z0012,Second Co,b@x.com,Net 30 Z0013,Third Co"
    assert pushed["BillAddr"]["Line1"] == "12 Dock St Suite 4 Back door"
    assert pushed["BillAddr"]["City"] == "Newark"
    # A document number is refused on its record, in words: changing it would break matching it later.
    for record in (invoice_record, payment_record):
        assert (record.status, record.qbo_id) == (SyncStatus.FAILED.value, None)
        assert "holds a line break" in (record.error_message or "")
    # Nothing QuickBooks now holds carries a line break in a name, an address line or a number.
    for entity, fields in (("Customer", ("DisplayName", "CompanyName")), ("Invoice", ("DocNumber",)),
                           ("Payment", ("PaymentRefNum",)), ("Item", ("Name",))):
        rows = gateway.query(f"SELECT * FROM {entity} MAXRESULTS 1000")
        assert rows, entity
        for row in rows:
            assert not any(_has_control(row.get(f, "")) for f in fields), row
            assert not _has_control((row.get("BillAddr") or {}).get("Line1", "")), row
