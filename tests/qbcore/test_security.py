"""Security review as a table: every destructive action × every role.

A refusal means nothing changed and one audit event records it; an allowed role is never refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, PermissionDenied
from qbcore.db import transaction
from qbcore.models import AuditEvent, Base, ChargeCode, EntityType, Invoice, Role, SyncRecord, SyncStatus, User
from qbcore.models.pull import Drift, DriftKind, PulledPayment, PulledPaymentStatus

Factory = sessionmaker[Session]
_KEY = __import__("cryptography.fernet", fromlist=["Fernet"]).Fernet.generate_key().decode()


def _ids(factory: Factory) -> dict[str, int]:
    with factory() as session:
        invoice_records = session.scalars(select(SyncRecord.id).where(SyncRecord.entity_type == "invoice")
                                          .order_by(SyncRecord.id)).all()
        return {
            "failed": invoice_records[0],
            "cleared": invoice_records[1],
            "synced": invoice_records[2],
            "code": session.scalar(select(ChargeCode.id).order_by(ChargeCode.id)),
            "user": session.scalar(select(User.id)),
            "proposal": session.scalar(select(PulledPayment.id)),
            "drift": session.scalar(select(Drift.id)),
        }


@pytest.fixture
def guarded_book(demo_factory: Factory) -> dict[str, int]:
    """A book with one record in every state an action needs, a user, a payment proposal and a drift."""
    with transaction(demo_factory) as session:
        rows = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == "invoice")
                               .order_by(SyncRecord.id).limit(3)).all()
        rows[0].status, rows[0].error_kind = SyncStatus.FAILED, "validation"
        rows[1].status = SyncStatus.CLEARED
        rows[2].status, rows[2].qbo_id, rows[2].qbo_sync_token = SyncStatus.SYNCED, "77", "0"
        session.add(User(email="someone@example.com", role=Role.VIEWER))
        invoice_id = session.scalar(select(SyncRecord.entity_id).where(SyncRecord.id == rows[2].id))
        session.add(PulledPayment(qbo_payment_id="901", qbo_invoice_id="77", invoice_id=invoice_id,
                                  amount=Decimal("10.00"), status=PulledPaymentStatus.PROPOSED))
        session.add(Drift(entity_type=EntityType.INVOICE.value, entity_id=invoice_id, qbo_id="77",
                          kind=DriftKind.VOID.value, summary="voided in QuickBooks"))
    return _ids(demo_factory)


def _in_tx(fn: Callable[[Session, Actor, dict[str, int]], object]):
    def run(factory: Factory, actor: Actor, ids: dict[str, int]) -> None:
        with transaction(factory) as session:
            fn(session, actor, ids)
    return run


def _problem(name: str):
    from qbcore.problems import actions

    def call(session: Session, actor: Actor, ids: dict[str, int]) -> None:
        target = [ids["cleared"]] if name == "restore_invoices" else [ids["failed"]]
        fn = getattr(actions, name)
        if name == "resync_problems":
            fn(session, actor, EntityType.INVOICE, target)
        else:
            fn(session, actor, target, reason="security review")
    return call


def _override(factory: Factory, actor: Actor, ids: dict[str, int]) -> None:
    from qbcore.id_changes import override_qbo_id

    # The role is checked before QuickBooks is asked anything, so no gateway is needed to be refused.
    override_qbo_id(factory, None, actor, ids["synced"], "78", reason="security review")


def _create_item(factory: Factory, actor: Actor, ids: dict[str, int]) -> None:
    from qbcore.item_mappings import create_missing_item

    create_missing_item(factory, None, actor, ids["code"], name="BASE", income_account_id="1")


def _disconnect(factory: Factory, actor: Actor, ids: dict[str, int]) -> None:
    from qbcore.config import load_config
    from qbcore.qbo.oauth import disconnect

    disconnect(factory, load_config({"QBSYNC_SECRET_KEY": _KEY}, {}), actor=actor)


def _connect(session: Session, actor: Actor, ids: dict[str, int]) -> None:
    from qbcore.config import load_config
    from qbcore.qbo.oauth import start_authorization

    start_authorization(session, load_config({"QBSYNC_SECRET_KEY": _KEY}, {}), actor=actor)


def _import(session: Session, actor: Actor, ids: dict[str, int]) -> None:
    from qbcore.importer import FileKind, import_files

    files = {FileKind.CUSTOMERS: b"customer_code,name\nZZ-1,Security Review Imports\n"}
    import_files(files, session=session, actor=actor)


def _settings(session, actor, ids):
    from qbcore.settings import save_settings

    save_settings(session, actor, {"paused": True})


def _map_code(session, actor, ids):
    from qbcore.item_mappings import save_item_mapping

    save_item_mapping(session, actor, ids["code"], qbo_item_id="5", qbo_item_name="Drayage")


def _add_user(session, actor, ids):
    from qbcore.users import add_user

    add_user(session, actor, email="new@example.com", name="New", role=Role.OPERATOR)


def _change_role(session, actor, ids):
    from qbcore.users import change_user_role

    change_user_role(session, actor, ids["user"], Role.ADMIN)


def _remove_id(session, actor, ids):
    from qbcore.id_changes import remove_qbo_ids

    remove_qbo_ids(session, actor, [ids["synced"]], reason="security review")


def _resync(session, actor, ids):
    from qbcore.jobs.queue import enqueue_sync

    enqueue_sync(session, actor, record_ids=[ids["failed"]])


def _pull(session, actor, ids):
    from qbcore.pull.runner import enqueue_pull

    enqueue_pull(session, actor)


def _accept(session, actor, ids):
    from qbcore.pull.decisions import accept_proposal

    accept_proposal(session, actor, ids["proposal"])


def _reject(session, actor, ids):
    from qbcore.pull.decisions import reject_proposal

    reject_proposal(session, actor, ids["proposal"], reason="security review")


def _resolve_drift(session, actor, ids):
    from qbcore.pull.decisions import resolve_drift

    resolve_drift(session, actor, ids["drift"], reason="security review")


ACTIONS: dict[str, tuple[Role, Callable[[Factory, Actor, dict[str, int]], None]]] = {
    "resync (job)": (Role.OPERATOR, _in_tx(_resync)),
    "resync selected problems": (Role.OPERATOR, _in_tx(_problem("resync_problems"))),
    "clear invoices": (Role.OPERATOR, _in_tx(_problem("clear_invoices"))),
    "mark invoices paid without sync": (Role.OPERATOR, _in_tx(_problem("mark_invoices_paid_outside"))),
    "restore cleared invoices": (Role.OPERATOR, _in_tx(_problem("restore_invoices"))),
    "import a book": (Role.OPERATOR, _in_tx(_import)),
    "pull from QuickBooks": (Role.OPERATOR, _in_tx(_pull)),
    "accept a pulled payment": (Role.OPERATOR, _in_tx(_accept)),
    "reject a pulled payment": (Role.OPERATOR, _in_tx(_reject)),
    "resolve drift": (Role.OPERATOR, _in_tx(_resolve_drift)),
    "remove a QuickBooks id": (Role.ADMIN, _in_tx(_remove_id)),
    "override a QuickBooks id": (Role.ADMIN, _override),
    "change settings": (Role.ADMIN, _in_tx(_settings)),
    "map a charge code": (Role.ADMIN, _in_tx(_map_code)),
    "create a QuickBooks item": (Role.ADMIN, _create_item),
    "add a user": (Role.ADMIN, _in_tx(_add_user)),
    "connect QuickBooks": (Role.ADMIN, _in_tx(_connect)),
    "disconnect QuickBooks": (Role.ADMIN, _disconnect),
    "change a user's role": (Role.ADMIN, _in_tx(_change_role)),
}
RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def _fingerprint(factory: Factory) -> str:
    """A digest of every row of every table except the audit log."""
    digest = hashlib.sha256()
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_events":
                continue
            for row in session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.ADMIN])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_destructive_action_checks_the_role_in_qbcore(demo_factory, guarded_book, action, role):
    needed, run = ACTIONS[action]
    actor = Actor(email=f"{role.value}@example.com", role=role)
    before = _fingerprint(demo_factory)
    with demo_factory() as session:
        audits_before = session.scalars(select(AuditEvent.id)).all()
    if RANK[role] < RANK[needed]:
        with pytest.raises(PermissionDenied):
            run(demo_factory, actor, guarded_book)
        assert _fingerprint(demo_factory) == before
        with demo_factory() as session:
            new = session.scalars(select(AuditEvent).where(AuditEvent.id.not_in(audits_before))).all()
        assert [(e.actor, e.outcome) for e in new] == [(actor.email, "refused")]
    else:
        try:
            run(demo_factory, actor, guarded_book)
        except PermissionDenied:  # pragma: no cover - the failure message says which pair broke
            pytest.fail(f"{role.value} was refused {action}")
        except Exception:
            # Past the role check the action may stop for other reasons (no QuickBooks here); that is fine.
            pass


def test_the_console_has_no_way_to_edit_the_audit_log():
    import qbcore

    offenders = []
    for path in __import__("pathlib").Path(qbcore.__file__).parent.rglob("*.py"):
        text = path.read_text()
        if "migrations" in path.parts:
            continue
        for verb in ("update(AuditEvent", "delete(AuditEvent", "UPDATE audit_events", "DELETE FROM audit_events"):
            if verb in text:
                offenders.append(f"{path.name}: {verb}")
    assert offenders == []


def test_a_refused_action_leaves_the_invoice_status_untouched(demo_factory, guarded_book):
    viewer = Actor(email="v@example.com", role=Role.VIEWER)
    with demo_factory() as session:
        before = session.scalars(select(Invoice.status).order_by(Invoice.id)).all()
    with pytest.raises(PermissionDenied):
        ACTIONS["mark invoices paid without sync"][1](demo_factory, viewer, guarded_book)
    with demo_factory() as session:
        assert session.scalars(select(Invoice.status).order_by(Invoice.id)).all() == before
