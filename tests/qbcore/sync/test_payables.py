"""Payables against the sandbox over HTTP: vendors, settlements, carrier bills reach QuickBooks once; payments link."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import CarrierBill, EntityType, Settlement, SyncRecord, SyncStatus, Vendor
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, map_demo_pay_code, record_of, statuses

PAYABLES = (EntityType.VENDOR, EntityType.SETTLEMENT, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT,
            EntityType.CARRIER_PAYMENT)


def payables_on(factory: sessionmaker[Session]) -> None:
    # These tests are about a clean book: the pay code the demo leaves unmapped gets its account first.
    map_demo_pay_code(factory)
    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})


def gateway_for(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def book(factory: sessionmaker[Session]) -> dict[str, list]:
    with factory() as session:
        return {
            "vendors": list(session.scalars(select(Vendor).order_by(Vendor.id))),
            "settlements": list(session.scalars(select(Settlement).where(Settlement.status != "draft"))),
            "drafts": list(session.scalars(select(Settlement).where(Settlement.status == "draft"))),
            "bills": list(session.scalars(select(CarrierBill).where(CarrierBill.status.in_(("accepted", "paid"))))),
            "waiting_bills": list(session.scalars(select(CarrierBill).where(
                CarrierBill.status.in_(("received", "disputed"))))),
        }


def test_payables_stay_home_until_finance_turns_them_on(demo_factory, connected, sandbox: SandboxClient):
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    assert sandbox.count("Bill") == 0 and sandbox.count("BillPayment") == 0
    assert statuses(demo_factory, EntityType.SETTLEMENT) == {
        SyncStatus.NEVER_SYNCED.value: len(book(demo_factory)["settlements"])}


def test_vendors_settlements_and_carrier_bills_reach_quickbooks_once_and_payments_link(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    rows = book(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    summary = sync_now(demo_factory, connected, gateway=gateway)
    assert (summary.failed, summary.blocked) == (0, 0)
    paid_settlements = [s for s in rows["settlements"] if s.status == "paid"]
    paid_bills = [b for b in rows["bills"] if b.status == "paid"]
    assert statuses(demo_factory, EntityType.VENDOR) == {SyncStatus.SYNCED.value: len(rows["vendors"])}
    assert statuses(demo_factory, EntityType.SETTLEMENT) == {SyncStatus.SYNCED.value: len(rows["settlements"])}
    assert statuses(demo_factory, EntityType.CARRIER_BILL) == {SyncStatus.SYNCED.value: len(rows["bills"])}
    assert statuses(demo_factory, EntityType.SETTLEMENT_PAYMENT) == {SyncStatus.SYNCED.value: len(paid_settlements)}
    assert statuses(demo_factory, EntityType.CARRIER_PAYMENT) == {SyncStatus.SYNCED.value: len(paid_bills)}
    assert rows["drafts"] and rows["waiting_bills"], "the demo has drafts and bills not accepted, which stay home"
    assert sandbox.count("Bill") == len(rows["settlements"]) + len(rows["bills"])
    assert sandbox.count("BillPayment") == len(paid_settlements) + len(paid_bills)
    assert all(sandbox.count("Vendor", DisplayName=v.name) == 1 for v in rows["vendors"])

    by_id = {b["Id"]: b for b in gateway.query_all("Bill")}
    vendor_ids = {}
    with demo_factory() as session:
        for vendor in rows["vendors"]:
            vendor_ids[vendor.id] = record_of(session, EntityType.VENDOR, vendor.id).qbo_id
        for settlement in rows["settlements"]:
            theirs = by_id[record_of(session, EntityType.SETTLEMENT, settlement.id).qbo_id or ""]
            assert theirs["DocNumber"] == settlement.number
            assert theirs["VendorRef"]["value"] == vendor_ids[settlement.driver_id]
            assert Decimal(str(theirs["TotalAmt"])) == settlement.net_pay
            # A paid settlement's bill is closed by its check; a finalized one is still owed in full.
            balance = Decimal(0) if settlement.status == "paid" else settlement.net_pay
            assert Decimal(str(theirs["Balance"])) == balance, settlement.number
        for bill in rows["bills"]:
            theirs = by_id[record_of(session, EntityType.CARRIER_BILL, bill.id).qbo_id or ""]
            assert (theirs["DocNumber"], theirs["VendorRef"]["value"]) == (bill.carrier_invoice_number,
                                                                           vendor_ids[bill.carrier_id])
            assert Decimal(str(theirs["Balance"])) == (Decimal(0) if bill.status == "paid" else bill.total)
            if bill.status == "paid":
                payment = gateway.read("BillPayment", record_of(session, EntityType.CARRIER_PAYMENT, bill.id).qbo_id
                                       or "")
                assert payment["Line"][0]["LinkedTxn"] == [{"TxnId": theirs["Id"], "TxnType": "Bill"}]
    negative = [line for b in by_id.values() for line in b["Line"] if Decimal(str(line["Amount"])) < 0]
    assert negative, "deductions travel as negative bill lines"

    again = sync_now(demo_factory, connected, gateway=gateway)
    assert (again.total, again.synced) == (0, 0)
    assert sandbox.duplicates("Bill") == [] and sandbox.duplicates("BillPayment") == []


def test_a_retry_after_lost_answers_links_what_quickbooks_has_and_creates_no_twin(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    bills_before, payments_before, vendors_before = (sandbox.count("Bill"), sandbox.count("BillPayment"),
                                                    sandbox.count("Vendor"))
    with transaction(demo_factory) as session:
        kept = dict(session.execute(select(SyncRecord.id, SyncRecord.qbo_id).where(
            SyncRecord.entity_type.in_([e.value for e in PAYABLES]))).all())
        # As if every answer had been lost: no QuickBooks id, failed, the request id made for another payload.
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(kept)).values(
            qbo_id=None, qbo_sync_token=None, status=SyncStatus.FAILED.value, payload_hash=None, request_id=None))
    summary = sync_now(demo_factory, connected, gateway=gateway)
    assert (summary.failed, summary.blocked, summary.synced) == (0, 0, len(kept))
    assert (sandbox.count("Bill"), sandbox.count("BillPayment"), sandbox.count("Vendor")) == \
        (bills_before, payments_before, vendors_before)
    with demo_factory() as session:
        relinked = dict(session.execute(select(SyncRecord.id, SyncRecord.qbo_id).where(
            SyncRecord.id.in_(kept))).all())
    assert relinked == kept


def test_another_vendors_bill_with_the_same_number_is_not_taken_for_ours(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    bill = book(demo_factory)["bills"][0]
    planted = sandbox.plant(bills=[{"VendorName": "Some Other Carrier", "DocNumber": bill.carrier_invoice_number,
                                    "Amount": 55.0}])
    assert len(planted["bills"]) == 1
    sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    with demo_factory() as session:
        record = record_of(session, EntityType.CARRIER_BILL, bill.id)
    assert record.status == SyncStatus.SYNCED.value and record.qbo_id not in planted["bills"]
    assert sandbox.count("Bill", DocNumber=bill.carrier_invoice_number) == 2


def test_a_bill_keyed_by_hand_for_the_same_vendor_and_number_but_another_amount_fails_plainly(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    bill = book(demo_factory)["bills"][0]
    with demo_factory() as session:
        carrier = session.get(Vendor, bill.carrier_id)
        assert carrier is not None
        carrier_name = carrier.name
    sandbox.plant(bills=[{"VendorName": carrier_name, "DocNumber": bill.carrier_invoice_number, "Amount": 55.0}])
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        record = record_of(session, EntityType.CARRIER_BILL, bill.id)
    assert record.status == SyncStatus.FAILED.value and record.error_kind == "duplicate"
    assert record.error_message == f"QuickBooks has another carrier bill with reference {bill.carrier_invoice_number}"
    assert sandbox.count("Bill", DocNumber=bill.carrier_invoice_number) == 1


def test_the_quickbooks_ids_view_lists_vendors_and_bills_with_their_numbers_amounts_and_ids(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.queries.ids import IdFilter, count_linked_records, list_linked_records

    payables_on(demo_factory)
    sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    rows = book(demo_factory)
    with demo_factory() as session:
        settlement = rows["settlements"][0]
        qbo_id = record_of(session, EntityType.SETTLEMENT, settlement.id).qbo_id
        frame = list_linked_records(session, IdFilter(entity_type=EntityType.SETTLEMENT, search=settlement.number))
        counts = {e: count_linked_records(session, IdFilter(entity_type=e)) for e in PAYABLES}
    assert counts == {
        EntityType.VENDOR: len(rows["vendors"]), EntityType.SETTLEMENT: len(rows["settlements"]),
        EntityType.CARRIER_BILL: len(rows["bills"]),
        EntityType.SETTLEMENT_PAYMENT: len([s for s in rows["settlements"] if s.status == "paid"]),
        EntityType.CARRIER_PAYMENT: len([b for b in rows["bills"] if b.status == "paid"]),
    }
    assert frame["number_or_name"].tolist() == [settlement.number]
    assert frame["qbo_id"].tolist() == [qbo_id]
    assert Decimal(str(frame["amount"].iloc[0])) == settlement.net_pay


def test_the_quickbooks_ids_view_names_the_vendor_each_bill_and_bill_payment_pays(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.id_matching import compare_records, describe_consequence, find_mismatches, get_customer_ref
    from qbcore.qbo.lookup import fetch_record
    from qbcore.queries.ids import IdFilter, get_linked_record, list_linked_records, party_heading

    payables_on(demo_factory)
    sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    with demo_factory() as session:
        vendor_of = {
            EntityType.SETTLEMENT: dict(session.execute(select(Settlement.number, Vendor.name).join(
                Vendor, Vendor.id == Settlement.driver_id)).all()),
            EntityType.CARRIER_BILL: dict(session.execute(select(CarrierBill.carrier_invoice_number, Vendor.name).join(
                Vendor, Vendor.id == CarrierBill.carrier_id)).all()),
        }
        vendor_of[EntityType.SETTLEMENT_PAYMENT] = vendor_of[EntityType.SETTLEMENT]
        vendor_of[EntityType.CARRIER_PAYMENT] = vendor_of[EntityType.CARRIER_BILL]
        for entity_type, names in vendor_of.items():
            frame = list_linked_records(session, IdFilter(entity_type=entity_type))
            assert not frame.empty
            assert all(names[n] == c for n, c in zip(frame["number_or_name"], frame["customer"], strict=True))
            assert frame["customer_id"].isna().all(), "a vendor is no customer to move"
        everything = list_linked_records(session, IdFilter())
        driver = next(iter(vendor_of[EntityType.SETTLEMENT].values()))
        found = list_linked_records(session, IdFilter(entity_type=EntityType.SETTLEMENT, search=driver.upper()))
        assert set(found["customer"]) == {driver}
        # Two settlements of different drivers: one's QuickBooks bill is not the other's.
        settlements = list(session.scalars(select(Settlement).where(Settlement.status != "draft")))
        mine = settlements[0]
        theirs = next(s for s in settlements if s.driver_id != mine.driver_id)
        mine_record = record_of(session, EntityType.SETTLEMENT, mine.id)
        theirs_qbo = record_of(session, EntityType.SETTLEMENT, theirs.id).qbo_id
        assert get_linked_record(session, mine_record.id).customer == vendor_of[EntityType.SETTLEMENT][mine.number]
    parties = everything.loc[everything["customer"].notna() & (everything["customer"] != ""), "entity_type"]
    assert party_heading(parties) == "Customer or vendor"
    assert party_heading([EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT]) == "Vendor"
    assert party_heading([EntityType.INVOICE]) == party_heading([]) == "Customer"

    gateway = gateway_for(demo_factory, connected)
    with demo_factory() as session:
        record = get_linked_record(session, mine_record.id)
        ref = get_customer_ref(session, record)
        same = fetch_record(gateway, EntityType.SETTLEMENT, mine_record.qbo_id)
        other = fetch_record(gateway, EntityType.SETTLEMENT, theirs_qbo)
    mine_driver = vendor_of[EntityType.SETTLEMENT][mine.number]
    assert same.customer == mine_driver and ref.qbo_id == same.customer_id
    assert find_mismatches(record, same, ref) == [] and compare_records(record, same, ref) == ([], True)
    assert f"of {mine_driver} for" in describe_consequence(record, same, [])
    assert any(m.startswith("it belongs to QuickBooks vendor ") for m in find_mismatches(record, other, ref))


def test_a_driver_named_like_a_customer_fails_on_the_name_and_his_settlements_wait_for_him(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.models import Customer

    payables_on(demo_factory)
    with transaction(demo_factory) as session:
        customer_name = session.scalars(select(Customer.name).order_by(Customer.id).limit(1)).one()
        driver = session.scalars(select(Vendor).where(Vendor.is_driver).order_by(Vendor.id).limit(1)).one()
        driver.name = customer_name  # QuickBooks keeps one name list for customers, vendors and employees
        driver_id = driver.id
        his = list(session.scalars(select(Settlement.id).where(Settlement.driver_id == driver_id,
                                                              Settlement.status != "draft")))
    assert his
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        vendor_record = record_of(session, EntityType.VENDOR, driver_id)
        waiting = {record_of(session, EntityType.SETTLEMENT, s).blocked_by for s in his}
    assert (vendor_record.status, vendor_record.error_code) == (SyncStatus.FAILED.value, "6240")
    assert waiting == {f"vendor:{customer_name}"}
    assert sandbox.count("Vendor", DisplayName=customer_name) == 0
    assert sandbox.count("Customer", DisplayName=customer_name) == 1

    with transaction(demo_factory) as session:
        vendor = session.get(Vendor, driver_id)
        assert vendor is not None
        vendor.qbo_display_name = f"{customer_name} (V)"
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        assert record_of(session, EntityType.VENDOR, driver_id).status == SyncStatus.SYNCED.value
        assert {record_of(session, EntityType.SETTLEMENT, s).status for s in his} == {SyncStatus.SYNCED.value}
    assert sandbox.count("Vendor", DisplayName=f"{customer_name} (V)") == 1


def test_an_edit_after_sync_updates_the_same_bill_under_its_sync_token(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.models import SettlementDeduction

    payables_on(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with transaction(demo_factory) as session:
        settlement = session.scalars(select(Settlement).where(Settlement.status == "finalized")
                                     .order_by(Settlement.id).limit(1)).one()
        record = record_of(session, EntityType.SETTLEMENT, settlement.id)
        qbo_id, token = record.qbo_id or "", record.qbo_sync_token
        session.add(SettlementDeduction(settlement_id=settlement.id, deduction_code_id=4, position=9,
                                        amount=Decimal("25.00"), description="Cash advance at the yard"))
        settlement.deduction_total += Decimal("25.00")
        settlement.net_pay -= Decimal("25.00")
        number, net = settlement.number, settlement.net_pay
    bills_before = sandbox.count("Bill")
    summary = sync_now(demo_factory, connected, gateway=gateway)
    assert (summary.synced, summary.failed, summary.blocked) == (1, 0, 0)
    theirs = gateway.read("Bill", qbo_id)
    assert (theirs["DocNumber"], Decimal(str(theirs["TotalAmt"]))) == (number, net)
    assert theirs["Line"][-1]["Description"] == "Cash advance at the yard"
    assert theirs["SyncToken"] != token and sandbox.count("Bill") == bills_before


def test_home_counts_payables_as_waiting_only_once_they_are_turned_on(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.queries.health import count_by_entity_and_status, count_waiting

    sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    with demo_factory() as session:
        assert count_waiting(session) == 0  # everything that syncs went; the payables stay home, uncounted
        assert "Settlements" not in set(count_by_entity_and_status(session)["entity"])
    payables_on(demo_factory)
    rows = book(demo_factory)
    expected = (len(rows["vendors"]) + 2 * len(rows["settlements"]) + 2 * len(rows["bills"])
                - len([s for s in rows["settlements"] if s.status != "paid"])
                - len([b for b in rows["bills"] if b.status != "paid"]))
    with demo_factory() as session:
        assert count_waiting(session) == expected
        frame = count_by_entity_and_status(session)
    assert int(frame.loc[frame["entity"] == "Settlements", "count"].sum()) == len(rows["settlements"])
