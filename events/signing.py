"""Webhook signing secrets: made, kept encrypted, and used to sign a body.

The secret is stored encrypted with Fernet (AES-128-CBC with an HMAC, from the
``cryptography`` package) under a key derived from ``SECRET_KEY`` by HKDF, so a copy
of the database alone reveals no secret. Keys derived from ``SECRET_KEY_FALLBACKS``
still decrypt, so ``SECRET_KEY`` can be rotated like Django's own signing.

The signature is ``HMAC-SHA256(secret, f"{timestamp}.{body}")`` in hex, sent as
``Webhook-Signature: sha256=<hex>`` with ``Webhook-Timestamp: <timestamp>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_INFO = b"events.webhook-secret.v1"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _cipher() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def encrypt(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _cipher().decrypt(token.encode()).decode()


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
