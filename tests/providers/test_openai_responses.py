"""The Responses upstream without HTTP: request bodies built from hub requests of every origin, and the
recorded OpenAI and DeepSeek Responses streams read into hub events."""

from __future__ import annotations

import json

import orjson
import pytest

from any2api.config import parse_config
from any2api.config_types import ConfigError, ProviderConfig, Timeouts
from any2api.core.accumulator import accumulate
from any2api.core.events import ErrorEvent, Event
from any2api.core.parts import (
    ReasoningPart,
    ServerToolCallPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    UnsupportedContentError,
)
from any2api.core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from any2api.formats.anthropic_messages import parse_request as parse_anthropic
from any2api.formats.openai_chat import parse_request as parse_chat
from any2api.formats.openai_responses import parse_request as parse_responses
from any2api.providers.openai_responses import (
    OpenAIResponsesProvider,
    ResponsesParser,
    build_body,
    response_events,
)
from any2api.providers.registry import create_provider
from any2api.sse import iter_events
from any2api.upstream import Upstream
from tests.sim.fixtures import FIXTURES_DIR, chunks_to_events


def _parse_sse(name: str) -> list[Event]:
    p = ResponsesParser("m")
    out: list[Event] = []
    for ev in iter_events([(FIXTURES_DIR / name).read_bytes()]):
        if ev.data:
            out += p.feed(orjson.loads(ev.data))
    return out


def test_openai_stream_reasoning_and_call():
    events = _parse_sse("openai/responses-stream-reasoning-function-calls-usage.sse")
    resp = accumulate(events)
    assert [p.kind for p in resp.parts] == ["reasoning", "tool_call"]
    rs, call = resp.parts
    assert isinstance(rs, ReasoningPart)
    assert rs.provider_details["openai_responses"]["encrypted_content"].startswith("gAAAA")
    assert rs.provider_details["openai_responses"]["id"].startswith("rs_")
    assert isinstance(call, ToolCallPart)
    assert (call.id, call.name, call.arguments) == (
        "call_CWXgs68YprAjp6t0371hiPOI",
        "final_result",
        '{"result":6666}',
    )
    assert resp.finish_reason == "tool_calls"
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.reasoning_tokens) == (53, 469, 448)


def test_openai_text_stream():
    resp = accumulate(_parse_sse("openai/responses-stream-text.sse"))
    assert resp.text() == "The capital of France is Paris."
    assert resp.finish_reason == "stop"
    assert resp.parts[0].provider_details["openai_responses"]["id"].startswith("msg_")


def test_deepseek_reasoning_text_stream():
    resp = accumulate(_parse_sse("deepseek/responses-stream-reasoning-function-call.sse"))
    rs, call = resp.parts
    assert rs.text == "The user asks about temperature in Tokyo. I'll call the tool."
    assert call.name == "get_temperature"
    assert json.loads(call.arguments) == {"city": "Tokyo"}


def test_summary_chunks_and_the_error_stream():
    text = (
        FIXTURES_DIR / "openai/responses-stream-reasoning-summary-function-calls-multistep.vercel.chunks.txt"
    ).read_text()
    first = text.split('{"type":"response.created"')[1]
    p = ResponsesParser("m")
    events: list[Event] = []
    for ev in chunks_to_events('{"type":"response.created"' + first):
        events += p.feed(json.loads(ev.data))
    resp = accumulate(events)
    assert resp.parts[0].text.startswith("**Calculating step-by-step using calculator**")
    p = ResponsesParser("m")
    events = []
    for ev in chunks_to_events(
        (FIXTURES_DIR / "openai/responses-stream-error-insufficient-quota.vercel.chunks.txt").read_text()
    ):
        events += p.feed(json.loads(ev.data))
    err = next(e for e in events if isinstance(e, ErrorEvent)).error
    assert err.kind == "quota_exceeded"
    assert "quota" in err.message


def test_non_streamed_response():
    obj = json.loads((FIXTURES_DIR / "openai/responses-reasoning-function-call.vercel.json").read_text())
    resp = accumulate(response_events(obj, "m"))
    assert [p.kind for p in resp.parts] == ["reasoning", "text"]
    assert resp.parts[0].text.startswith("**Reporting final result**")
    assert resp.text().endswith("Final result: 570")
    assert resp.usage.reasoning_tokens == 128


def test_body_from_a_chat_client():
    req = parse_chat({"model": "x", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "hi"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "res"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}}, "max_tokens": 50, "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}},
        "stream": True})  # fmt: skip
    body = build_body(req, "gpt-x")
    assert body["input"] == [
        {"type": "message", "role": "system", "content": "sys"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
        {"type": "function_call_output", "call_id": "c1", "output": "res"},
    ]  # fmt: skip
    assert body["tools"] == [{"type": "function", "name": "f", "description": None,
                              "parameters": {"type": "object"}, "strict": False}]  # fmt: skip
    assert body["tool_choice"] == {"type": "function", "name": "f"}
    assert body["max_output_tokens"] == 50
    assert body["stream"] is True
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["text"] == {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}}
    assert body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]


