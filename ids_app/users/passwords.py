"""Password hashing with argon2id (argon2-cffi), the current OWASP recommendation."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ids_app.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def set_hashing_cost(*, time_cost: int, memory_cost_kib: int) -> None:
    """Change the argon2 cost; a lower cost is for test suites, never for a pharmacy."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str, username: str) -> None:
    """Refuse a password that would be easy to guess or mistype into the record."""
    if not password:
        raise InvalidInput("The password is empty; type a password.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == username.strip().lower():
        raise InvalidInput("A password may not be the same as the user name.")
