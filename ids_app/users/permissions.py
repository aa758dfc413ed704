"""Who may do what (21 CFR 11.10(d), (g)): checked in every service, shown by the UI."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ids_app.errors import PermissionDenied
from ids_app.users.models import Role, User


def _with_article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _role_list(roles: tuple[Role, ...]) -> str:
    names = [role.value for role in roles]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return _with_article(listed)


def require_role(session: Session, user: User, *roles: Role, to: str) -> None:
    """Refuse unless ``user`` is active, unlocked and holds one of ``roles`` right now.

    The account is read again from the database: a user deactivated, locked or given
    another role while signed in at a workstation loses that authority at once
    (21 CFR 11.10(d), (g)). ``to`` completes the sentence "Only a … may …".
    """
    current = session.get(User, user.id, populate_existing=True)
    if current is None:
        raise PermissionDenied("That account does not exist in this database.")
    user = current
    if not user.active:
        raise PermissionDenied(f"{user.full_name}'s account is deactivated; it may not {to}.")
    if user.locked:
        raise PermissionDenied(f"{user.full_name}'s account is locked; it may not {to}.")
    if user.role not in roles:
        raise PermissionDenied(
            f"Only {_role_list(roles)} may {to}; "
            f"you are signed in as {_with_article(user.role.value)}."
        )
