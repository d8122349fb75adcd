"""Security helpers in one place: Argon2 password hashing, random tokens and their hashes,
CSRF comparison, the login back-off schedule and the response security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# A hash to verify against when the user does not exist, so that timing does not tell
# "no such user" from "wrong password".
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD = 10

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class PasswordPolicyError(ValueError):
    pass


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordPolicyError(f"the password must have at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def backoff(failures: int, *, threshold: int = 5, base_seconds: int = 30, max_seconds: int = 900) -> timedelta | None:
    """How long an account is locked after ``failures`` failed logins in a row (None: not locked).

    The first ``threshold - 1`` failures cost nothing; then 30 s, 60 s, 120 s ... up to 15 minutes.
    """
    if failures < threshold:
        return None
    return timedelta(seconds=min(base_seconds * 2 ** (failures - threshold), max_seconds))


__all__ = ["MIN_PASSWORD", "SECURITY_HEADERS", "PasswordPolicyError", "backoff", "check_password_policy",
           "hash_password", "new_token", "same", "token_hash", "verify_password"]
