"""Accounts and sign-in: first administrator, user administration, lock-out (21 CFR 11.300)."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import Actor, attribute_changes, record_event
from ids_app.db import utc_now
from ids_app.errors import InvalidInput, NotFound, RecordedRefusal
from ids_app.users.models import Role, User
from ids_app.users.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    password_matches,
)
from ids_app.users.permissions import Action, require

MAX_FAILED_ATTEMPTS = 5


class SignInRefused(RecordedRefusal):
    """A failed sign-in or signing attempt: refused, and kept on the record.

    Each failure counts toward the lock-out, whether at sign-in or at a signature prompt
    (both are uses of the password: 21 CFR 11.300(d)).
    """

    def __init__(
        self, message: str, *, attempted_name: str, user_id: int | None, when: str
    ) -> None:
        super().__init__(message)
        self.attempted_name = attempted_name
        self.user_id = user_id
        self.when = when

    def record(self, session: Session) -> None:
        user = session.get(User, self.user_id) if self.user_id is not None else None
        actor = user if user is not None else Actor(None, self.attempted_name)
        attribute_changes(session, actor, reason=str(self))
        if user is not None and user.active and not user.locked:
            user.failed_sign_ins += 1
            if user.failed_sign_ins >= MAX_FAILED_ATTEMPTS:
                user.locked = True
        record_event(
            session,
            actor,
            f"{self.when}_failed",
            table_name=User.__tablename__,
            record_id=self.user_id,
            detail=f"attempted user name: {self.attempted_name}",
            reason=str(self),
        )


def unknown_name(typed: str) -> str:
    """How a sign-in by a name that is no account is recorded: never the typed text, which
    is often a password typed into the wrong field. Its length and a 16-bit fingerprint
    show repeated attempts by the same text, while one fingerprint matches thousands of
    guesses, so it cannot confirm a guessed password."""
    text = typed.strip()
    fingerprint = hashlib.sha256(f"ids-unknown-user-name:{text}".encode()).hexdigest()[:4]
    return f"(unknown user name, {len(text)} characters, #{fingerprint})"


def normalize_username(username: str) -> str:
    return username.strip().lower()


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalize_username(username)))


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"There is no user named '{username.strip()}'.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def needs_first_administrator(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) == 0


def _check_new_user(session: Session, username: str, full_name: str) -> str:
    name = normalize_username(username)
    if not name:
        raise InvalidInput("The user name is empty; type a user name.")
    if any(ch.isspace() for ch in name):
        raise InvalidInput("A user name may not contain spaces.")
    if not full_name.strip():
        raise InvalidInput("Type the person's full name; it is printed with their signatures.")
    if find_user(session, name) is not None:
        raise InvalidInput(
            f"The user name '{name}' is already taken (user names are never reused); "
            "choose another."
        )
    return name


def _new_user(username: str, full_name: str, role: Role, password: str, must_change: bool) -> User:
    check_new_password(password, username)
    return User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change,
    )


def create_first_administrator(
    session: Session, username: str, full_name: str, password: str
) -> User:
    """The very first account, made at first run when the database has no users."""
    if not needs_first_administrator(session):
        raise InvalidInput("This database already has users; sign in as an administrator.")
    name = _check_new_user(session, username, full_name)
    user = _new_user(name, full_name, Role.ADMINISTRATOR, password, must_change=False)
    attribute_changes(session, Actor(None, name), reason="first administrator at first run")
    session.add(user)
    session.flush()  # the new user's id names who acts from now on
    attribute_changes(session, user)
    return user


def add_user(
    session: Session,
    admin: User,
    username: str,
    full_name: str,
    role: Role,
    temporary_password: str,
) -> User:
    """A new account; its password is temporary and must be changed at first sign-in."""
    require(session, admin, Action.ADD_USERS)
    name = _check_new_user(session, username, full_name)
    user = _new_user(name, full_name, role, temporary_password, must_change=True)
    attribute_changes(session, admin, reason="new user")
    session.add(user)
    session.flush()  # give the caller the id
    return user


def deactivate_user(session: Session, admin: User, username: str, reason: str) -> User:
    """Deactivated, never deleted: the name and signatures stay in the record."""
    require(session, admin, Action.DEACTIVATE_USERS)
    user = get_user(session, username)
    if user.id == admin.id:
        raise InvalidInput("You cannot deactivate your own account; ask another administrator.")
    if not user.active:
        raise InvalidInput(f"{user.full_name}'s account is already deactivated.")
    _require_reason(reason, "deactivating an account")
    attribute_changes(session, admin, reason=reason.strip())
    user.active = False
    return user


def reactivate_user(session: Session, admin: User, username: str, reason: str) -> User:
    require(session, admin, Action.REACTIVATE_USERS)
    user = get_user(session, username)
    if user.active:
        raise InvalidInput(f"{user.full_name}'s account is already active.")
    _require_reason(reason, "reactivating an account")
    attribute_changes(session, admin, reason=reason.strip())
    user.active = True
    return user


def unlock_user(session: Session, admin: User, username: str) -> User:
    require(session, admin, Action.UNLOCK_ACCOUNTS)
    user = get_user(session, username)
    if not user.locked:
        raise InvalidInput(f"{user.full_name}'s account is not locked.")
    attribute_changes(session, admin, reason="account unlocked by an administrator")
    user.locked = False
    user.failed_sign_ins = 0
    return user


def reset_password(session: Session, admin: User, username: str, temporary_password: str) -> User:
    """A temporary password, to be changed at the next sign-in; it also lifts a lock-out."""
    require(session, admin, Action.RESET_PASSWORDS)
    user = get_user(session, username)
    check_new_password(temporary_password, user.username)
    attribute_changes(session, admin, reason="password reset by an administrator")
    user.password_hash = hash_password(temporary_password)
    user.must_change_password = True
    user.locked = False
    user.failed_sign_ins = 0
    user.password_changed_at = utc_now()
    return user


def change_password(session: Session, user: User, current_password: str, new_password: str) -> User:
    """The user's own change. A wrong current password is a failed attempt like any other:
    recorded, and counted toward the lock-out."""
    user = authenticate(session, user.username, current_password, when="password_change")
    check_new_password(new_password, user.username)
    if password_matches(user.password_hash, new_password):
        raise InvalidInput("The new password must differ from the current one.")
    attribute_changes(session, user, reason="password changed by its owner")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.password_changed_at = utc_now()
    return user


def authenticate(session: Session, username: str, password: str, *, when: str) -> User:
    """Check a user name and password, or raise a refusal that is kept on record.

    ``when`` names the use ("sign_in", "signature") in the audit trail.
    """
    user = find_user(session, username)
    shown = username.strip() if user is not None else unknown_name(username)
    if user is None or not password:
        raise SignInRefused(
            "The user name or password is wrong.",
            attempted_name=shown,
            user_id=None if user is None else user.id,
            when=when,
        )
    if not user.active:
        raise SignInRefused(
            "This account is deactivated; ask an administrator.",
            attempted_name=shown,
            user_id=user.id,
            when=when,
        )
    if user.locked:
        raise SignInRefused(
            f"This account is locked after {MAX_FAILED_ATTEMPTS} failed attempts; "
            "ask an administrator to unlock it.",
            attempted_name=shown,
            user_id=user.id,
            when=when,
        )
    if not password_matches(user.password_hash, password):
        left = MAX_FAILED_ATTEMPTS - user.failed_sign_ins - 1
        what = "user name or password" if when == "sign_in" else "password"
        message = (
            f"The {what} is wrong. The account is now locked; ask an administrator to unlock it."
            if left <= 0
            else f"The {what} is wrong ({left} attempts left before the account locks)."
        )
        raise SignInRefused(message, attempted_name=shown, user_id=user.id, when=when)
    attribute_changes(session, user)
    if user.failed_sign_ins:
        user.failed_sign_ins = 0
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def sign_in(session: Session, username: str, password: str) -> User:
    """Open a session for a user; the UI then asks for a new password if one is due."""
    user = authenticate(session, username, password, when="sign_in")
    record_event(session, user, "sign_in", table_name=User.__tablename__, record_id=user.id)
    return user


def sign_out(session: Session, user: User) -> None:
    record_event(session, user, "sign_out", table_name=User.__tablename__, record_id=user.id)


def _require_reason(reason: str, doing: str) -> None:
    if not reason.strip():
        raise InvalidInput(f"Give a reason for {doing}; it is kept in the audit trail.")
