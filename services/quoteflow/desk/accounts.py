"""Local accounts: argon2id password hashes (argon2-cffi), roles, sessions' tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["agent", "reviewer"]
ROLES: tuple[Role, ...] = ("agent", "reviewer")
_HASHER = PasswordHasher()  # argon2id, the library's recommended parameters
# verified against when the user does not exist, so timing does not tell who does
_DUMMY = _HASHER.hash("no such user")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Sessions are stored by digest: a leaked database holds no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(15)
