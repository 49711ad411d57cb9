"""Probe finding 2: count_tokens keeps memory flat (its cache holds digests, not texts) and refuses a
request with more text than any context window (413 in the endpoint's dialect)."""

from __future__ import annotations

import os
import random
import string

from any2api import tokens
from tests.rawhttp import request

KEY = "sk-test-client"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
CONFIG = """
server: {host: 127.0.0.1, port: 0}
auth: {keys: [sk-test-client]}
providers:
  - name: ant
    type: anthropic
    base_url: http://127.0.0.1:9
    api_keys: [sk-ant-up]
    models: [claude-x]
"""
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def unique_text(n: int, rng: random.Random) -> str:
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(2000)]
    out: list[str] = []
    size = 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def count(url: str, text: str) -> int:
    r = request(
        "POST",
        url + "/v1/messages/count_tokens",
        {"model": "claude-x", "messages": [{"role": "user", "content": text}]},
        HEADERS,
    )
    assert r.status == 200, r.body
    return int(r.json()["input_tokens"])


def test_rss_stays_flat_over_100_large_unique_counts(spawn_gateway):
    gw = spawn_gateway(CONFIG)
    assert gw.proc is not None
    rng = random.Random(7)
    texts = [unique_text(200_000, rng) for _ in range(110)]
    for t in texts[:10]:  # warm up: tokenizer loaded, allocator arenas grown
        count(gw.url, t)
    before = rss(gw.proc.pid)
    for t in texts[10:]:
        assert count(gw.url, t) > 10_000
    grown = rss(gw.proc.pid) - before
    # 100 texts of 200 KB: a cache keyed by text would keep 20 MB of them
    assert grown < 12 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"


def test_count_tokens_past_the_text_bound_is_a_413(start_gateway, monkeypatch):
    monkeypatch.setattr(tokens, "MAX_COUNT_CHARS", 1000)
    from any2api.api import endpoints

    monkeypatch.setattr(endpoints, "MAX_COUNT_CHARS", 1000)
    gw = start_gateway(CONFIG)
    r = request(
        "POST",
        gw.url + "/v1/messages/count_tokens",
        {"model": "claude-x", "messages": [{"role": "user", "content": "x" * 1001}]},
        HEADERS,
    )
    assert r.status == 413, r.body
    b = r.json()
    assert b["type"] == "error"
    assert b["error"]["type"] == "request_too_large"
    assert "1000 characters" in b["error"]["message"]
    assert count(gw.url, "x" * 900) > 0


def test_the_token_cache_keeps_digests_not_texts():
    text = "unique " * 200 + "for the digest test"
    tokens.count_texts([text], "claude")
    keys = list(tokens._cache._d)
    assert keys
    assert all(isinstance(k[1], bytes) and len(k[1]) == 16 for k in keys)
