"""Probe finding 9: hostile input that used to give a 500 is a 400 in the endpoint's dialect, naming the
field, and nothing is sent upstream or stored."""

from __future__ import annotations

import pytest

from tests.admin.harness import Admin, gateway_config
from tests.rawhttp import request
from tests.sim.script import Script
from tests.sim.server import SimServer

KEY = "sk-test-client"
AUTH = {"Authorization": f"Bearer {KEY}"}
CONFIG = """
server: {{host: 127.0.0.1, port: 0}}
auth:
  keys: [{key}]
providers:
  - name: fast
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-up-1]
    models: [m1]
  - name: slow
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-up-1]
    models: [m2]
    passthrough: false
  - name: claude
    type: anthropic
    base_url: {sim}
    api_keys: [sk-ant-up]
    models: [c1]
    passthrough: false
"""


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("model", ["m1", "m2"])  # pass-through and translating paths
@pytest.mark.parametrize("where", ["messages", "tools"])
def test_json_nested_deeper_than_the_encoder_writes_is_a_400_openai(
    start_gateway, sim: SimServer, model, where
):
    gw = start_gateway(CONFIG.format(key=KEY, sim=sim.url))
    sim.default = Script.text("hi")
    if where == "messages":
        body = b'{"model":"%s","messages":[{"role":"user","content":"x","metadata":%s}]}' % (
            model.encode(),
            deep(300),
        )
    else:
        body = b'{"model":"%s","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function",' % (
            model.encode()
        ) + b'"function":{"name":"f","parameters":{"type":"object","x":%s}}}]}' % deep(300)
    r = request("POST", gw.url + "/v1/chat/completions", body, {**AUTH, "content-type": "application/json"})
    assert r.status == 400, r.body
    err = r.json()["error"]
    assert err["code"] == "invalid_json"
    assert "nested too deeply" in err["message"]
    assert sim.chat_requests == []
    # just under the bound still works end to end (the encoder can write it)
    ok = b'{"model":"%s","messages":[{"role":"user","content":"x"}],"metadata":{"k":%s}}' % (
        model.encode(),
        deep(200),
    )
    r = request("POST", gw.url + "/v1/chat/completions", ok, {**AUTH, "content-type": "application/json"})
    assert r.status != 500, r.body


def test_json_nested_too_deep_is_a_400_anthropic(start_gateway, sim: SimServer):
    gw = start_gateway(CONFIG.format(key=KEY, sim=sim.url))
    body = b'{"model":"c1","max_tokens":5,"messages":[{"role":"user","content":"x"}],"metadata":%s}' % deep(
        400
    )
    r = request(
        "POST",
        gw.url + "/v1/messages",
        body,
        {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    assert r.status == 400, r.body
    b = r.json()
    assert b["type"] == "error"
    assert b["error"]["type"] == "invalid_request_error"
    assert "nested too deeply" in b["error"]["message"]
    assert sim.chat_requests == []


@pytest.fixture
def admin_up(start_gateway, sim: SimServer, store_url, data_dir):
    gw = start_gateway(gateway_config(sim.url, store_url))
    return gw, Admin(gw.url).login()


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "9e999", "1e300", "-1"])
@pytest.mark.parametrize("field", ["since", "until"])
def test_usage_range_that_is_not_a_time_is_a_400(admin_up, value, field):
    _gw, admin = admin_up
    r = admin.call("GET", f"/usage?{field}={value}")
    assert r.status == 400, r.body
    err = r.json()["error"]
    assert err["param"] == field
    assert field in err["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"name":"x","expires_at":1e300}', "expires_at"),
        (b'{"name":"x","expires_at":9e999}', None),  # the JSON decoder refuses it (invalid_json)
        (
            b'{"name":"x","expires_at":"9999-12-31T23:59:59+00:00","token_budget":18446744073709551615}',
            "token_budget",
        ),
        (b'{"name":"x","expires_in_days":1e300}', "expires_in_days"),
        (b'{"name":"x","rpm":9223372036854775808}', "rpm"),
        (b'{"name":"x","tpm":1e300}', "tpm"),
    ],
)
def test_key_numbers_that_cannot_be_read_back_are_a_400_and_nothing_is_stored(admin_up, body, param):
    gw, admin = admin_up
    before = admin.ok("GET", "/keys")
    r = request(
        "POST",
        gw.url + "/admin/keys",
        body,
        {"Authorization": f"Bearer {admin.token}", "content-type": "application/json"},
    )
    assert r.status == 400, r.body
    err = r.json()["error"]
    assert err["param"] == param, err
    assert admin.ok("GET", "/keys") == before
    assert admin.call("GET", "/config").status == 200


def test_account_numbers_out_of_range_are_a_400(admin_up):
    _gw, admin = admin_up
    before = admin.ok("GET", "/accounts")
    for field, value in (("weight", 2**63), ("max_inflight", 2**64 - 1)):
        r = admin.call("POST", "/accounts", {"provider": "sim", "api_key": "sk-x", field: value})
        assert r.status == 400, r.body
        assert r.json()["error"]["param"] == field
    assert admin.ok("GET", "/accounts") == before


HTTP_CONFIG = """
server: {{host: 127.0.0.1, port: 0}}
auth:
  keys: [{key}]
providers:
  - name: two
    type: http
    models: [h1]
    api_keys: [sk-up-http]
    headers: {{X-User: "{{{{ metadata.user_id }}}}", Authorization: "Bearer {{{{ account.api_key }}}}"}}
    request:
      url: "{sim}/v1/chat/completions"
      body: {{model: "{{{{ model }}}}", messages: "{{{{ messages }}}}"}}
    response: {{format: json, text: "choices[0].message.content"}}
"""


@pytest.mark.parametrize("bad", ["a\u0000b", "a\rb", "a\x7fb"])
def test_control_character_in_a_templated_header_is_a_400(start_gateway, sim: SimServer, bad):
    gw = start_gateway(HTTP_CONFIG.format(key=KEY, sim=sim.url))
    sim.default = Script.text("hi")
    body = {"model": "h1", "messages": [{"role": "user", "content": "x"}], "metadata": {"user_id": bad}}
    r = request("POST", gw.url + "/v1/chat/completions", body, AUTH)
    assert r.status == 400, r.body
    err = r.json()["error"]
    assert err["code"] == "invalid_header"
    assert "X-User" in err["message"]
    assert sim.chat_requests == []
    body["metadata"] = {"user_id": "fine"}
    r = request("POST", gw.url + "/v1/chat/completions", body, AUTH)
    assert r.status == 200, r.body
    assert sim.last.headers["X-User"] == "fine"


def test_the_sqlite_database_is_created_readable_by_its_owner_only(tmp_path, monkeypatch):
    import asyncio
    import os
    import stat

    from any2api.store.store import Store

    monkeypatch.setenv("ANY2API_DATA_DIR", str(tmp_path))
    old = os.umask(0o022)
    try:

        async def open_store() -> None:
            store = await Store.open(None)
            await store.close()

        asyncio.run(open_store())
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "any2api.db").stat().st_mode)
    assert mode == 0o600, oct(mode)
