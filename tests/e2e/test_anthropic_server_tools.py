"""Server tool blocks (web search, code execution, MCP) in an Anthropic client's history: they reach an
Anthropic upstream unchanged over the translating path, and an upstream of another wire format refuses them
with a 400 in Anthropic's shape that names the field -- before anything is sent upstream."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.rawhttp import request
from tests.sim import Script

from .test_anthropic_matrix import KEY, MODELS, make_gateway

AUTH = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}

HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": [{"type": "text", "text": "What's the weather in Paris today, and what is 1+1?"}]},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "I'll search for that."},
            {"type": "server_tool_use", "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "name": "web_search",
             "input": {"query": "Paris weather today"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "content": [
                {"type": "web_search_result", "url": "https://example.com/paris", "title": "Paris weather",
                 "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1", "page_age": "April 30, 2025"},
            ]},
            {"type": "text", "text": "It is sunny, 21 °C.", "citations": [
                {"type": "web_search_result_location", "url": "https://example.com/paris", "title": "Paris weather",
                 "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1", "cited_text": "Sunny, 21 °C"},
            ]},
            {"type": "server_tool_use", "id": "srvtoolu_02", "name": "code_execution",
             "input": {"code": "print(1+1)"}},
            {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_02",
             "content": {"type": "code_execution_result", "stdout": "2\n", "stderr": "", "return_code": 0}},
            {"type": "mcp_tool_use", "id": "mcptoolu_01", "name": "echo", "server_name": "example",
             "input": {"x": 1}},
            {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_01", "is_error": False,
             "content": [{"type": "text", "text": "1"}]},
            {"type": "text", "text": "1+1 is 2."},
        ],
    },
    {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
]  # fmt: skip


@pytest.fixture
def gw(start_gateway, sim, tmp_path):
    return make_gateway(start_gateway, sim, tmp_path)


@pytest.mark.parametrize("stream", [False, True])
def test_server_tool_history_reaches_an_anthropic_upstream_byte_equal_over_translation(gw, sim, stream):
    sim.enqueue(Script.text("Cloudy, 17 °C."))
    body = {"model": MODELS["antx"], "max_tokens": 200, "messages": HISTORY, "stream": stream}
    r = request("POST", gw.url + "/v1/messages", body, AUTH)
    assert r.status == 200, r.body
    assert "Cloudy" in r.body.decode()
    up = sim.last
    assert up.path == "/v1/messages"
    assert up.json["model"] == "sim-claude"
    assert up.json["messages"] == HISTORY
    assert orjson.dumps(HISTORY) in up.body  # the history, byte for byte, inside the translated body


@pytest.mark.parametrize("model", ["oai", "ds"])
def test_server_tool_history_to_an_openai_upstream_is_a_400_naming_the_field(gw, sim, model):
    body = {"model": MODELS[model], "max_tokens": 200, "messages": HISTORY}
    for stream in (False, True):
        r = request("POST", gw.url + "/v1/messages", {**body, "stream": stream}, AUTH)
        assert r.status == 400, r.body
        err = r.json()
        assert err["type"] == "error"
        assert err["error"]["type"] == "invalid_request_error"
        msg = err["error"]["message"]
        assert msg.startswith("messages[1].content: ")
        assert "web_search" in msg
        assert "Chat Completions" in msg
    assert sim.requests == []


def test_server_tool_history_passes_through_unchanged(gw, sim):
    sim.enqueue(Script.text("Cloudy."))
    body = {"model": MODELS["ant"], "max_tokens": 200, "messages": HISTORY}
    r = request("POST", gw.url + "/v1/messages", body, AUTH)
    assert r.status == 200
    assert sim.last.json == {**body, "model": "sim-claude"}
