"""Sealed carriers: round trip, scope binding, tampering, foreign tokens, bounded inflation."""

from __future__ import annotations

import base64
import os
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.core.seal import PREFIX, Sealer, is_sealed

KEY = bytes(range(32))


def test_round_trip_small_and_large_payloads() -> None:
    s = Sealer(KEY)
    small = {"reasoning": "think", "sig": None}
    large = {"reasoning": "long thought " * 2000, "calls": ["call_1", "call_2"]}
    tok_small, tok_large = s.seal("deepseek", small), s.seal("deepseek", large)
    assert is_sealed(tok_small)
    assert tok_small.startswith(PREFIX)
    assert s.unseal("deepseek", tok_small) == small
    assert s.unseal("deepseek", tok_large) == large
    assert len(tok_large) < len(large["reasoning"])  # deflated before sealing


def test_each_seal_is_different_but_opens_the_same() -> None:
    s = Sealer(KEY)
    a, b = s.seal("p", {"x": 1}), s.seal("p", {"x": 1})
    assert a != b
    assert s.unseal("p", a) == s.unseal("p", b) == {"x": 1}


def test_bound_to_scope_and_key() -> None:
    s = Sealer(KEY)
    tok = s.seal("deepseek", {"x": 1})
    assert s.unseal("anthropic", tok) is None
    assert Sealer(bytes(32)).unseal("deepseek", tok) is None


@pytest.mark.parametrize(
    "token",
    ["", "gAAAAABencrypted-by-openai", PREFIX, PREFIX + "!!!", PREFIX + "AAAA", "a2s0.whatever", "x" * 100],
)
def test_foreign_or_malformed_tokens_do_not_open(token: str) -> None:
    assert Sealer(KEY).unseal("p", token) is None


def test_tampering_is_detected() -> None:
    s = Sealer(KEY)
    tok = s.seal("p", {"secret": "reasoning"})
    raw = bytearray(base64.urlsafe_b64decode(tok[len(PREFIX) :] + "=" * (-len(tok) % 4)))
    raw[20] ^= 1
    forged = PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert s.unseal("p", forged) is None


def test_inflation_is_bounded() -> None:
    # a payload that inflates past the bound is refused, not decompressed whole
    from any2api.core import seal as mod

    s = Sealer(KEY)
    bomb = mod._DEFLATED + zlib.compress(b"[" + b"0," * (9 * 1024 * 1024) + b"0]", 9)
    nonce = os.urandom(12)
    ct = s._aead.encrypt(nonce, bomb, b"p")
    tok = PREFIX + base64.urlsafe_b64encode(nonce + ct).decode()
    assert s.unseal("p", tok) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert Sealer(KEY).unseal("p", PREFIX + text) is None
