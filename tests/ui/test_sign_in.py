"""Single sign-on: roles come from the users table; unknown users get viewer or no access."""

import pytest
from sqlalchemy import select

from qbcore.access import resolve_actor
from qbcore.db import transaction
from qbcore.models import AuditEvent, Role, User

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "s", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}


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
def test_the_role_comes_from_the_users_table(factory, stored, policy, expected):
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


def test_with_sso_a_signed_out_visitor_sees_only_a_sign_in_button(home, demo_factory):
    home.secrets["auth"] = AUTH
    home.user = {"is_logged_in": False}
    home.run()
    assert not home.exception
    assert [b.key for b in home.button] == ["sso_login"]
    assert not home.metric


def test_with_sso_a_signed_in_operator_sees_their_role(home, demo_factory):
    _add_user(demo_factory, "op@example.com", Role.OPERATOR)
    home.secrets["auth"] = AUTH
    home.user = {"is_logged_in": True, "email": "op@example.com", "name": "Olive"}
    home.run()
    assert not home.exception
    assert any("role: operator" in c.value for c in home.sidebar.caption)


def test_with_sso_and_deny_an_unknown_user_is_told_they_have_no_access(home, demo_factory, monkeypatch):
    monkeypatch.setenv("QBSYNC_UNKNOWN_USERS", "deny")
    home.secrets["auth"] = AUTH
    home.user = {"is_logged_in": True, "email": "stranger@example.com", "name": "S"}
    home.run()
    assert any("has no access" in e.value for e in home.error)
    assert not home.metric
