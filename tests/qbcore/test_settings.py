"""Sync settings: validated as a whole, admin-only, audited with before and after."""

import pytest
from sqlalchemy import select

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.db import transaction
from qbcore.models import AuditEvent, Role
from qbcore.settings import SettingsError, SyncSettings, load_settings, save_settings


def test_defaults_apply_until_something_is_saved(factory):
    with factory() as session:
        assert load_settings(session) == SyncSettings()


def test_many_changes_at_once_are_saved_and_audited_in_one_event(factory):
    changes = {"invoice_numbering": "quickbooks", "customer_matching": "email", "description_overflow": "fail",
               "terms_mapping": {"Net 30": "Net 30"}, "paused": True}
    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, changes, reason="month-end freeze")
    with factory() as session:
        settings = load_settings(session)
        event = session.scalar(select(AuditEvent))
    assert settings.paused and settings.customer_matching == "email"
    assert set(event.after) == set(changes) and event.before["paused"] is False
    assert event.reason == "month-end freeze"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trigger": "hourly"}, "trigger must be one of"),
        ({"nonsense": 1}, "unknown setting"),
        ({"description": {"fields": ["container_number", "shoe_size"]}}, "shoe_size"),
        ({"description": {"separator": "-" * 11}}, "at most 10"),
    ],
)
def test_an_invalid_change_is_refused_with_its_name_and_nothing_saved(factory, changes, message):
    with pytest.raises(SettingsError, match=message), transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, changes)
    with factory() as session:
        assert load_settings(session) == SyncSettings()
        assert session.scalar(select(AuditEvent)) is None


def test_a_non_admin_is_refused_nothing_changes_and_the_refusal_is_audited(factory):
    operator = Actor(email="op@example.com", role=Role.OPERATOR)
    with pytest.raises(PermissionDenied), transaction(factory) as session:
        save_settings(session, operator, {"paused": True})
    with factory() as session:
        assert load_settings(session).paused is False
        event = session.scalar(select(AuditEvent))
    assert (event.actor, event.action, event.outcome) == ("op@example.com", "change_settings", "refused")


@pytest.mark.parametrize(("changes", "words"), [
    ({"bill_payment_account": ""}, "bank account bills are paid from"),
    ({"default_expense_account": "Fuel\nCosts"}, "at most 100 characters on one line"),
    ({"settlement_vendor": "owner"}, "settlement_vendor must be one of driver, fleet_owner, both"),
])
def test_bill_options_are_checked_before_they_are_saved(changes, words):
    from qbcore.settings import settings_from_dict, settings_to_dict

    with pytest.raises(SettingsError, match=words):
        settings_from_dict({**settings_to_dict(SyncSettings()), **changes})
