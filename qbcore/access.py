"""Who may do what: the one role check every destructive action calls, and the audit writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from qbcore.models import AuditEvent, Role
from qbcore.refusals import Refusal

# Higher number, more power; an action needs at least its level.
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Actor:
    """The person (or process) acting, as the console knows them."""

    email: str
    role: Role
    name: str | None = None

    @property
    def label(self) -> str:
        """How the actor is shown: name and role."""
        return f"{self.name or self.email} ({self.role.value})"


LOCAL_ADMIN = Actor(email="local-admin@localhost", role=Role.ADMIN, name="Local admin")
SYSTEM = Actor(email="system@qbsync", role=Role.ADMIN, name="qbsync worker")


class PermissionDenied(Refusal, PermissionError):
    """The actor's role does not allow the action; nothing was changed."""

    def __init__(self, actor: Actor, action: str, needed: Role) -> None:
        super().__init__(
            f"{actor.label} may not {action.replace('_', ' ')}: it needs the {needed.value} role. "
            "Ask an admin to do it or to change your role in Settings → Users.",
            action=action,
        )
        self.actor = actor
        self.needed = needed


def is_allowed(actor: Actor, needed: Role) -> bool:
    """True when the actor's role is at least the needed one."""
    return _RANK[actor.role] >= _RANK[needed]


def require_role(
    actor: Actor,
    needed: Role,
    action: str,
    *,
    session: Session | None = None,
    audit_factory: sessionmaker[Session] | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> None:
    """Raise PermissionDenied unless allowed; a refusal is audited in its own transaction."""
    if is_allowed(actor, needed):
        return
    if audit_factory is None and session is not None:
        # The caller's transaction rolls back on the refusal, so the audit goes through a sibling session.
        audit_factory = sessionmaker(bind=session.get_bind())
    if audit_factory is not None:
        # The refusal is recorded even though the caller's transaction will roll back.
        with audit_factory() as session, session.begin():
            write_audit(
                session, actor, action, outcome="refused", target_type=target_type, target_id=target_id,
                reason=f"needs {needed.value}",
            )
    raise PermissionDenied(actor, action, needed)


def write_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    outcome: str = "ok",
    company_id: int | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    event = AuditEvent(
        company_id=company_id,
        actor=actor.email,
        role=actor.role.value,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        reason=reason,
    )
    session.add(event)
    return event


def resolve_actor(
    session: Session, *, email: str, name: str | None, unknown_users: str, admin_emails: tuple[str, ...] = ()
) -> Actor | None:
    """The signed-in user's Actor from the users table; None when they have no access."""
    from sqlalchemy import func, select

    from qbcore.models import User

    email = email.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None and email in admin_emails:
        # Bootstrap: a configured admin is recorded on first sign-in, and audited.
        user = User(email=email, name=name, role=Role.ADMIN)
        session.add(user)
        session.flush()
        write_audit(session, Actor(email=email, role=Role.ADMIN, name=name), "bootstrap_admin",
                    target_type="user", target_id=user.id, after={"role": "admin"})
    if user is None:
        return Actor(email=email, role=Role.VIEWER, name=name) if unknown_users == "viewer" else None
    if not user.active:
        return None
    return Actor(email=user.email, role=Role(user.role), name=user.name or name)