def test_body_from_an_anthropic_client_with_tool_results_in_user_turns():
    req = parse_anthropic({"model": "x", "max_tokens": 10, "system": "sys", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                                          {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
                                     {"type": "text", "text": "and?"}]}]}, {})  # fmt: skip
    body = build_body(req, "gpt-x")
    types = [(it["type"], it.get("role")) for it in body["input"]]
    # unsigned-by-OpenAI reasoning is left out; the tool result precedes the user text
    assert types == [("message", "system"), ("message", "user"), ("function_call", None),
                     ("function_call_output", None), ("message", "user")]  # fmt: skip


def test_body_from_a_responses_client_keeps_its_fields():
    req = parse_responses({"model": "alias", "instructions": "be nice", "input": [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB-openai"},
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "P"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "done"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"}],
        "tools": [{"type": "custom", "name": "apply_patch"}, {"type": "web_search"}], "store": False,
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k", "text": {"verbosity": "low"}})  # fmt: skip
    body = build_body(req, "gpt-5")
    assert body["model"] == "gpt-5"
    assert body["instructions"] == "be nice"
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAB-openai"},
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "P"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "done"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    ]  # fmt: skip
    assert body["tools"] == [{"type": "custom", "name": "apply_patch"}, {"type": "web_search"}]
    assert body["store"] is False
    assert body["prompt_cache_key"] == "k"
    assert body["text"] == {"verbosity": "low"}
    assert not any(k.startswith("_") for k in body)


def test_namespaced_hub_tools_are_grouped_again():
    req = parse_responses({"model": "m", "input": "x", "tools": [
        {"type": "namespace", "name": "ns", "description": "d", "tools": [
            {"type": "function", "name": "a"}, {"type": "function", "name": "b"}]}]})  # fmt: skip
    req.origin = "openai_chat"  # as if another dialect had sent these hub tools
    body = build_body(req, "m")
    assert body["tools"][0]["type"] == "namespace"
    assert [t["name"] for t in body["tools"][0]["tools"]] == [
        "a",
        "b",
    ]


def test_server_tool_parts_of_other_wires_are_refused():
    req = ChatRequest(
        "m", [Message("assistant", [ServerToolCallPart("s1", "web_search", "anthropic_messages", {})])]
    )
    with pytest.raises(UnsupportedContentError) as e:  # the api answers it with a 400 (unsupported_content)
        build_body(req, "m")
    assert e.value.param == "messages[0].content[0]"
    assert "anthropic_messages" in str(e.value)


def test_hub_tool_choice_and_reasoning_budget():
    req = ChatRequest("m", [Message("user", [TextPart("x")])], tools=[ToolDef("f")],
                      tool_choice=ToolChoice("required", parallel=False),
                      reasoning=ReasoningConfig(enabled=True, budget_tokens=20000))  # fmt: skip
    body = build_body(req, "m")
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["reasoning"]["effort"] == "high"


def test_tool_result_error_flag_is_said_in_text():
    req = ChatRequest("m", [Message("assistant", [ToolCallPart("c", "f", "{}")]),
                            Message("tool", [ToolResultPart("c", "boom", is_error=True)])])  # fmt: skip
    assert build_body(req, "m")["input"][1]["output"] == "Error: boom"


# ------------------------------------------------------------------------------------- configuration

_BLOCK = """
providers:
  - name: up
    type: {type}
    base_url: http://127.0.0.1:9/v1
    api_keys: [k]
    models: [gpt-x]
{more}"""


def _provider_config(type_: str, more: str = "") -> ProviderConfig:
    return parse_config(_BLOCK.format(type=type_, more=more), "(test)").providers[0]


@pytest.mark.parametrize(
    ("type_", "more"),
    [
        ("openai", "    api: responses\n"),
        ("openai", "    options: {api: responses}\n"),
        ("openai_responses", ""),
    ],
)
def test_type_openai_with_api_responses_selects_the_responses_upstream(type_, more):
    pc = _provider_config(type_, more)
    assert pc.type == "openai_responses"
    assert "api" not in pc.options
    provider = create_provider(pc, Upstream(Timeouts()))
    assert isinstance(provider, OpenAIResponsesProvider)
    assert provider.dialect == "openai_responses"
    assert provider.url == "http://127.0.0.1:9/v1/responses"


def test_api_chat_is_the_chat_completions_upstream_and_unknown_apis_are_refused():
    assert _provider_config("openai", "    api: chat\n").type == "openai"
    with pytest.raises(ConfigError) as e:
        _provider_config("openai", "    api: realtime\n")
    assert "providers[0].api (line 8)" in str(e.value)
    assert "expected one of: chat, responses" in str(e.value)
    with pytest.raises(ConfigError) as e:
        _provider_config("deepseek", "    api: responses\n")
    assert "provider type 'deepseek' has no api 'responses'" in str(e.value)


def test_hosted_tools_is_a_provider_key():
    assert _provider_config("anthropic", "    hosted_tools: drop\n").hosted_tools == "drop"
    assert _provider_config("openai").hosted_tools == "error"
    with pytest.raises(ConfigError) as e:
        _provider_config("openai", "    hosted_tools: run\n")
    assert "providers[0].hosted_tools (line 8): must be 'error' or 'drop'" in str(e.value)
