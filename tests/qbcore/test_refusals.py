"""One refusal base: every refused request says what and why, changes nothing, and reaches pages as a Refusal."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from qbcore import live
from qbcore.access import PermissionDenied
from qbcore.config import Config, QboEnvironment
from qbcore.demo import BookNotEmptyError
from qbcore.id_changes import IdChangeRefused
from qbcore.item_mappings import MappingChangeRefused
from qbcore.jobs.queue import NothingToSync
from qbcore.problems.actions import NothingToChange
from qbcore.pull.decisions import DecisionError
from qbcore.qbo.oauth import AuthorizationError, start_authorization
from qbcore.refusals import QuickBooksUnavailable, ReasonRequired, Refusal, require_reason
from qbcore.settings import SettingsError


@pytest.mark.parametrize("refusal", [
    PermissionDenied, ReasonRequired, NothingToChange, NothingToSync, IdChangeRefused, MappingChangeRefused,
    SettingsError, DecisionError, AuthorizationError, BookNotEmptyError, QuickBooksUnavailable,
])
def test_every_refusal_derives_from_the_one_base_and_changes_nothing(refusal):
    assert issubclass(refusal, Refusal) and refusal.nothing_changed


def test_a_blank_reason_is_refused_with_the_action_named():
    with pytest.raises(ReasonRequired, match="Give a reason to clear invoices") as raised:
        require_reason("   ", "clear invoices")
    assert (raised.value.action, raised.value.correctable) == ("clear invoices", True)
    assert require_reason("  billed twice ", "clear invoices") == "billed twice"


def test_a_reason_check_can_raise_the_callers_own_refusal():
    with pytest.raises(IdChangeRefused, match="Nothing was changed"):
        require_reason(None, "remove a QuickBooks id", refusal=IdChangeRefused)


def test_nothing_to_do_refusals_are_told_apart_from_errors():
    assert NothingToSync.nothing_to_do and NothingToChange.nothing_to_do
    assert not PermissionDenied.nothing_to_do and not SettingsError.nothing_to_do


def test_asking_quickbooks_without_a_connection_is_a_refusal_not_a_traceback(factory, db_url, tmp_path):
    config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url="http://127.0.0.1:9",
                    secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
    with pytest.raises(QuickBooksUnavailable, match="Could not read lists from QuickBooks: QuickBooks is not "
                                                    "connected"):
        live.read_lists(factory, config)
    with pytest.raises(QuickBooksUnavailable, match="Could not read the closing date"):
        live.read_close_date(factory, config)


def test_an_unreachable_quickbooks_refuses_the_sign_in_with_a_sentence(factory, db_url, tmp_path):
    # Port 9 (discard) on loopback: nothing answers the discovery document.
    config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url="http://127.0.0.1:9",
                    secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
    with pytest.raises(AuthorizationError, match="QuickBooks could not be reached"), factory() as session, \
            session.begin():
        start_authorization(session, config)
