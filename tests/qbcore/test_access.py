"""One role check for every destructive action; refusals are audited; signed-in users get their role; tokens are
sealed."""

import pytest
from sqlalchemy import select

from qbcore.access import Actor, PermissionDenied, require_role, resolve_actor
from qbcore.db import transaction
from qbcore.models import AuditEvent, Role, User
from qbcore.secrets_box import SecretBox, SecretBoxError


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.OPERATOR, False),
        (Role.OPERATOR, Role.OPERATOR, True),
        (Role.OPERATOR, Role.ADMIN, False),
        (Role.ADMIN, Role.OPERATOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_roles_rank_viewer_below_operator_below_admin(factory, role, needed, allowed):
    actor = Actor(email="x@example.com", role=role)
    if allowed:
        require_role(actor, needed, "resync", audit_factory=factory)
    else:
        with pytest.raises(PermissionDenied, match=needed.value):
            require_role(actor, needed, "resync", audit_factory=factory)
    with factory() as session:
        events = session.scalars(select(AuditEvent)).all()
    assert [(e.outcome, e.action) for e in events] == ([] if allowed else [("refused", "resync")])


def test_tokens_round_trip_and_survive_key_rotation():
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox(old).encrypt("refresh-token-123")
    assert "refresh-token-123" not in sealed
    rotated = SecretBox(new, old).rotate(sealed)
    assert SecretBox(new).decrypt(rotated) == "refresh-token-123"
    with pytest.raises(SecretBoxError, match="reconnect"):
        SecretBox(Fernet.generate_key().decode()).decrypt(sealed)


def test_rotating_the_key_reencrypts_every_stored_token(factory):
    from cryptography.fernet import Fernet

    from qbcore.db import transaction
    from qbcore.models import QboConnection
    from qbcore.secrets_box import reencrypt_tokens

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with transaction(factory) as session:
        session.add(QboConnection(realm_id="1", environment="local", access_token_enc=SecretBox(old).encrypt("a-1"),
                                  refresh_token_enc=SecretBox(old).encrypt("r-1")))
    with transaction(factory) as session:
        assert reencrypt_tokens(session, SecretBox(f"{new},{old}")) == 2
    with factory() as session:
        row = session.scalar(select(QboConnection))
    assert SecretBox(new).decrypt(row.access_token_enc) == "a-1"
    assert SecretBox(new).decrypt(row.refresh_token_enc) == "r-1"
    with pytest.raises(SecretBoxError):
        SecretBox(old).decrypt(row.refresh_token_enc)


def _add_user(factory, email, role, active=True):
    with transaction(factory) as session:
        session.add(User(email=email, name=email.split("@")[0], role=role, active=active))


@pytest.mark.parametrize(
    ("stored", "policy", "expected"),
    [
        (Role.OPERATOR, "viewer", Role.OPERATOR),
        (Role.ADMIN, "deny", Role.ADMIN),
        (None, "viewer", Role.VIEWER),
        (None, "deny", None),
    ],
)
def test_a_signed_in_users_role_comes_from_the_users_table(factory, stored, policy, expected):
    if stored is not None:
        _add_user(factory, "Ann@Example.com", stored)
    with transaction(factory) as session:
        actor = resolve_actor(session, email="ann@example.com", name="Ann", unknown_users=policy)
    assert (actor.role if actor else None) == expected


def test_a_deactivated_user_has_no_access(factory):
    _add_user(factory, "bob@example.com", Role.ADMIN, active=False)
    with transaction(factory) as session:
        assert resolve_actor(session, email="bob@example.com", name=None, unknown_users="viewer") is None


def test_a_configured_admin_is_recorded_and_audited_on_first_sign_in(factory):
    with transaction(factory) as session:
        actor = resolve_actor(session, email="cfo@example.com", name="CFO", unknown_users="deny",
                              admin_emails=("cfo@example.com",))
    assert actor.role is Role.ADMIN
    with factory() as session:
        assert session.scalar(select(User.role).where(User.email == "cfo@example.com")) == "admin"
        assert session.scalar(select(AuditEvent.action)) == "bootstrap_admin"
