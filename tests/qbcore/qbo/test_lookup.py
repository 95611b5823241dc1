"""Read-only look-ups against the real sandbox: records by id, candidates, name lists, custom fields."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from qbcore.config import Config, QboEnvironment
from qbcore.models import EntityType
from qbcore.qbo.lookup import (
    CustomFieldDefinition,
    fetch_record,
    find_by_amount,
    find_by_doc_number,
    find_by_name,
    list_accounts,
    list_classes,
    list_custom_field_definitions,
    list_departments,
    list_items,
    list_terms,
    open_gateway,
    summarize_record,
)
from qbo_sandbox.server import SandboxOptions, start_in_thread


@pytest.fixture
def gateway(factory, db_url: str, tmp_path: Path) -> Iterator:
    from qbcore.qbo.oauth import ensure_local_connection

    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=running.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
        ensure_local_connection(factory, config)
        yield open_gateway(factory, config)


@pytest.fixture
def invoice_id(gateway) -> str:
    body = {"DocNumber": "INV-9001", "TxnDate": "2026-11-02", "CustomerRef": {"value": "1"},
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 512.5,
                      "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 512.5}}]}
    return gateway.write("Invoice", body, request_id="lookup-1")["Id"]


def test_fetch_record_summarises_an_invoice(gateway, invoice_id):
    record = fetch_record(gateway, EntityType.INVOICE, invoice_id)
    assert (record.entity, record.qbo_id, record.name, record.amount, record.date) == \
        ("Invoice", invoice_id, "INV-9001", Decimal("512.50"), "2026-11-02")
    assert record.customer == "Amy's Bird Sanctuary" and record.sync_token == "0"


def test_fetch_record_of_a_missing_id_is_none(gateway, invoice_id):
    assert fetch_record(gateway, EntityType.INVOICE, "4242") is None


def test_fetch_record_reads_a_customer_by_display_name(gateway):
    assert fetch_record(gateway, EntityType.CUSTOMER, "1").name == "Amy's Bird Sanctuary"


def test_candidates_by_doc_number_name_and_amount(gateway, invoice_id):
    assert [r.qbo_id for r in find_by_doc_number(gateway, EntityType.INVOICE, "INV-9001")] == [invoice_id]
    assert [r.qbo_id for r in find_by_amount(gateway, EntityType.INVOICE, Decimal("512.50"))] == [invoice_id]
    assert find_by_doc_number(gateway, EntityType.INVOICE, "NOPE") == []
    assert "Amy's Bird Sanctuary" in [r.name for r in find_by_name(gateway, EntityType.CUSTOMER, "Amy's")]
    assert "Drayage" in [r.name for r in find_by_name(gateway, EntityType.ITEM, "Dray")]


def test_name_lists_come_back_sorted_and_active(gateway):
    assert "Drayage" in [i.name for i in list_items(gateway)]
    assert [a.name for a in list_accounts(gateway)] == ["Sales of Product Income", "Services"]
    assert [c.name for c in list_classes(gateway)] == ["Domestic", "Export", "Import"]
    assert [d.name for d in list_departments(gateway)] == ["Long Beach", "Port Newark", "Savannah"]
    assert "Net 30" in [t.name for t in list_terms(gateway)]


def test_custom_field_definitions_come_from_preferences(gateway):
    assert list_custom_field_definitions(gateway) == [
        CustomFieldDefinition("1", "Container #"), CustomFieldDefinition("2", "PO #"),
        CustomFieldDefinition("3", "Load #"),
    ]


@pytest.mark.parametrize(("entity", "body", "name", "amount"), [
    ("Invoice", {"Id": "5", "DocNumber": "A1", "TotalAmt": 10}, "A1", Decimal("10.00")),
    ("Customer", {"Id": "5", "DisplayName": "Acme", "Balance": 3.5}, "Acme", Decimal("3.50")),
    ("Item", {"Id": "5", "Name": "Fuel", "Active": False}, "Fuel", None),
    ("Payment", {"Id": "5", "PaymentRefNum": "PMT-1", "TotalAmt": "7"}, "PMT-1", Decimal("7.00")),
])
def test_summarize_record_picks_the_recognisable_fields(entity, body, name, amount):
    record = summarize_record(entity, body)
    assert (record.name, record.amount) == (name, amount)
