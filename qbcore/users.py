"""Console users and their roles: list, add, change a role, switch a user on or off (admin only, audited)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.item_mappings import MappingChangeRefused
from qbcore.models import Role, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserChangeRefused(MappingChangeRefused):
    """A user change is invalid; the message says why, and nothing was changed (Settings' refusal, as before)."""


@dataclass(frozen=True)
class UserRow:
    """A console user as the Settings page lists them."""

    user_id: int
    email: str
    name: str | None
    role: Role
    active: bool


def _user_row(user: User) -> UserRow:
    return UserRow(user.id, user.email, user.name, Role(user.role), bool(user.active))


def list_users(session: Session) -> list[UserRow]:
    """Every console user, active first, by email."""
    users = session.scalars(select(User).order_by(User.active.desc(), User.email))
    return [_user_row(u) for u in users]


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True))) or 0


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserChangeRefused(f"User {user_id} does not exist.")
    return user


def add_user(session: Session, actor: Actor, *, email: str, name: str | None, role: Role | str,
             audit_factory: sessionmaker[Session] | None = None) -> UserRow:
    """Add a console user with a role (admin only)."""
    require_role(actor, Role.ADMIN, "add_user", session=session, audit_factory=audit_factory,
                 target_type="settings", target_id="users")
    address = (email or "").strip().lower()
    if not _EMAIL.match(address) or len(address) > 200:
        raise UserChangeRefused(f"{email!r} is not an email address.")
    try:
        chosen = Role(role)
    except ValueError:
        raise UserChangeRefused(f"{role!r} is not a role: choose viewer, operator or admin.") from None
    if session.scalar(select(User.id).where(func.lower(User.email) == address)):
        raise UserChangeRefused(f"{address} is already a user; change their role instead.")
    user = User(email=address, name=(name or "").strip() or None, role=chosen, active=True)
    session.add(user)
    session.flush()
    write_audit(session, actor, "add_user", target_type="user", target_id=address,
                after={"email": address, "name": user.name, "role": chosen.value})
    return _user_row(user)


def change_user_role(session: Session, actor: Actor, user_id: int, role: Role | str, *,
                     audit_factory: sessionmaker[Session] | None = None) -> UserRow:
    """Give a user another role (admin only); the last active admin keeps theirs."""
    require_role(actor, Role.ADMIN, "change_user_role", session=session, audit_factory=audit_factory,
                 target_type="settings", target_id=f"user:{user_id}")
    try:
        chosen = Role(role)
    except ValueError:
        raise UserChangeRefused(f"{role!r} is not a role: choose viewer, operator or admin.") from None
    user = _user(session, user_id)
    before = Role(user.role)
    if before == chosen:
        raise UserChangeRefused(f"{user.email} is already {chosen.value}; nothing to change.")
    if before is Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise UserChangeRefused(f"{user.email} is the last active admin; make someone else admin first.")
    user.role = chosen
    session.flush()
    write_audit(session, actor, "change_user_role", target_type="user", target_id=user.email,
                before={"role": before.value}, after={"role": chosen.value})
    return _user_row(user)


def set_user_active(session: Session, actor: Actor, user_id: int, active: bool, *,
                    audit_factory: sessionmaker[Session] | None = None) -> UserRow:
    """Deactivate or reactivate a user (admin only); nobody deactivates themselves or the last admin."""
    action = "reactivate_user" if active else "deactivate_user"
    require_role(actor, Role.ADMIN, action, session=session, audit_factory=audit_factory,
                 target_type="settings", target_id=f"user:{user_id}")
    user = _user(session, user_id)
    if bool(user.active) == active:
        raise UserChangeRefused(f"{user.email} is already {'active' if active else 'inactive'}.")
    if not active and user.email.lower() == actor.email.lower():
        raise UserChangeRefused("You cannot deactivate yourself; ask another admin.")
    if not active and Role(user.role) is Role.ADMIN and _active_admins(session) <= 1:
        raise UserChangeRefused(f"{user.email} is the last active admin; make someone else admin first.")
    user.active = active
    session.flush()
    write_audit(session, actor, action, target_type="user", target_id=user.email,
                before={"active": not active}, after={"active": active})
    return _user_row(user)
