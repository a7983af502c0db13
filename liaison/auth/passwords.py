"""argon2id password hashing with explicit, configured parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type
from flask import current_app


def _hasher() -> PasswordHasher:
    config = current_app.config
    key = "liaison.password_hasher"
    hasher = current_app.extensions.get(key)
    if hasher is None:
        hasher = PasswordHasher(
            time_cost=config["PASSWORD_HASH_TIME_COST"],
            memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
            parallelism=config["PASSWORD_HASH_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions[key] = hasher
    return hasher


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; a missing hash still costs one hash (no timing leak)."""
    hasher = _hasher()
    if password_hash is None:
        hasher.hash(password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used other parameters than the configured ones."""
    return _hasher().check_needs_rehash(password_hash)
