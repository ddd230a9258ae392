"""Encryption at rest for gateway secrets, and hashing for Tally's own access tokens.

Gateway keys must be decryptable (lookups are made with them), so they are encrypted with
Fernet under TALLY_SECRETS_KEY. Access tokens only need to be recognised, so only a hash is
kept: they are 256-bit random values, for which one SHA-256 round is enough.
"""

import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

ACCESS_TOKEN_PREFIX = "tally_"


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.TALLY_SECRETS_KEYS])


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise ValueError("This secret cannot be decrypted with the configured TALLY_SECRETS_KEY.") from error


def fingerprint(secret: str) -> str:
    """A stable, non-reversible identifier of a secret, for display and duplicate detection."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_access_token() -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_access_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
