"""Probe finding 6: an upstream error that repeats our upstream key (or anything shaped like a key) never
reaches the client, the log or the store (``last_error``)."""

from __future__ import annotations

import logging

import pytest

from any2api.upstream import map_upstream_error, redact, request_secrets
from tests.admin.harness import Admin, gateway_config
from tests.rawhttp import request
from tests.sim.script import Script, openai_error
from tests.sim.server import SimServer

UP_KEY = "sk-upstream-secret-0123456789abcdef"
OTHER = "AIzaSyA1234567890abcdefghijklmnopqrstuv"
CLIENT = "sk-config-client-key"


def echo(status: int) -> Script:
    return openai_error(
        status,
        f"Incorrect API key provided: {UP_KEY}. Header was 'Bearer {UP_KEY}'; also tried {OTHER} "
        "and Bearer abcdefghijklmnop.qrs",
        code="invalid_api_key",
    )


def assert_clean(text: str) -> None:
    assert UP_KEY not in text
    assert UP_KEY[:20] not in text
    assert OTHER not in text
    assert "abcdefghijklmnop" not in text


@pytest.mark.parametrize("status", [401, 400, 429, 500])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_echoing_our_key_is_redacted_everywhere(
    start_gateway, sim: SimServer, store_url, data_dir, caplog, status, stream
):
    gw = start_gateway(gateway_config(sim.url, store_url, upstream_keys=(UP_KEY,), client_keys=(CLIENT,)))
    admin = Admin(gw.url).login()
    sim.default = echo(status)
    caplog.set_level(logging.DEBUG)
    body = {"model": "sim-gpt", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    r = request("POST", gw.url + "/v1/chat/completions", body, {"Authorization": f"Bearer {CLIENT}"})
    assert r.status >= 400, r.body
    text = r.body.decode()
    assert "[redacted]" in text, text
    assert_clean(text)
    assert sim.requests  # it did reach the upstream, with the real key
    assert sim.last.headers["Authorization"] == f"Bearer {UP_KEY}"
    for a in admin.ok("GET", "/accounts")["accounts"]:
        assert_clean(str(a.get("last_error")))
    status_view = admin.call("GET", "/queue/status").body.decode()
    assert_clean(status_view)
    assert_clean(caplog.text)


def test_redact_configured_secrets_and_key_shapes():
    assert redact("key sk-abcdefghijklmnopqrst here") == "key [redacted] here"
    assert redact("x AIza" + "b" * 35 + " y") == "x [redacted] y"
    assert redact("Authorization: Bearer eyJhbGciOi.abc.def") == "Authorization: Bearer [redacted]"
    assert redact("GET https://h/v1?key=s3cr3tvalue&x=1") == "GET https://h/v1?key=[redacted]&x=1"
    assert redact("custom token zz-custom-secret-99", ["zz-custom-secret-99"]) == "custom token [redacted]"
    assert redact("no secrets here, not even sk-short") == "no secrets here, not even sk-short"
    secrets = request_secrets(
        {"x-api-key": "plainkey123", "Authorization": "Bearer tok-123456", "Accept": "application/json"},
        "https://h/v1/x?key=qkey-98765&alt=sse",
    )
    assert set(secrets) == {"plainkey123", "Bearer tok-123456", "tok-123456", "qkey-98765"}
    e = map_upstream_error(403, b'{"error":{"message":"key plainkey123 is blocked"}}', secrets=secrets)
    assert "plainkey123" not in e.message
    assert "[redacted]" in e.message
