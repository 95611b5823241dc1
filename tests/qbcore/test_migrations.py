"""Upgrading a database made by the previous release keeps its data and adds what this release needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from qbcore.db import current_revision, head_revision, make_engine, migrate
from tests.conftest import PG_URL

PREVIOUS_RELEASE = "0005"


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database (its own PostgreSQL schema when QBSYNC_TEST_DATABASE_URL is set)."""
    if not PG_URL:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrate_to(engine: Engine, revision: str) -> Engine:
    """The database as the release at `revision` left it."""
    migrate(engine, revision)
    assert current_revision(engine) == revision
    return engine


def _previous_release(engine: Engine) -> Engine:
    return migrate_to(engine, PREVIOUS_RELEASE)


def test_a_company_the_previous_release_left_disconnected_stays_disconnected_by_whoever_did_it(
    empty_engine: Engine,
) -> None:
    engine = _previous_release(empty_engine)
    when = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qbo_connections (id, realm_id, environment, status, connected_at) "
                          "VALUES (1, '9130', 'local', 'disconnected', :t)"), {"t": when})
        conn.execute(text("INSERT INTO audit_events (at, actor, role, action, outcome) VALUES "
                          "(:early, 'old@co.com', 'admin', 'disconnect_quickbooks', 'ok'), "
                          "(:t, 'dana@co.com', 'admin', 'disconnect_quickbooks', 'ok')"),
                     {"t": when, "early": datetime(2026, 11, 1, tzinfo=UTC)})
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        row = conn.execute(text("SELECT realm_id, status, disconnected_by, disconnected_at FROM qbo_connections"
                                )).one()
    assert (row.realm_id, row.status, row.disconnected_by) == ("9130", "disconnected", "dana@co.com")
    assert row.disconnected_at is not None


def test_a_connected_company_of_the_previous_release_is_not_marked_disconnected(empty_engine: Engine) -> None:
    engine = _previous_release(empty_engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qbo_connections (id, realm_id, environment, status, connected_at) "
                          "VALUES (1, '9130', 'local', 'connected', :t)"), {"t": datetime(2026, 11, 20, tzinfo=UTC)})
        conn.execute(text("INSERT INTO audit_events (at, actor, role, action, outcome) VALUES "
                          "(:t, 'dana@co.com', 'admin', 'disconnect_quickbooks', 'ok')"),
                     {"t": datetime(2026, 11, 19, tzinfo=UTC)})
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT disconnected_by FROM qbo_connections")).scalar_one() is None


def test_customers_of_the_previous_release_keep_their_names_and_go_to_quickbooks_under_them(
    empty_engine: Engine,
) -> None:
    engine = _previous_release(empty_engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, code, name, terms, country, active, updated_at) "
                          "VALUES (1, 'C1', 'ACME Logistics', 'Net 30', 'USA', :yes, :t)"),
                     {"yes": True, "t": datetime(2026, 11, 1, tzinfo=UTC)})
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT code, name, qbo_display_name FROM customers")).one()
    assert tuple(row) == ("C1", "ACME Logistics", None)


def test_a_book_of_the_previous_release_gains_empty_payables_its_loads_can_be_settled_against(
    empty_engine: Engine,
) -> None:
    engine = migrate_to(empty_engine, "0007")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, code, name, terms, country, active, updated_at) "
                          "VALUES (1, 'C1', 'Atlas Import Group', 'Net 30', 'USA', :yes, :t)"),
                     {"yes": True, "t": when})
        conn.execute(text("INSERT INTO loads (id, load_number, customer_id, container_number, size_type, "
                          "pickup_location, pickup_date, delivery_location, delivery_date) VALUES "
                          "(7, 'L500007', 1, 'MSCU1234565', '40HC', 'Maher Terminals', :d, 'Edison NJ', :d)"),
                     {"d": date(2026, 10, 30)})
    migrate(engine)
    assert current_revision(engine) == head_revision()
    payables = ("vendors", "trucks", "pay_codes", "deduction_codes", "payables_account_mappings", "settlements",
                "settlement_loads", "settlement_lines", "settlement_deductions", "carrier_bills",
                "carrier_bill_lines")
    with engine.begin() as conn:
        assert {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in payables} == dict.fromkeys(
            payables, 0)
        assert conn.execute(text("SELECT load_number, container_number FROM loads")).one() == ("L500007",
                                                                                                "MSCU1234565")
        conn.execute(text("INSERT INTO vendors (id, code, name, is_driver, is_fleet_owner, is_carrier, is_1099, "
                          "terms, country, active, updated_at) VALUES "
                          "(1, 'D1', 'Luis Ortega', :yes, :no, :no, :yes, 'Net 7', 'USA', :yes, :t)"),
                     {"yes": True, "no": False, "t": when})
        conn.execute(text("INSERT INTO trucks (id, number, owner_id, active, updated_at) "
                          "VALUES (1, 'T101', 1, :yes, :t)"),
                     {"yes": True, "t": when})
        conn.execute(text("INSERT INTO settlements (id, number, driver_id, period_start, period_end, settlement_date, "
                          "status, pay_total, deduction_total, net_pay, updated_at) VALUES "
                          "(1, 'STL-1', 1, :s, :e, :e, 'draft', 500, 120, 380, :t)"),
                     {"s": date(2026, 10, 26), "e": date(2026, 11, 1), "t": when})
        conn.execute(text("INSERT INTO settlement_loads (id, settlement_id, load_id, truck_id, position) "
                          "VALUES (1, 1, 7, 1, 1)"))
    with engine.connect() as conn:
        settled = conn.execute(text("SELECT l.load_number, t.number FROM settlement_loads s JOIN loads l ON "
                                    "l.id = s.load_id JOIN trucks t ON t.id = s.truck_id")).one()
    assert tuple(settled) == ("L500007", "T101")


