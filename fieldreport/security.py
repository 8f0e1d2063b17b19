"""Password hashing (argon2), random tokens and their stored hashes, keyed digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Tokens are stored as SHA-256: they are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed(secret: str, *parts: str) -> str:
    """A stable HMAC digest, e.g. to derive the demo API key from the deployment secret."""
    return hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()
