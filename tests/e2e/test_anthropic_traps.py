"""Regression tests for the known traps of Anthropic <-> OpenAI translation that peer gateways fall into,
each end to end through the real gateway (issue 3)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from any2api.core.seal import default_sealer
from tests.rawhttp import request
from tests.sim import Reasoning, Script, Text, ToolCall, Usage, fold, html_error
from tests.sim.fold import anthropic_events, fold_openai_chat

from .test_anthropic_matrix import (
    ANTHROPIC_UPSTREAMS,
    KEY,
    MODELS,
    ant_client,
    ant_from_stream,
    make_gateway,
    oai_client,
    oai_from_stream,
)

AUTH = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
def gw(start_gateway, sim, tmp_path):
    return make_gateway(start_gateway, sim, tmp_path)


def openai_chunks(
    *deltas: dict[str, Any], finish: str = "stop", usage: dict[str, int] | None = None
) -> list[bytes]:
    """An OpenAI Chat Completions stream, byte for byte, from the given deltas."""
    base = {
        "id": "chatcmpl-raw",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "deepseek-reasoner",
    }
    out = [b"data: " + json.dumps({**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}).encode()
           + b"\n\n" for d in deltas]  # fmt: skip
    last: dict[str, Any] = {
        **base,
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": finish}],
    }
    if usage:
        last["usage"] = usage
    out.append(b"data: " + json.dumps(last).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return out


def test_tool_input_survives_text_to_tool_switch_and_text_after_it(gw, sim):
    """Text, then a tool call whose input streams in fragments, then more text while the call is open."""
    args = '{"path": "/tmp/x", "lines": [1, 2]}'
    sim.enqueue(Script.raw_body(*openai_chunks(
        {"role": "assistant", "content": "Let me look"},
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "read", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": args[:9]}}]},
        {"content": " (reading)"},
        {"tool_calls": [{"index": 0, "function": {"arguments": args[9:]}}]},
        finish="tool_calls", usage={"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
    )))  # fmt: skip
    out = ant_from_stream(
        ant_client(gw).messages.create(
            model=MODELS["oai"], max_tokens=100, stream=True, messages=[{"role": "user", "content": "x"}]
        )
    )
    assert out["tools"] == [{"id": "call_1", "name": "read", "args": args, "input": json.loads(args)}]
    assert out["text"] == "Let me look (reading)"
    assert out["stop"] == "tool_use"


def test_text_then_tool_use_without_args_from_anthropic_reaches_openai_clients(gw, sim):
    sim.enqueue(Script.replay("anthropic/messages-stream-text-then-tool-use-no-args.vercel.chunks.txt"))
    out = oai_from_stream(oai_client(gw).chat.completions.create(
        model=MODELS["antx"], messages=[{"role": "user", "content": "x"}], stream=True,
        stream_options={"include_usage": True}))  # fmt: skip
    assert out["text"] == "I'll update the issue list for you."
    assert [(t["id"], t["name"], t["args"]) for t in out["tools"]] == [
        ("toolu_01QE1WLsSVp5hy5Q3GmGTmjP", "updateIssueList", "{}")
    ]
    assert out["stop"] == "tool_calls"
    assert out["usage"] == (565, 48)


def test_parallel_calls_without_arguments_are_not_empty_objects(gw, sim):
    """Anthropic -> OpenAI: two argument-less parallel calls stay two calls, each with "{}"."""
    sim.enqueue(Script.replay("anthropic/messages-stream-parallel-tool-use.sse"))
    r = request("POST", gw.url + "/v1/chat/completions", {"model": MODELS["antx"], "stream": True,
                "messages": [{"role": "user", "content": "x"}]}, {"Authorization": f"Bearer {KEY}"})  # fmt: skip
    chunks = fold.openai_chunks(r.body)
    for c in chunks:
        for ch in c.get("choices", []):
            for tc in ch["delta"].get("tool_calls", []):
                assert tc.get("id") or tc["function"].get("arguments"), f"empty tool-call object sent: {tc}"
    calls = fold_openai_chat(chunks, strict=True).tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("toolu_01LtHJmixrs9NcWQkK8hu8hj", "pelican_name_generator", "{}"),
        ("toolu_01N8a4jWyf116qKTMqKKmjyt", "pelican_name_generator", "{}"),
    ]


def test_openai_parallel_calls_without_arguments_become_two_tool_use_blocks(gw, sim):
    sim.enqueue(Script.replay("openai/chat-stream-parallel-tool-calls-no-args.sse"))
    out = ant_from_stream(
        ant_client(gw).messages.create(
            model=MODELS["oai"], max_tokens=100, stream=True, messages=[{"role": "user", "content": "x"}]
        )
    )
    assert [(t["name"], t["args"]) for t in out["tools"]] == [
        ("get_country", "{}"),
        ("get_product_name", "{}"),
    ]
    assert out["blocks"] == ["tool_use", "tool_use"]
    assert out["stop"] == "tool_use"


@pytest.mark.parametrize("provider", ["oai", "ds", "antx"])
def test_message_start_usage_is_not_all_zeros(gw, sim, provider):
    sim.enqueue(Script([Text("fine", split=2)], usage=Usage(123, 4)))
    r = request("POST", gw.url + "/v1/messages", {"model": MODELS[provider], "max_tokens": 50, "stream": True,
                "messages": [{"role": "user", "content": "How are you doing on this fine day, friend?"}]}, AUTH)  # fmt: skip
    ev = anthropic_events(r.body)
    start = ev[0][1]["message"]["usage"]
    assert ev[0][0] == "message_start"
    assert start["input_tokens"] > 0
    if provider in ANTHROPIC_UPSTREAMS:
        assert start["input_tokens"] == 123  # the upstream's own figure when it gives one at the start
    delta = next(o for n, o in ev if n == "message_delta")
    assert delta["usage"]["input_tokens"] == 123
    assert delta["usage"]["output_tokens"] == 4


def _reasoning_only_stream() -> Script:
    # DeepSeek's shape: an empty content in the first chunk, reasoning deltas with content null, then the
    # length cut before any visible text.
    return Script.raw_body(*openai_chunks(
        {"role": "assistant", "content": "", "reasoning_content": None},
        {"content": None, "reasoning_content": "Thinking about "},
        {"content": None, "reasoning_content": "the question..."},
        finish="length", usage={"prompt_tokens": 9, "completion_tokens": 30, "total_tokens": 39},
    ))  # fmt: skip


def test_thinking_without_visible_text_is_not_an_empty_text_block(gw, sim):
    sim.enqueue(_reasoning_only_stream())
    r = request("POST", gw.url + "/v1/messages", {"model": "ds/deepseek-reasoner", "max_tokens": 30, "stream": True,
                "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    ev = anthropic_events(r.body)
    starts = [o["content_block"] for n, o in ev if n == "content_block_start"]
    assert starts == [{"type": "thinking", "thinking": "", "signature": ""}]  # no text block
    assert not any(o["delta"]["type"] == "text_delta" for n, o in ev if n == "content_block_delta")
    [sig] = [
        o["delta"]["signature"]
        for n, o in ev
        if n == "content_block_delta" and o["delta"]["type"] == "signature_delta"
    ]
    assert default_sealer().unseal("ds", sig) == {"t": "Thinking about the question..."}, (
        "the gateway's seal only"
    )
    assert next(o for n, o in ev if n == "message_delta")["delta"]["stop_reason"] == "max_tokens"
    sim.enqueue(Script([Reasoning("Thinking about the question...")], finish="length"))
    body = request("POST", gw.url + "/v1/messages", {"model": "ds/deepseek-reasoner", "max_tokens": 30,
                   "messages": [{"role": "user", "content": "x"}]}, AUTH).json()  # fmt: skip
    sig = body["content"][0].pop("signature")
    assert default_sealer().unseal("ds", sig) == {"t": "Thinking about the question..."}
    assert body["content"] == [{"type": "thinking", "thinking": "Thinking about the question..."}]
    assert body["stop_reason"] == "max_tokens"


def test_the_only_signature_issued_is_the_gateways_seal_for_an_sdk_client(gw, sim):
    sim.enqueue(Script([Reasoning("plain reasoning"), Text("answer")]))
    m = ant_client(gw).messages.create(model="ds/deepseek-reasoner", max_tokens=50,
                                       messages=[{"role": "user", "content": "x"}])  # fmt: skip
    assert m.content[0].type == "thinking"
    assert default_sealer().unseal("ds", m.content[0].signature) == {"t": "plain reasoning"}


@pytest.mark.parametrize("keep_thinking", [True, False])
def test_deepseek_gets_its_reasoning_back_after_tool_calls(gw, sim, keep_thinking):
    """Claude Code -> DeepSeek reasoner: the assistant tool turn must carry reasoning_content back, whether
    the client returns the thinking block or drops it."""
    c = ant_client(gw)
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    sim.enqueue(
        Script([Reasoning("I need the weather tool.", split=5), ToolCall("get_weather", '{"city":"Rome"}')])
    )
    first = c.messages.create(model="claude-sonnet-4-20250514-slow", max_tokens=500, tools=tools,
                              messages=[{"role": "user", "content": "weather in Rome?"}])  # fmt: skip
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert sim.last.json["model"] == "deepseek-reasoner"
    call = first.content[1]
    assistant = [b.model_dump(exclude_none=True) for b in first.content]
    if not keep_thinking:
        assistant = assistant[1:]
    sim.enqueue(Script.text("Sunny."))
    second = c.messages.create(model="claude-sonnet-4-20250514-slow", max_tokens=500, tools=tools, messages=[
        {"role": "user", "content": "weather in Rome?"},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ])  # fmt: skip
    assert second.content[0].text == "Sunny."  # type: ignore[union-attr]
    sent = sim.last.json["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["reasoning_content"] == "I need the weather tool."
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


@pytest.mark.parametrize("provider", ["oai", "ant", "antx"])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_html_error_page_is_not_parsed_as_json(gw, sim, provider, stream):
    sim.enqueue(*[html_error(502, "502 Bad Gateway") for _ in range(3)])
    with pytest.raises(anthropic.APIStatusError) as ei:
        ant_client(gw).messages.create(model=MODELS[provider], max_tokens=5, stream=stream,
                                       messages=[{"role": "user", "content": "x"}])  # fmt: skip
    assert ei.value.status_code == 502
    err = ei.value.body["error"]  # type: ignore[index]
    assert err["type"] == "api_error"
    assert "502 Bad Gateway" in err["message"]
    assert "<html" not in err["message"]


@pytest.mark.parametrize("provider", ["oai", "antx", "ant"])
def test_data_lines_without_a_space_after_the_colon(gw, sim, provider):
    sim.enqueue(Script([Text("no space here", split=3), ToolCall("f", '{"a": 1}', id="call_1")], space=False,
                       usage=Usage(4, 5)))  # fmt: skip
    out = ant_from_stream(
        ant_client(gw).messages.create(
            model=MODELS[provider], max_tokens=100, stream=True, messages=[{"role": "user", "content": "x"}]
        )
    )
    assert out["text"] == "no space here"
    assert out["tools"][0]["args"] == '{"a": 1}'
    assert out["usage"] == (4, 5)
    if provider != "ant":
        sim.enqueue(Script([Text("no space here", split=3)], space=False))
        o = oai_from_stream(oai_client(gw).chat.completions.create(
            model=MODELS[provider], messages=[{"role": "user", "content": "x"}], stream=True,
            stream_options={"include_usage": True}))  # fmt: skip
        assert o["text"] == "no space here"
