"""Sealed carriers: what an upstream needs back next turn, carried by the client, readable only by us.

Upstreams want their own reasoning back (DeepSeek's ``reasoning_content`` on a tool-call turn, Anthropic's
signed thinking, Gemini's ``thoughtSignature``), but a client speaking another dialect has no field for it.
The gateway seals that state into the opaque string the client's dialect does carry (Responses
``encrypted_content``, an Anthropic thinking ``signature``, OpenAI chat ``reasoning_details``) and unseals it
when it comes back, so any instance serves any turn with no server state.

A seal is AES-256-GCM under a key derived from the gateway's master key, with the *scope* (the provider the
state belongs to) as associated data: a blob made for one provider never opens for another, and a tampered or
foreign blob (another gateway's, or a vendor's own) simply does not open (``None``), never an exception.
Payloads are compact JSON, deflated when that helps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import zlib
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "a2s1."
"""Marks a carrier this gateway made (version 1). Anything else is foreign by construction."""

_RAW = b"\x00"
_DEFLATED = b"\x01"
_DEFLATE_FROM = 256
_MAX_TOKEN = 4 * 1024 * 1024
"""Refuse to even try opening carriers larger than this (a client cannot make us inflate unbounded data)."""
_MAX_PLAIN = 16 * 1024 * 1024


class Sealer:
    """Seals and unseals JSON payloads bound to a scope (a provider name)."""

    __slots__ = ("_aead",)

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(hmac.new(master_key, b"any2api/carrier-seal-v1", hashlib.sha256).digest())

    def seal(self, scope: str, payload: Any) -> str:
        """An opaque, URL-safe string holding ``payload`` for ``scope``."""
        plain = orjson.dumps(payload)
        if len(plain) >= _DEFLATE_FROM:
            packed = zlib.compress(plain, 6)
            body = _DEFLATED + packed if len(packed) < len(plain) else _RAW + plain
        else:
            body = _RAW + plain
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, body, scope.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + ct).decode().rstrip("=")

    def unseal(self, scope: str, token: str) -> Any | None:
        """The payload sealed for ``scope``, or ``None`` when the token is not ours, is for another scope,
        or was altered."""
        if not is_sealed(token) or len(token) > _MAX_TOKEN:
            return None
        data = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < 12 + 16 + 1:
            return None
        try:
            body = self._aead.decrypt(raw[:12], raw[12:], scope.encode())
        except InvalidTag:
            return None
        kind, rest = body[:1], body[1:]
        if kind == _DEFLATED:
            d = zlib.decompressobj()
            try:
                rest = d.decompress(rest, _MAX_PLAIN)
            except zlib.error:
                return None
            if d.unconsumed_tail:
                return None
        elif kind != _RAW:
            return None
        try:
            return orjson.loads(rest)
        except orjson.JSONDecodeError:
            return None


def is_sealed(token: object) -> bool:
    """Whether ``token`` looks like a carrier this gateway made (it may still fail to open)."""
    return isinstance(token, str) and token.startswith(PREFIX)


_default: Sealer | None = None


def set_default_sealer(sealer: Sealer | None) -> None:
    """Installed once at start-up by the composition root (every instance sharing a store shares the key)."""
    global _default
    _default = sealer


def default_sealer() -> Sealer:
    """The gateway's sealer. Before start-up (unit tests without an app) an ephemeral key is made, so a seal
    made then opens only in the same process."""
    global _default
    if _default is None:
        _default = Sealer(os.urandom(32))
    return _default
