"""A toy dialect (tests/formats/toy_dialect.py), registered at run time through the public registry and served
by the real app on loopback: chat through the demo provider (stream and not), its own key header and query
key, a ``{model}:{action}`` route, its own model list (also on a path OpenAI's dialect shares, picked by a
header), its own errors (also for unknown paths under its namespace and in its stream framing), and the
state hooks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from any2api.core.errors import GatewayError
from any2api.demo import DEMO_YAML
from any2api.formats import registry
from tests.rawhttp import request

from .toy_dialect import TOY

KEY = "sk-any2api-demo"


@pytest.fixture
def toy() -> Iterator[None]:
    registry.register(TOY)  # the one registration line
    yield
    registry.unregister(TOY.name)
    TOY.replies.clear()


@pytest.fixture
def gw(toy, start_gateway, monkeypatch):
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    return start_gateway(DEMO_YAML)


def test_toy_chat_answers_through_the_demo_provider(gw):
    r = request("POST", gw.url + "/toy/v1/models/gpt-4o:say", {"prompt": "hello toy"}, {"x-toy-key": KEY})
    assert r.status == 200, r.body
    body = r.json()
    assert body["reply"] == "Hello from the any2api demo model demo-chat. You said: hello toy"
    assert body["finish"] == "stop"
    assert body["tokens"]["out"] > 0
    assert body["id"]


def test_toy_stream_is_a_json_array_in_its_own_framing(gw):
    r = request("POST", gw.url + f"/toy/v1/models/gpt-4o:streamSay?key={KEY}", {"prompt": "hi", "limit": 3})
    assert r.status == 200, r.body
    assert r.headers["content-type"] == "application/json"
    items = json.loads(r.body)  # the whole stream is one JSON array
    assert items[0]["id"].startswith("chatcmpl-demo-")
    assert "".join(i.get("delta", "") for i in items) == "Hello from the "
    assert items[-1] == {"finish": "length", "tokens": {"in": items[-1]["tokens"]["in"], "out": 3}}


def test_toy_reads_its_own_credentials_and_renders_its_own_errors(gw):
    url = gw.url + "/toy/v1/models/gpt-4o:say"
    r = request("POST", url, {"prompt": "x"}, {"Authorization": f"Bearer {KEY}"})  # not the toy's key header
    assert r.status == 401
    assert r.json()["toy_error"]["code"] == "missing_api_key"
    r = request("POST", url, {"prompt": 5}, {"x-toy-key": KEY})
    assert r.status == 400
    assert r.json() == {
        "toy_error": {"code": "invalid_prompt", "message": "'prompt' must be a string.", "field": "prompt"}
    }
    r = request("POST", gw.url + "/toy/v1/models/nope:say", {"prompt": "x"}, {"x-toy-key": KEY})
    assert r.status == 404
    assert r.json()["toy_error"]["code"] == "model_not_found"
    r = request("POST", gw.url + "/toy/v1/models/gpt-4o:sing", {"prompt": "x"}, {"x-toy-key": KEY})
    assert r.status == 404
    assert r.json()["toy_error"]["code"] == "unknown_action"
    # unknown paths and wrong methods under the toy's namespace answer in the toy's shape
    r = request("GET", gw.url + "/toy/v1/models/gpt-4o:say", None, {"x-toy-key": KEY})
    assert r.status in (404, 405)
    assert "toy_error" in r.json()
    r = request("POST", gw.url + "/toy/v2/nothing", {"prompt": "x"}, {"x-toy-key": KEY})
    assert r.status == 404
    assert r.json()["toy_error"]["code"] == "unknown_url"
    r = request("DELETE", gw.url + "/toy/v1/models", None, {"x-toy-key": KEY})
    assert r.status == 405
    assert r.json()["toy_error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_toy_stream_error_comes_in_its_framing(gw):
    r = request(
        "POST", gw.url + "/toy/v1/models/gpt-4o:streamSay", {"prompt": "x", "limit": -1}, {"x-toy-key": KEY}
    )
    assert r.status == 400
    assert r.json()["toy_error"]["field"] == "limit"
    renderer = TOY.stream_renderer(None)  # type: ignore[arg-type]
    out = renderer.start() + renderer.error(GatewayError("upstream", "broke", code="upstream_disconnected"))
    assert json.loads(out) == [
        {"toy_error": {"code": "upstream_disconnected", "message": "broke", "field": None}}
    ]
    assert renderer.heartbeat() == b""


def test_toy_model_list_and_one_model_and_the_shared_path(gw):
    h = {"x-toy-key": KEY}
    ids = request("GET", gw.url + "/toy/v1/models", None, h).json()["toy_models"]
    assert "gpt-4o" in ids
    assert "demo/demo-chat" in ids
    assert request("GET", gw.url + "/toy/v1/models/gpt-4o", None, h).json() == {
        "toy_model": "gpt-4o", "served_by": "demo"
    }  # fmt: skip
    # GET /v1/models: the toy's list when the request has x-toy, OpenAI's without, Anthropic's with its header
    assert request("GET", gw.url + "/v1/models", None, {**h, "x-toy": "1"}).json()["toy_models"] == ids
    openai = request("GET", gw.url + "/v1/models", None, {"Authorization": f"Bearer {KEY}"}).json()
    assert openai["object"] == "list"
    assert "has_more" not in openai
    anthropic = request(
        "GET", gw.url + "/v1/models", None, {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    )
    assert anthropic.json()["has_more"] is False


def test_toy_state_hooks_store_and_reuse_answers(gw):
    h = {"x-toy-key": KEY}
    first = request("POST", gw.url + "/toy/v1/models/gpt-4o:say", {"prompt": "one"}, h).json()
    stored = request("GET", gw.url + f"/toy/v1/replies/{first['id']}", None, h)
    assert stored.status == 200
    assert stored.json() == {"prompt": "one", "reply": first["reply"]}
    streamed = request(
        "POST", gw.url + "/toy/v1/models/gpt-4o:streamSay", {"prompt": "two", "again": first["id"]}, h
    )
    items = json.loads(streamed.body)
    assert "".join(i.get("delta", "") for i in items).endswith("You said: one / two")
    again = request("GET", gw.url + f"/toy/v1/replies/{items[0]['id']}", None, h).json()
    assert again["prompt"] == "one / two"
    assert (
        request("GET", gw.url + "/toy/v1/replies/nope", None, h).json()["toy_error"]["code"]
        == "unknown_reply"
    )
    r = request("POST", gw.url + "/toy/v1/models/gpt-4o:say", {"prompt": "x", "again": "nope"}, h)
    assert r.status == 400
    assert r.json()["toy_error"]["field"] == "again"


def test_other_dialects_are_unchanged_while_the_toy_is_registered(gw):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    r = request("POST", gw.url + "/v1/chat/completions", body, {"Authorization": f"Bearer {KEY}"})
    assert r.status == 200
    assert r.json()["object"] == "chat.completion"