def test_a_book_of_the_payables_release_gains_empty_alerts_and_keeps_its_settings(empty_engine: Engine) -> None:
    engine = migrate_to(empty_engine, "0008")
    when = datetime(2026, 12, 2, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO settings (key, value, updated_at, updated_by) VALUES "
                          "('sync_settings', :v, :t, 'dana@co.com')"), {"v": '{"paused": true}', "t": when})
    migrate_to(engine, "0009")  # the alerts release; 0012 then moves sync_settings to the first company
    alerts = ("alert_channels", "alert_conditions", "alert_events", "alert_deliveries")
    with engine.begin() as conn:
        assert {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in alerts} == dict.fromkeys(
            alerts, 0)
        assert conn.execute(text("SELECT updated_by FROM settings WHERE key = 'sync_settings'")).scalar_one() == (
            "dana@co.com")
        conn.execute(text("INSERT INTO alert_channels (id, name, kind, settings, enabled, digest, failures_in_a_row, "
                          "updated_at) VALUES (1, 'Ops email', 'email', '{}', :yes, :no, 0, :t)"),
                     {"yes": True, "no": False, "t": when})
        conn.execute(text("INSERT INTO alert_deliveries (channel_id, dedupe_key, purpose, event_ids, subject, "
                          "recipients, status, attempts, next_attempt_at, created_at) VALUES "
                          "(1, 'k1', 'test', '[]', 'Test', 'ops@co.com', 'queued', 0, :t, :t)"), {"t": when})
        with pytest.raises(IntegrityError, match=r"(?i)unique"), conn.begin_nested():
            conn.execute(text("INSERT INTO alert_deliveries (channel_id, dedupe_key, purpose, event_ids, "
                              "subject, recipients, status, attempts, next_attempt_at, created_at) VALUES "
                              "(1, 'k1', 'test', '[]', 'Test', 'ops@co.com', 'queued', 0, :t, :t)"), {"t": when})


def test_a_book_of_the_alerts_release_gains_empty_quota_windows_that_keep_one_row_per_company(
    empty_engine: Engine,
) -> None:
    engine = migrate_to(empty_engine, "0009")
    when = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO company_leases (realm_id, owner, expires_at) VALUES ('9130', 'w1', :t)"),
                     {"t": when})
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM quota_windows")).scalar_one() == 0
        assert conn.execute(text("SELECT owner FROM company_leases WHERE realm_id = '9130'")).scalar_one() == "w1"
        conn.execute(text("INSERT INTO quota_windows (realm_key, events, updated_at) VALUES ('q|9130', '[]', :t)"),
                     {"t": when})
        with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), conn.begin_nested():
            conn.execute(text("INSERT INTO quota_windows (realm_key, events, updated_at) VALUES "
                              "('q|9130', '[]', :t)"), {"t": when})


def test_a_book_of_the_companies_release_gains_empty_pulled_bill_payments_one_row_per_company_payment_and_bill(
    empty_engine: Engine,
) -> None:
    engine = migrate_to(empty_engine, "0012")
    with engine.begin() as conn:
        companies = conn.execute(text("SELECT count(*) FROM companies")).scalar_one()
    migrate(engine)
    assert current_revision(engine) == head_revision()
    when = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM companies")).scalar_one() == companies
        assert conn.execute(text("SELECT count(*) FROM pulled_bill_payments")).scalar_one() == 0
        if not companies:
            conn.execute(text("INSERT INTO companies (id, name, is_default, driver_pay, carrier_pay, created_at) "
                              "VALUES (1, 'Sandbox Company_US_1', :yes, :yes, :yes, :t)"), {"yes": True, "t": when})
        row = ("INSERT INTO pulled_bill_payments (company_id, qbo_bill_payment_id, qbo_bill_id, entity_type, "
               "entity_id, amount, status, detected_at) VALUES (1, '145', '130', 'settlement', 7, 812.50, "
               "'applied', :t)")
        conn.execute(text(row), {"t": when})
        with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), conn.begin_nested():
            conn.execute(text(row), {"t": when})
        assert conn.execute(text("SELECT amount FROM pulled_bill_payments")).scalar_one() == Decimal("812.50")


