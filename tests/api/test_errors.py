"""Bad input gets the right status and an error body in the endpoint's own dialect, naming the field."""

from __future__ import annotations

import pytest

from any2api.demo import DEMO_YAML
from tests.rawhttp import request

KEY = "sk-any2api-demo"
AUTH = {"Authorization": f"Bearer {KEY}"}
SMALL = DEMO_YAML.replace(
    "server: {host: 127.0.0.1, port: 8000}", "server: {host: 127.0.0.1, port: 8000, max_body_bytes: 2000}"
)


@pytest.fixture
def gw(start_gateway, monkeypatch):
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    return start_gateway(SMALL)


def _openai_err(r, status, param=None, code=None):
    assert r.status == status, r.body
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    if param is not None:
        assert err["param"] == param
        assert param.split(".")[0].split("[")[0] in err["message"]
    if code is not None:
        assert err["code"] == code
    return err


CASES = [
    (b"{not json", 400, None, "invalid_json"),
    (b"", 400, None, "invalid_json"),
    (b"[1,2]", 400, None, "invalid_body"),
    (b'{"messages":[{"role":"user","content":"x"}]}', 400, "model", "missing_required_parameter"),
    (b'{"model":5,"messages":[{"role":"user","content":"x"}]}', 400, "model", "invalid_type"),
    (b'{"model":"gpt-4o"}', 400, "messages", "missing_required_parameter"),
    (b'{"model":"gpt-4o","messages":"hi"}', 400, "messages", "invalid_type"),
    (
        b'{"model":"gpt-4o","messages":[{"content":"x"}]}',
        400,
        "messages[0].role",
        "missing_required_parameter",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"wizard","content":"x"}]}',
        400,
        "messages[0].role",
        "invalid_value",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"video"}]}]}',
        400,
        "messages[0].content[0].type",
        "invalid_value",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
        400,
        "temperature",
        "invalid_type",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":"yes"}',
        400,
        "stream",
        "invalid_type",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}',
        400,
        "tools[0].function",
        "invalid_type",
    ),
    (
        b'{"model":"gpt-4o","messages":[{"role":"tool","content":"x"}]}',
        400,
        "messages[0].tool_call_id",
        "invalid_type",
    ),
    (b'{"model":"nope","messages":[{"role":"user","content":"x"}]}', 404, "model", "model_not_found"),
]


@pytest.mark.parametrize(("body", "status", "param", "code"), CASES)
def test_openai_endpoint_bad_input(gw, body, status, param, code):
    _openai_err(request("POST", gw.url + "/v1/chat/completions", body, AUTH), status, param, code)


def test_missing_and_bad_key(gw):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    err = _openai_err(request("POST", gw.url + "/v1/chat/completions", body), 401, code="missing_api_key")
    assert "Bearer" in err["message"]
    err = _openai_err(request("POST", gw.url + "/v1/chat/completions", body, {"Authorization": "Bearer sk-leak-me"}),
                      401, code="invalid_api_key")  # fmt: skip
    assert "sk-leak-me" not in str(err)


def test_oversized_body_413(gw):
    big = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 5000}]}
    _openai_err(request("POST", gw.url + "/v1/chat/completions", big, AUTH), 413, code="payload_too_large")
    r = request("POST", gw.url + "/chat", big, AUTH)
    assert r.status == 413
    assert r.json()["error"] == "payload_too_large"


def test_wrong_method_405_and_unknown_path_404(gw):
    r = request("GET", gw.url + "/v1/chat/completions", None, AUTH)
    err = _openai_err(r, 405, code="method_not_allowed")
    assert "GET" in err["message"]
    assert "POST" in r.headers.get("allow", "")
    _openai_err(request("POST", gw.url + "/v1/nothing-here", b"{}", AUTH), 404, code="unknown_url")


def test_chat_endpoint_uses_proxy_worker_error_shape(gw):
    r = request("POST", gw.url + "/chat", b"{oops", AUTH)
    assert r.status == 400
    body = r.json()
    assert set(body) == {"error", "details", "timestamp"}
    assert body["error"] == "invalid_request"
    assert "JSON" in body["details"]
    assert body["timestamp"].endswith("Z")
    r = request("POST", gw.url + "/chat", {"model": "gpt-4o", "messages": []})
    assert r.status == 401
    assert r.json()["error"] == "unauthorized"
    r = request("POST", gw.url + "/chat", {"model": "gpt-4o"}, AUTH)
    assert r.status == 400
    assert "messages" in r.json()["details"]
    r = request(
        "POST", gw.url + "/chat", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, AUTH
    )
    assert r.status == 404
    assert r.json()["error"] == "not_found"


def test_chat_endpoint_answers_like_chat_completions(gw):
    body = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "hi"}]}
    r = request("POST", gw.url + "/chat", body, AUTH)
    assert r.status == 200
    data = r.json()
    assert data["object"] == "chat.completion"
    assert "You said: hi" in data["choices"][0]["message"]["content"]
    r = request("POST", gw.url + "/chat", {**body, "stream": True}, {**AUTH, "Accept": "text/event-stream"})
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.sse_data()[-1] == "[DONE]"


def test_health_endpoints(gw):
    r = request("GET", gw.url + "/")
    body = r.json()
    assert r.status == 200
    assert body["status"] == "ok"
    assert body["service"] == "any2api"
    assert body["timestamp"]
    assert request("GET", gw.url + "/healthz").json() == {"status": "ok"}
    assert request("GET", gw.url + "/readyz").json()["status"] == "ready"


def test_stream_headers(gw):
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    r = request("POST", gw.url + "/v1/chat/completions", body, AUTH)
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
