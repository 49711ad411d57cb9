"""Upstream secrets at rest: AES-256-GCM under one master key.

The key comes from ``ANY2API_SECRET_KEY`` (any string; 32 url-safe-base64 bytes are used as they are, anything
else is stretched with SHA-256), or else from ``secret.key`` in the data directory, created on first run with
0600 permissions. Instances sharing one database must share the key. The same key also derives the keyed
fingerprints of credentials and the admin JWT signing key, so nothing secret is stored in the clear."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENV_VAR = "ANY2API_SECRET_KEY"
KEY_FILE = "secret.key"
_PREFIX = "v1:"


class SecretKeyError(RuntimeError):
    pass


def _decode_key(text: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return raw
    return hashlib.sha256(text.encode()).digest()


def load_master_key(data_dir: Path) -> bytes:
    """The master key from the environment, else from (or newly into) the key file."""
    env = os.environ.get(ENV_VAR)
    if env:
        return _decode_key(env)
    path = data_dir / KEY_FILE
    try:
        return _decode_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        pass
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return _decode_key(path.read_text(encoding="ascii"))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text + "\n")
    return _decode_key(text)


class SecretBox:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(hmac.new(master_key, b"any2api/secrets", hashlib.sha256).digest())
        self._fp_key = hmac.new(master_key, b"any2api/fingerprint", hashlib.sha256).digest()
        self._jwt_key = hmac.new(master_key, b"any2api/admin-jwt", hashlib.sha256).digest()

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        nonce = secrets.token_bytes(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), None)
        return _PREFIX + base64.urlsafe_b64encode(nonce + ct).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        if not token.startswith(_PREFIX):
            raise SecretKeyError("stored secret has an unknown format")
        try:
            blob = base64.urlsafe_b64decode(token[len(_PREFIX) :])
            return self._aead.decrypt(blob[:12], blob[12:], None).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretKeyError(
                "cannot decrypt a stored secret: the secret key (ANY2API_SECRET_KEY or the data directory's "
                "secret.key) is not the one the store was written with"
            ) from None

    def fingerprint(self, secret: str | None) -> str:
        """A keyed hash identifying a credential (equal secrets, equal fingerprints)."""
        if secret is None:
            return "keyless"
        return hmac.new(self._fp_key, secret.encode(), hashlib.sha256).hexdigest()

    def jwt_key(self, admin_key: str) -> bytes:
        """The admin JWT signing key: changes when the admin key changes, so old tokens die with it."""
        return hmac.new(self._jwt_key, admin_key.encode(), hashlib.sha256).digest()


def mask(secret: str | None) -> str | None:
    """What an operator may see of a credential: its start and its last four characters."""
    if secret is None:
        return None
    if len(secret) <= 12:
        return "*" * len(secret)
    return f"{secret[:3]}...{secret[-4:]}"