def test_a_book_of_the_scale_release_lets_settlements_and_carrier_bills_be_voided_and_keeps_their_rules(
    empty_engine: Engine,
) -> None:
    engine = migrate_to(empty_engine, "0014")
    when = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        if not conn.execute(text("SELECT count(*) FROM companies")).scalar_one():
            conn.execute(text("INSERT INTO companies (id, name, is_default, driver_pay, carrier_pay, created_at) "
                              "VALUES (1, 'Sandbox Company_US_1', :yes, :yes, :yes, :t)"), {"yes": True, "t": when})
        conn.execute(text("INSERT INTO customers (id, company_id, code, name, terms, country, active, updated_at) "
                          "VALUES (1, 1, 'C1', 'Atlas Import Group', 'Net 30', 'USA', :yes, :t)"),
                     {"yes": True, "t": when})
        conn.execute(text("INSERT INTO loads (id, load_number, customer_id, container_number, size_type, "
                          "pickup_location, pickup_date, delivery_location, delivery_date) VALUES "
                          "(7, 'L500007', 1, 'MSCU1234565', '40HC', 'Maher Terminals', :d, 'Edison NJ', :d)"),
                     {"d": date(2026, 11, 30)})
        conn.execute(text("INSERT INTO vendors (id, code, name, is_driver, is_fleet_owner, is_carrier, is_1099, "
                          "terms, country, active, updated_at) VALUES "
                          "(1, 'D1', 'Luis Ortega', :yes, :no, :yes, :yes, 'Net 7', 'USA', :yes, :t)"),
                     {"yes": True, "no": False, "t": when})
        conn.execute(text("INSERT INTO settlements (id, number, driver_id, period_start, period_end, settlement_date, "
                          "status, pay_total, deduction_total, net_pay, finalized_at, updated_at) VALUES "
                          "(1, 'STL-1', 1, :s, :e, :e, 'finalized', 500, 120, 380, :t, :t)"),
                     {"s": date(2026, 11, 23), "e": date(2026, 11, 29), "t": when})
        conn.execute(text("INSERT INTO carrier_bills (id, carrier_id, load_id, carrier_invoice_number, bill_date, "
                          "due_date, terms, status, total, updated_at) VALUES "
                          "(1, 1, 7, 'INV-88', :d, :d, 'Net 30', 'accepted', 950, :t)"),
                     {"d": date(2026, 12, 1), "t": when})
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(text("UPDATE settlements SET status = 'void'"))
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE settlements SET status = 'void'"))
        conn.execute(text("UPDATE carrier_bills SET status = 'void'"))
        assert conn.execute(text("SELECT number, status, net_pay FROM settlements")).one() == (
            "STL-1", "void", Decimal("380.00"))
        assert conn.execute(text("SELECT carrier_invoice_number, status FROM carrier_bills")).one() == ("INV-88",
                                                                                                        "void")
        for table in ("settlements", "carrier_bills"):
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text(f"UPDATE {table} SET status = 'cancelled'"))
            # The table's other rules survived the rebuild: paid needs its date.
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text(f"UPDATE {table} SET status = 'paid'"))


