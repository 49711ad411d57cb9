"""Probe findings 4 and 5: ``http`` provider templates read only the environment variables they name (a
runtime provider none unless the operator allows them), and client values in a URL cannot leave their
path segment."""

from __future__ import annotations

import pytest

from any2api.config import ConfigError, parse_config, parse_provider
from any2api.providers.base import Account
from tests.admin.harness import Admin, gateway_config
from tests.providers.http_fixtures import chat, make_provider, provider_block
from tests.rawhttp import request
from tests.sim.server import SimServer

ACCOUNT = Account(id="p#0", provider="p", api_key="sk-up")


def block(url: str = "https://up.example/v1/{{ model }}/chat", body: str = '{q: "{{ prompt }}"}') -> dict:
    return {
        "name": "p",
        "type": "http",
        "models": ["m"],
        "request": {"url": url, "body": body if isinstance(body, dict) else {"q": "{{ prompt }}"}},
        "response": {"format": "json", "text": "t"},
    }


# -- finding 4: environment ---------------------------------------------------------------------------


def test_config_file_spec_reads_only_the_variables_it_names(monkeypatch):
    monkeypatch.setenv("ANY2API_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("UP_TOKEN", "tok-1")
    prov = make_provider(
        provider_block(
            "name: p\ntype: http\nmodels: [m]\n"
            'request: {url: "https://up.example/x", body: {t: "{{ env.UP_TOKEN }}", q: "{{ prompt }}"}}\n'
            "response: {format: json, text: t}\n"
        )
    )
    assert prov.spec.env == {"UP_TOKEN": "tok-1"}
    prep = prov.prepare(chat(("user", "hi")), "m", ACCOUNT)
    assert b"tok-1" in prep.body
    assert b"do-not-leak" not in prep.body


@pytest.mark.parametrize("expr", ["{{ env }}", "{{ env | json }}", "{{ env[0] }}"])
def test_the_whole_environment_cannot_be_read(expr):
    text = provider_block(
        f"name: p\ntype: http\nmodels: [m]\nrequest: {{url: \"https://up.example/x\", body: {{e: '{expr}'}}}}\n"
        "response: {format: json, text: t}\n"
    )
    with pytest.raises(ConfigError) as e:
        parse_config(text)
    assert "env must name one variable" in str(e.value)
    assert "request.body.e" in str(e.value)


def test_runtime_spec_reads_no_environment_unless_allowed(monkeypatch):
    monkeypatch.setenv("ANY2API_SECRET_KEY", "do-not-leak")
    b = block()
    b["request"]["body"] = {"s": "{{ env.ANY2API_SECRET_KEY }}"}
    with pytest.raises(ConfigError) as e:
        parse_provider(b, "provider")
    assert e.value.path == "provider.request.body"
    assert "ANY2API_SECRET_KEY" in str(e.value)
    assert "admin.runtime_env" in str(e.value)
    b["request"]["body"] = {"s": "{{ env.UP_TOKEN }}"}
    monkeypatch.setenv("UP_TOKEN", "tok-2")
    pc = parse_provider(b, "provider", runtime_env=["UP_TOKEN"])
    assert pc.env_allowed == frozenset({"UP_TOKEN"})


def test_runtime_provider_over_the_admin_api_cannot_read_the_environment(
    start_gateway, sim: SimServer, store_url, data_dir, monkeypatch
):
    monkeypatch.setenv("ANY2API_SECRET_KEY", "do-not-leak")
    gw = start_gateway(gateway_config(sim.url, store_url))
    admin = Admin(gw.url).login()
    b = block(url=sim.url + "/v1/chat/completions")
    b["request"]["body"] = {
        "model": "{{ model }}",
        "messages": "{{ messages }}",
        "s": "{{ env.ANY2API_SECRET_KEY }}",
    }
    b["name"] = "rt"
    r = admin.call("POST", "/providers", b)
    assert r.status == 400, r.body
    err = r.json()["error"]
    assert err["param"] == "provider.request.body"
    assert "ANY2API_SECRET_KEY" in err["message"]
    assert all(p["name"] != "rt" for p in admin.ok("GET", "/providers")["providers"])
    assert sim.requests == []


# -- finding 5: URL path traversal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("x/../../other?", "/v1/x%2F..%2F..%2Fother%3F/chat"),
        ("a b#frag", "/v1/a%20b%23frag/chat"),
        ("plain-model.1", "/v1/plain-model.1/chat"),
    ],
)
def test_client_values_in_a_url_are_one_encoded_path_segment(model, path):
    prov = make_provider(
        provider_block(
            "name: p\ntype: http\nmodels: [m]\n"
            'request: {url: "https://up.example/v1/{{ model }}/chat", body: {q: "{{ prompt }}"}}\n'
            "response: {format: json, text: t}\n"
        )
    )
    prep = prov.prepare(chat(("user", "hi")), model, ACCOUNT)
    assert prep.url == "https://up.example" + path


def test_metadata_and_extra_in_a_url_are_encoded_operator_values_are_not(monkeypatch):
    monkeypatch.setenv("UP_HOST", "https://up.example/base")
    prov = make_provider(
        provider_block(
            "name: p\ntype: http\nmodels: [m]\nbase_url: https://up.example/api\n"
            'request: {url: "{{ env.UP_HOST }}/{{ metadata.user_id }}/{{ metadata.sid | urlencode }}?k=1",'
            ' body: {q: "{{ prompt }}"}}\n'
            "response: {format: json, text: t}\n"
        )
    )
    req = chat(("user", "hi"), metadata={"user_id": "../admin", "sid": "a/b"})
    prep = prov.prepare(req, "m", ACCOUNT)
    assert prep.url == "https://up.example/base/..%2Fadmin/a%2Fb?k=1"


def test_traversal_over_the_gateway_stays_in_its_segment(start_gateway, sim: SimServer):
    cfg = f"""
server: {{host: 127.0.0.1, port: 0}}
auth: {{keys: [sk-test-client]}}
providers:
  - name: two
    type: http
    request:
      url: "{sim.url}/v1/{{{{ model }}}}/chat/completions"
      body: {{model: "{{{{ model }}}}", messages: "{{{{ messages }}}}"}}
    response: {{format: json, text: "choices[0].message.content"}}
"""
    gw = start_gateway(cfg)
    body = {"model": "two/x/../../other?", "messages": [{"role": "user", "content": "x"}]}
    r = request("POST", gw.url + "/v1/chat/completions", body, {"Authorization": "Bearer sk-test-client"})
    assert r.status == 200, r.body
    paths = [rec.path for rec in sim.requests]
    # the simulator sees the path decoded: the whole model is still inside the one segment (unencoded, the
    # "?" would have started a query and the client would have resolved the dots to "/other")
    assert paths == ["/v1/x/../../other?/chat/completions"]
    assert sim.last.query == {}
