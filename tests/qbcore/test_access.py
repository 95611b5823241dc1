"""One role check for every destructive action; refusals are audited; tokens are sealed."""

import pytest
from sqlalchemy import select

from qbcore.access import Actor, PermissionDenied, require_role
from qbcore.models import AuditEvent, Role
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