@pytest.mark.parametrize(("driver_pay", "carrier_pay"), [(1, 1), (1, 2), (2, 1)])
def test_pay_code_accounts_of_the_previous_release_go_to_the_driver_pay_company_and_are_unique_per_company(
    empty_engine: Engine, driver_pay: int, carrier_pay: int,
) -> None:
    engine = migrate_to(empty_engine, "0014")
    when = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    mappings = [(1, 1, None, "Driver Pay", "58"), (2, 2, None, "Carrier Costs", "59"), (3, None, 1, "Fuel", None),
                (4, 3, None, None, None)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO companies (id, name, is_default, driver_pay, carrier_pay, created_at) "
                          "VALUES (2, 'Brokerage', :no, :no, :no, :t)"), {"no": False, "t": when})
        conn.execute(text("UPDATE companies SET driver_pay = (id = :d), carrier_pay = (id = :c)"),
                     {"d": driver_pay, "c": carrier_pay})
        for i, code in enumerate(("LH", "BRK-LH", "DET"), start=1):
            conn.execute(text("INSERT INTO pay_codes (id, code, name, active, updated_at) VALUES (:i, :c, :c, :yes, "
                              ":t)"), {"i": i, "c": code, "yes": True, "t": when})
        conn.execute(text("INSERT INTO deduction_codes (id, code, name, active, updated_at) VALUES "
                          "(1, 'FUELADV', 'Fuel advance', :yes, :t)"), {"yes": True, "t": when})
        for row in mappings:
            conn.execute(text("INSERT INTO payables_account_mappings (id, pay_code_id, deduction_code_id, "
                              "qbo_account_name, qbo_account_id, updated_at) VALUES (:i, :p, :d, :n, :a, :t)"),
                         dict(zip("ipdna", row, strict=True), t=when))
    migrate(engine)
    assert current_revision(engine) == head_revision()
    select_rows = ("SELECT company_id, pay_code_id, deduction_code_id, qbo_account_name, qbo_account_id "
                   "FROM payables_account_mappings WHERE company_id = :c ORDER BY pay_code_id, deduction_code_id")
    with engine.begin() as conn:
        kept = [tuple(r) for r in conn.execute(text(select_rows), {"c": driver_pay})]
        copied = [tuple(r) for r in conn.execute(text(select_rows), {"c": carrier_pay})]
        # Every mapping stays, with its QuickBooks id, in the driver pay company.
        assert sorted(kept, key=str) == sorted([(driver_pay, p, d, n, a) for _i, p, d, n, a in mappings], key=str)
        if carrier_pay != driver_pay:
            # A carrier pay company of its own gets each by account name: the ids were another company's.
            assert sorted(copied, key=str) == sorted([(carrier_pay, p, d, n, None) for _i, p, d, n, _a in mappings],
                                                     key=str)
        other = 3 - driver_pay if carrier_pay == driver_pay else None
        if other is not None:
            assert conn.execute(text("SELECT count(*) FROM payables_account_mappings WHERE company_id = :c"),
                                {"c": other}).scalar_one() == 0
            conn.execute(text("INSERT INTO payables_account_mappings (company_id, pay_code_id, qbo_account_name, "
                              "updated_at) VALUES (:c, 1, 'Carrier Costs', :t)"), {"c": other, "t": when})
        # One mapping of a code per company.
        for column in ("pay_code_id", "deduction_code_id"):
            with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), conn.begin_nested():
                conn.execute(text(f"INSERT INTO payables_account_mappings (company_id, {column}, updated_at) "
                                  "VALUES (:c, 1, :t)"), {"c": driver_pay, "t": when})
        assert conn.execute(text("SELECT count(DISTINCT company_id) FROM payables_account_mappings")).scalar_one() == 2


def _sync_records_upgraded(engine: Engine, revision: str, *, synced: bool) -> tuple[dict[str, list[str]], list[tuple]]:
    """Three invoice records written at `revision` (synced, or failed), upgraded: the indexes and the rows after."""
    engine = migrate_to(engine, revision)
    when = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        company = conn.execute(text("SELECT id FROM companies ORDER BY id LIMIT 1")).scalar_one()
        for i in range(1, 4):
            conn.execute(text(
                "INSERT INTO sync_records (id, company_id, entity_type, entity_id, qbo_id, status, attempts, "
                "last_synced_at, first_failed_at, last_attempt_at, updated_at) VALUES (:i, :c, 'invoice', :i, :q, "
                ":s, :a, :synced_at, :failed_at, :t, :t)"),
                {"i": i, "c": company, "q": str(100 + i) if synced else None, "s": "synced" if synced else "failed",
                 "a": 0 if synced else 1, "synced_at": when if synced else None, "failed_at": None if synced else when,
                 "t": when})
    migrate(engine)
    assert current_revision(engine) == head_revision()
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("sync_records")}
    with engine.begin() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT id, status, qbo_id FROM sync_records ORDER BY id"))]
    return indexes, rows


def test_sync_records_of_the_previous_release_keep_their_rows_and_gain_the_newest_sync_index(
    empty_engine: Engine,
) -> None:
    indexes, rows = _sync_records_upgraded(empty_engine, "0017", synced=True)
    assert indexes["ix_sync_records_type_synced"] == ["entity_type", "last_synced_at", "id"]  # the id since 0020
    assert rows == [(1, "synced", "101"), (2, "synced", "102"), (3, "synced", "103")]


def test_sync_records_of_the_previous_release_keep_their_rows_and_their_status_index_gains_the_sort_keys(
    empty_engine: Engine,
) -> None:
    indexes, rows = _sync_records_upgraded(empty_engine, "0018", synced=False)
    assert indexes["ix_sync_records_type_status"] == ["entity_type", "status", "last_attempt_at", "first_failed_at",
                                                      "company_id", "entity_id"]
    assert rows == [(1, "failed", None), (2, "failed", None), (3, "failed", None)]
