"""The Anthropic Messages client dialect: parsing (captured Claude Code bodies included), rendering of
responses and streams, errors, and usage sniffing for pass-through."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from any2api.core.errors import DEFAULT_STATUS, GatewayError
from any2api.core.events import (
    ErrorEvent,
    Event,
    Finish,
    PartDelta,
    PartEnd,
    PartStart,
    ResponseStart,
    UsageEvent,
)
from any2api.core.parts import (
    FilePart,
    ImagePart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from any2api.core.request import ChatRequest, Message
from any2api.core.response import ChatResponse, Usage
from any2api.core.seal import is_sealed
from any2api.formats.anthropic_messages import (
    DIALECT,
    AnthropicStreamRenderer,
    AnthropicUsageSniffer,
    parse_request,
    peek,
    render_response,
    usage_from_wire,
    usage_to_wire,
)
from any2api.formats.openai_chat import OPENAI_CHAT
from any2api.providers.openai_wire import ChunkParser
from any2api.providers.profiles import BUILTIN
from any2api.wire.anthropic_messages import ERROR_TYPES
from tests.sim.fold import openai_chunks

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CC = FIX / "requests" / "claude-code"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def sse_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """An independent reading of Anthropic SSE (event/data pairs), to check what the renderer wrote."""
    out: list[tuple[str, dict[str, Any]]] = []
    for frame in raw.decode().split("\n\n"):
        if not frame.strip():
            continue
        name, data = "", []
        for line in frame.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            else:
                raise AssertionError(f"unexpected line {line!r}")
        obj = json.loads("\n".join(data))
        assert obj["type"] == name, (name, obj)
        out.append((name, obj))
    return out


def render_stream(events: list[Event], req: ChatRequest | None = None, estimate: Any = None) -> bytes:
    r = AnthropicStreamRenderer(req or ChatRequest(model="claude-x", messages=[]), estimate)
    return b"".join(r.event(e) for e in events) + r.end()


def blocks_of(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Assemble content blocks the way an SDK does, checking index discipline on the way: every block
    starts at the next index, receives deltas only while open, and is stopped before the next starts."""
    blocks: list[dict[str, Any]] = []
    open_index: int | None = None
    for name, obj in events:
        if name == "content_block_start":
            assert open_index is None, "a block started while another was open"
            assert obj["index"] == len(blocks), "block indices must be contiguous from 0"
            b = dict(obj["content_block"])
            if b["type"] == "tool_use":
                b["_json"] = ""
            blocks.append(b)
            open_index = obj["index"]
        elif name == "content_block_delta":
            assert obj["index"] == open_index
            d = obj["delta"]
            b = blocks[open_index]
            if d["type"] == "text_delta":
                b["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                b["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                b["signature"] = b.get("signature", "") + d["signature"]
            elif d["type"] == "input_json_delta":
                b["_json"] += d["partial_json"]
            else:
                raise AssertionError(d)
        elif name == "content_block_stop":
            assert obj["index"] == open_index
            open_index = None
    assert open_index is None
    return blocks


# ------------------------------------------------------------------------------------------ parsing


def test_claude_code_turn_with_tool_result_parses_with_cache_control_kept() -> None:
    body = load(CC / "archgw-test-cc-2025-09-todowrite-tool_result-turn.trimmed.body.json")
    req = parse_request(body, {"anthropic-version": "2023-06-01"})
    assert req.origin == "anthropic_messages"
    assert req.model == "claude-sonnet-4-20250514"
    assert req.max_tokens == 4096
    assert req.temperature == 1.0
    system = req.messages[0]
    assert system.role == "system"
    assert [p.text for p in system.parts] == [b["text"] for b in body["system"]]  # type: ignore[union-attr]
    assert all(
        p.provider_details == {"anthropic": {"cache_control": {"type": "ephemeral"}}} for p in system.parts
    )
    assistant = req.messages[2]
    call = assistant.parts[0]
    assert isinstance(call, ToolCallPart)
    assert call.name == "TodoWrite"
    assert json.loads(call.arguments) == body["messages"][1]["content"][0]["input"]
    assert call.provider_details == {"anthropic": {"cache_control": {"type": "ephemeral"}}}
    result = req.messages[3].parts[0]
    assert isinstance(result, ToolResultPart)
    assert result.tool_call_id == call.id
    assert result.content == body["messages"][2]["content"][0]["content"]
    last = req.messages[3].parts[-1]
    assert isinstance(last, TextPart)
    assert last.text == "try again"
    assert last.provider_details
    assert req.tools is not None
    assert req.tools[0].parameters == body["tools"][0]["input_schema"]
    assert req.extra_for("anthropic_messages") == {}


def test_claude_code_classifier_request_parses() -> None:
    body = load(CC / "ccr-docs-2.1.222-auto-mode-classifier.body.json")
    headers = load(CC / "ccr-docs-2.1.222-auto-mode-classifier.headers.json")["headers"]
    req = parse_request(body, headers)
    assert req.origin == "anthropic_messages"
    assert req.messages[0].role == "system"
    assert req.messages[0].parts[0].text == body["system"]
    assert req.stop == ["</severity>"]
    assert req.reasoning is not None
    assert req.reasoning.enabled is False
    assert req.user == body["metadata"]["user_id"]
    assert req.metadata == body["metadata"]
    assert req.header_for("anthropic_messages", "anthropic-beta") == headers["anthropic-beta"]
    assert req.max_tokens == 64
    assert not req.stream


def test_claude_code_reduced_capture_names_the_broken_field() -> None:
    """The published capture replaced blocks with {kind, sha256, bytes}: the error says which field."""
    body = load(CC / "ctxreach-2.1.285-win-capture-A.body.reduced.json")
    with pytest.raises(GatewayError) as ei:
        parse_request(body, {})
    assert ei.value.kind == "invalid_request"
    assert ei.value.param == "system.0.type"
    assert json.loads(DIALECT.render_error(ei.value)) == {
        "type": "error", "error": {"type": "invalid_request_error", "message": "system.0.type: Field required"},
        "request_id": None,
    }  # fmt: skip


def _unreduce(value: Any) -> Any:
    """The reduced capture with each ``{kind, sha256, bytes}`` placeholder turned back into a text block."""
    if isinstance(value, list):
        return [_unreduce(v) for v in value]
    if isinstance(value, dict):
        if "kind" in value and "sha256" in value:
            return {"type": "text", "text": f"<{value['kind']} {value['bytes']} bytes>"}
        return {k: _unreduce(v) for k, v in value.items()}
    return value


def test_claude_code_2_1_285_shape_system_message_in_messages_adaptive_thinking() -> None:
    body = _unreduce(load(CC / "ctxreach-2.1.285-win-capture-A.body.reduced.json"))
    headers = load(CC / "ctxreach-2.1.285-win-capture-A.headers.json")["headers"]
    req = parse_request(body, headers)
    roles = [m.role for m in req.messages]
    assert roles == ["system", "user", "system"]
    mid = req.messages[2]
    assert mid.provider_details == {"anthropic": {"output_config": {"effort": "medium"}}}
    assert req.reasoning is not None
    assert req.reasoning.enabled is True
    assert req.reasoning.effort == "medium"
    assert req.origin == "anthropic_messages"
    assert req.vendor_extra["anthropic_messages"]["thinking"] == {"type": "adaptive"}
    assert req.vendor_extra["anthropic_messages"]["context_management"] == body["context_management"]
    assert req.vendor_extra["anthropic_messages"]["output_config"] == {"effort": "medium"}
    assert req.tools is None
    assert req.stream
    assert req.max_tokens == 128000
    assert "mid-conversation-system-2026-04-07" in (
        req.header_for("anthropic_messages", "anthropic-beta") or ""
    )


def test_empty_text_blocks_are_accepted() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": ""}]},
    ]}  # fmt: skip
    req = parse_request(body)
    assert [p.text for p in req.messages[0].parts] == ["", "hi"]  # type: ignore[union-attr]
    assert req.messages[1].parts == [TextPart("")]


def test_content_blocks_of_every_kind() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
             "title": "a.pdf", "citations": {"enabled": True}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}},
            {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "x"},
                                                                            {"type": "text", "text": "y"}]}},
            {"type": "document", "source": {"type": "url", "url": "https://example.test/d.pdf"}},
        ]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "SIG=="},
            {"type": "redacted_thinking", "data": "ENC"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, "é"]}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": [{"type": "text", "text": "boom"},
                         {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}]},
        ]},
    ]}  # fmt: skip
    req = parse_request(body)
    u = req.messages[0].parts
    assert u[0] == ImagePart(data="iVBORw0KGgo=", media_type="image/png")
    assert u[1] == ImagePart(url="https://example.test/a.png")
    assert u[2] == FilePart(data="JVBERi0=", media_type="application/pdf", filename="a.pdf",
                            provider_details={"anthropic": {"citations": {"enabled": True}}})  # fmt: skip
    assert u[3] == FilePart(text="plain", media_type="text/plain")
    assert u[4] == FilePart(text="x\n\ny", media_type="text/plain")
    assert u[5] == FilePart(url="https://example.test/d.pdf")
    a = req.messages[1].parts
    assert a[0] == ReasoningPart("hmm", signature="SIG==")
    assert a[1] == ReasoningPart("", redacted="ENC")
    assert a[2] == ToolCallPart("toolu_1", "f", '{"a":[1,"é"]}')
    r = req.messages[2].parts[0]
    assert isinstance(r, ToolResultPart)
    assert r.is_error
    assert r.content == [TextPart("boom"), ImagePart(data="R0lG", media_type="image/gif")]


def test_sampling_tools_and_choices() -> None:
    base = {"model": "m", "max_tokens": 2000, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"},
                       "cache_control": {"type": "ephemeral"}}],
            "temperature": 0.5, "top_p": 0.9, "top_k": 7, "stream": True}  # fmt: skip
    cases = {
        "auto": ("auto", None, None),
        "any": ("required", None, None),
        "none": ("none", None, None),
    }
    for t, (mode, name, par) in cases.items():
        req = parse_request({**base, "tool_choice": {"type": t}})
        assert req.tool_choice is not None
        assert (
            req.tool_choice.mode,
            req.tool_choice.name,
            req.tool_choice.parallel,
        ) == (mode, name, par)
    req = parse_request({**base, "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
                         "thinking": {"type": "enabled", "budget_tokens": 1024}})  # fmt: skip
    assert req.tool_choice is not None
    assert (
        req.tool_choice.mode,
        req.tool_choice.name,
        req.tool_choice.parallel,
    ) == ("tool", "f", False)
    assert req.reasoning is not None
    assert (req.reasoning.enabled, req.reasoning.budget_tokens) == (True, 1024)
    assert (req.temperature, req.top_p, req.top_k, req.stream) == (0.5, 0.9, 7, True)
    assert req.tools is not None
    assert req.tools[0].provider_details == {"anthropic": {"cache_control": {"type": "ephemeral"}}}


@pytest.mark.parametrize(
    ("mutate", "param"),
    [
        (lambda b: b.pop("max_tokens"), "max_tokens"),
        (lambda b: b.update(max_tokens="10"), "max_tokens"),
        (lambda b: b.pop("model"), "model"),
        (lambda b: b.update(model=""), "model"),
        (lambda b: b.update(messages={}), "messages"),
        (lambda b: b["messages"][0].update(role="tool"), "messages.0.role"),
        (lambda b: b["messages"][0].pop("content"), "messages.0.content"),
        (lambda b: b["messages"][0].update(content=[{"type": "audio"}]), "messages.0.content.0.type"),
        (lambda b: b["messages"][0].update(content=[{"type": "image"}]), "messages.0.content.0.source"),
        (
            lambda b: b["messages"][0].update(content=[{"type": "text", "text": 3}]),
            "messages.0.content.0.text",
        ),
        (
            lambda b: b["messages"][0].update(
                content=[{"type": "tool_use", "id": "x", "name": "f", "input": []}]
            ),
            "messages.0.content.0.input",
        ),
        (lambda b: b.update(system=[{"type": "image"}]), "system.0.type"),
        (lambda b: b.update(tools=[{"name": "f"}]), "tools.0.input_schema"),
        (lambda b: b.update(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0.type"),
        (lambda b: b.update(tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (lambda b: b.update(thinking={"type": "enabled"}), "thinking.enabled.budget_tokens"),
        (lambda b: b.update(stop_sequences="x"), "stop_sequences"),
        (lambda b: b.update(stream="yes"), "stream"),
        (lambda b: b.update(temperature=True), "temperature"),
        (lambda b: b.update(metadata={"user_id": 5}), "metadata.user_id"),
    ],
)
def test_bad_input_names_the_field_in_anthropic_error_body(mutate: Any, param: str) -> None:
    body: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    mutate(body)
    with pytest.raises(GatewayError) as ei:
        parse_request(body)
    err = ei.value
    assert err.param == param
    assert err.status == 400
    out = json.loads(DIALECT.render_error(err))
    assert out["type"] == "error"
    assert out["error"]["type"] == "invalid_request_error"
    assert out["error"]["message"].startswith(param + ":")


def test_peek_checks_what_pass_through_relies_on() -> None:
    assert peek({"model": "m", "max_tokens": 1, "messages": [], "stream": True}) == ("m", True)
    for body, param in [([], None), ({"max_tokens": 1, "messages": []}, "model"),
                        ({"model": "m", "messages": []}, "max_tokens"),
                        ({"model": "m", "max_tokens": 1, "messages": [{"role": "bot"}]}, "messages.0.role")]:  # fmt: skip
        with pytest.raises(GatewayError) as ei:
            peek(body)
        assert ei.value.param == param


def test_count_tokens_body_needs_no_max_tokens() -> None:
    req = parse_request({"model": "m", "messages": [{"role": "user", "content": "x"}]}, count_tokens=True)
    assert req.max_tokens is None


# ------------------------------------------------------------------------------------- error mapping


def test_every_error_kind_has_an_anthropic_type_and_overloaded_is_529() -> None:
    assert set(ERROR_TYPES) == set(DEFAULT_STATUS)
    expected = {"invalid_request": "invalid_request_error", "authentication": "authentication_error",
                "permission": "permission_error", "not_found": "not_found_error", "rate_limit": "rate_limit_error",
                "upstream": "api_error", "overloaded": "overloaded_error", "internal": "api_error"}  # fmt: skip
    for kind, etype in expected.items():
        err = GatewayError(kind, "why")  # type: ignore[arg-type]
        assert json.loads(DIALECT.render_error(err)) == {
            "type": "error",
            "error": {"type": etype, "message": "why"},
            "request_id": None,
        }
    assert DIALECT.error_status(GatewayError("overloaded", "busy")) == 529
    assert DIALECT.error_status(GatewayError("rate_limit", "slow down")) == 429
    assert DIALECT.error_status(GatewayError("upstream", "bad gateway")) == 502


# ---------------------------------------------------------------------------------- response rendering


def test_render_response_blocks_usage_and_stop_reasons() -> None:
    args = '{"city": "Paris",  "note":"\\u00e9"}'  # spacing and escapes as the model produced them
    resp = ChatResponse(
        id="chatcmpl-1", model="deepseek-chat", created=0,
        parts=[ReasoningPart("think", signature="SIG"), ReasoningPart("unsigned"), TextPart(""), TextPart("hello"),
               ToolCallPart("call_1", "weather", args), ToolCallPart("call_2", "noargs", "")],
        finish_reason="tool_calls", usage=Usage(100, 20, cache_read_tokens=30, cache_write_tokens=5),
    )  # fmt: skip
    raw = render_response(resp, ChatRequest(model="claude-sonnet-4-20250514", messages=[]))
    assert b'"input":' + args.encode() + b',"caller":' in raw, "tool input must be embedded byte for byte"
    body = json.loads(raw)
    assert body["id"] == "msg_chatcmpl-1"
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    issued = body["content"][1].pop("signature")
    assert is_sealed(issued), "unsigned reasoning gets the gateway's sealed signature, never a made-up one"
    direct = {"type": "direct"}
    assert body["content"] == [
        {"type": "thinking", "thinking": "think", "signature": "SIG"},
        {"type": "thinking", "thinking": "unsigned"},
        {"type": "text", "text": "hello", "citations": None},
        {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris", "note": "é"},
         "caller": direct},
        {"type": "tool_use", "id": "call_2", "name": "noargs", "input": {}, "caller": direct},
    ]  # fmt: skip
    assert body["stop_reason"] == "tool_use"
    assert body["stop_sequence"] is None
    assert (body["stop_details"], body["container"]) == (None, None)
    assert body["model"] == "claude-sonnet-4-20250514", "the model the client asked for"
    assert body["usage"] == {"input_tokens": 65, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 30,
                             "cache_creation": {"ephemeral_5m_input_tokens": 5, "ephemeral_1h_input_tokens": 0},
                             "output_tokens": 20, "server_tool_use": None, "service_tier": "standard",
                             "inference_geo": None}  # fmt: skip


@pytest.mark.parametrize(
    ("finish", "seq", "expected"),
    [("stop", None, "end_turn"), ("stop", "###", "stop_sequence"), ("length", None, "max_tokens"),
     ("tool_calls", None, "tool_use"), ("content_filter", None, "refusal"), (None, None, "end_turn")],
)  # fmt: skip
def test_finish_reasons_map_to_stop_reasons(finish: Any, seq: str | None, expected: str) -> None:
    resp = ChatResponse(id="msg_1", model="m", created=0, parts=[TextPart("x")], finish_reason=finish,
                        stop_sequence=seq)  # fmt: skip
    body = json.loads(render_response(resp, ChatRequest(model="m", messages=[])))
    assert (body["stop_reason"], body["stop_sequence"]) == (expected, seq)


def test_truncated_tool_arguments_are_kept_not_dropped() -> None:
    resp = ChatResponse(id="msg_1", model="m", created=0, parts=[ToolCallPart("c", "f", '{"a": "unterminat')],
                        finish_reason="length")  # fmt: skip
    body = json.loads(render_response(resp, ChatRequest(model="m", messages=[])))
    assert body["content"][0]["input"] == {"_raw_arguments": '{"a": "unterminat'}


def test_usage_wire_round_trip_keeps_anthropic_only_fields() -> None:
    wire = {"input_tokens": 12, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 40, "output_tokens": 9,
            "service_tier": "standard", "cache_creation": {"ephemeral_5m_input_tokens": 3}}  # fmt: skip
    hub = usage_from_wire(wire)
    assert (hub.input_tokens, hub.output_tokens, hub.cache_read_tokens, hub.cache_write_tokens) == (
        55,
        9,
        40,
        3,
    )
    assert usage_to_wire(hub) == {
        **wire,
        "server_tool_use": None,
        "inference_geo": None,
    }  # required, nullable


# ------------------------------------------------------------------------------------ stream rendering


def test_stream_sequence_is_exactly_anthropics() -> None:
    events: list[Event] = [
        ResponseStart("msg_abc", "claude-x", 0, Usage(input_tokens=42, output_tokens=1)),
        PartStart(0, TextPart("")), PartDelta(0, "Hel"), PartDelta(0, "lo"), PartEnd(0),
        UsageEvent(Usage(output_tokens=7)), Finish("stop"),
    ]  # fmt: skip
    ev = sse_events(render_stream(events))
    assert [n for n, _ in ev] == ["message_start", "ping", "content_block_start", "content_block_delta",
                                  "content_block_delta", "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    start = ev[0][1]["message"]
    assert start["id"] == "msg_abc"
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == 42
    assert start["usage"]["output_tokens"] == 0
    assert ev[2][1]["content_block"] == {"type": "text", "text": "", "citations": None}
    assert blocks_of(ev) == [{"type": "text", "text": "Hello", "citations": None}]
    md = ev[6][1]
    assert md["delta"] == {
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "container": None,
    }
    assert md["usage"]["output_tokens"] == 7
    assert md["usage"]["input_tokens"] == 42


def test_message_start_usage_is_never_all_zeros() -> None:
    """Trap: an OpenAI upstream reports usage only at the end; message_start gets a tokenizer estimate."""
    req = ChatRequest(
        model="claude-x", messages=[Message("user", [TextPart("Count the words in this sentence.")])]
    )
    events: list[Event] = [ResponseStart("x", "m", 0), PartStart(0, TextPart("ok")), PartEnd(0),
                           UsageEvent(Usage(input_tokens=17, output_tokens=1)), Finish("stop")]  # fmt: skip
    ev = sse_events(render_stream(events, req, DIALECT.stream_renderer(req)._estimate))  # type: ignore[attr-defined]
    start_usage = ev[0][1]["message"]["usage"]
    assert start_usage["input_tokens"] > 5
    assert ev[-2][1]["usage"]["input_tokens"] == 17  # the upstream's real figure at the end


def test_parallel_openai_tool_calls_become_sequential_blocks_byte_identical() -> None:
    """Interleaved parallel tool calls from a real OpenAI stream: contiguous indices, one block open at a
    time, each block's partial_json joining to exactly the upstream's argument text."""
    raw = (FIX / "openai" / "chat-stream-parallel-tool-calls-args.sse").read_bytes()
    parser = ChunkParser(BUILTIN["openai"], "gpt-4o")
    events: list[Event] = []
    upstream_args: dict[int, str] = {}
    for obj in openai_chunks(raw):
        for tc in (obj["choices"][0]["delta"].get("tool_calls") or []) if obj.get("choices") else []:
            upstream_args[tc["index"]] = upstream_args.get(tc["index"], "") + tc["function"].get(
                "arguments", ""
            )
        events += parser.feed(obj)
    events += parser.close(saw_done=True)
    assert len(upstream_args) == 2
    blocks = blocks_of(sse_events(render_stream(events)))
    tools = [b for b in blocks if b["type"] == "tool_use"]
    assert [t["_json"] for t in tools] == [upstream_args[0], upstream_args[1]]
    assert all(json.loads(t["_json"]) for t in tools)


def test_interleaved_deltas_of_parallel_calls_are_buffered_not_lost() -> None:
    events: list[Event] = [
        ResponseStart("m1", "m", 0),
        PartStart(0, ToolCallPart("a", "f", "")), PartStart(1, ToolCallPart("b", "g", '{"y"')),
        PartDelta(0, '{"x"'), PartDelta(1, ': 2}'), PartDelta(0, ': 1}'),
        PartEnd(0), PartEnd(1), Finish("tool_calls"),
    ]  # fmt: skip
    ev = sse_events(render_stream(events))
    blocks = blocks_of(ev)
    assert [(b["id"], b["_json"]) for b in blocks] == [("a", '{"x": 1}'), ("b", '{"y": 2}')]
    assert ev[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_text_then_tool_switch_keeps_tool_input() -> None:
    """Trap: a text part still open when a tool call starts; the tool's streamed input must arrive, and
    text that continues later becomes a new block instead of vanishing."""
    events: list[Event] = [
        ResponseStart("m1", "m", 0),
        PartStart(0, TextPart("Let me check")), PartDelta(0, "."),
        PartStart(1, ToolCallPart("t1", "lookup", "")), PartDelta(1, '{"q":'), PartDelta(1, '"x"}'),
        PartDelta(0, " Done."), PartEnd(1), PartEnd(0), Finish("tool_calls"),
    ]  # fmt: skip
    blocks = blocks_of(sse_events(render_stream(events)))
    assert blocks == [
        {"type": "text", "text": "Let me check.", "citations": None},
        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}, "_json": '{"q":"x"}',
         "caller": {"type": "direct"}},
        {"type": "text", "text": " Done.", "citations": None},
    ]  # fmt: skip


def test_thinking_without_visible_text_yields_no_empty_text_block() -> None:
    events: list[Event] = [
        ResponseStart("m1", "deepseek-reasoner", 0),
        PartStart(0, ReasoningPart("")), PartDelta(0, "deep "), PartDelta(0, "thought"), PartEnd(0),
        PartStart(1, TextPart("")), PartDelta(1, ""), PartEnd(1),
        Finish("length"),
    ]  # fmt: skip
    ev = sse_events(render_stream(events))
    blocks = blocks_of(ev)
    issued = blocks[0].pop("signature")
    assert is_sealed(issued), "the gateway's sealed signature, never a made-up one"
    assert blocks == [{"type": "thinking", "thinking": "deep thought"}]
    assert ev[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_signature_is_sent_only_when_the_upstream_gave_one() -> None:
    events: list[Event] = [
        ResponseStart("m1", "claude", 0),
        PartStart(0, ReasoningPart("a")), PartDelta(0, "b"), PartDelta(0, "", signature="EqQBCk"),
        PartDelta(0, "", signature="YIAR=="), PartEnd(0),
        PartStart(1, ReasoningPart("", redacted="ENCRYPTED")), PartEnd(1),
        PartStart(2, TextPart("x")), PartEnd(2), Finish("stop", "###"),
    ]  # fmt: skip
    ev = sse_events(render_stream(events))
    blocks = blocks_of(ev)
    assert blocks[0] == {"type": "thinking", "thinking": "ab", "signature": "EqQBCkYIAR=="}
    assert blocks[1] == {"type": "redacted_thinking", "data": "ENCRYPTED"}
    assert ev[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "###", "stop_details": None,
                                  "container": None}  # fmt: skip


def test_stream_error_event_and_heartbeat_ping() -> None:
    r = DIALECT.stream_renderer(ChatRequest(model="m", messages=[]))
    out = r.event(ResponseStart("m1", "m", 0, Usage(input_tokens=3))) + r.event(
        PartStart(0, TextPart("partial"))
    )
    out += r.heartbeat()
    out += r.event(ErrorEvent(GatewayError("overloaded", "Upstream is overloaded")))
    ev = sse_events(out)
    assert [n for n, _ in ev] == ["message_start", "ping", "content_block_start", "content_block_delta", "ping",
                                  "error"]  # fmt: skip
    assert ev[-1][1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Upstream is overloaded"},
        "request_id": None,
    }


def test_out_of_order_events_are_a_bug_not_silence() -> None:
    r = DIALECT.stream_renderer(ChatRequest(model="m", messages=[]))
    r.event(ResponseStart("m1", "m", 0))
    with pytest.raises(ValueError, match="never started"):
        r.event(PartDelta(3, "x"))


def test_same_dialect_stream_renders_back_into_itself() -> None:
    """OpenAI-rendered and Anthropic-rendered streams of the same events carry the same content."""
    events: list[Event] = [
        ResponseStart("m1", "m", 0), PartStart(0, ReasoningPart("r", signature="S")), PartEnd(0),
        PartStart(1, TextPart("t")), PartEnd(1), PartStart(2, ToolCallPart("c", "f", '{"k":1}')), PartEnd(2),
        UsageEvent(Usage(10, 5)), Finish("tool_calls"),
    ]  # fmt: skip
    blocks = blocks_of(sse_events(render_stream(copy.deepcopy(events))))
    assert [b["type"] for b in blocks] == ["thinking", "text", "tool_use"]
    oa = OPENAI_CHAT.stream_renderer(ChatRequest(model="m", messages=[], include_usage=True))
    text = b"".join(oa.event(e) for e in events) + oa.end()
    assert b'"arguments":"{\\"k\\":1}"' in text


# -------------------------------------------------------------------------------------- usage sniffer


@pytest.mark.parametrize("split", [1, 7, 64, 100_000])
def test_usage_sniffer_forwards_bytes_unchanged_and_finds_usage(split: int) -> None:
    raw = (FIX / "anthropic" / "messages-stream-thinking-then-tool-use.sse").read_bytes()
    sn = AnthropicUsageSniffer(stream=True)
    forwarded = b"".join(sn.feed(raw[i : i + split]) for i in range(0, len(raw), split)) + sn.flush()
    assert forwarded == raw
    u = sn.usage()
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (598, 92, 53)


def test_usage_sniffer_holds_back_only_an_unfinished_event() -> None:
    sn = AnthropicUsageSniffer(stream=True)
    assert (
        sn.feed(b'event: ping\ndata: {"type":"ping"}\n\nevent: message_stop\n')
        == b'event: ping\ndata: {"type":"ping"}\n\n'
    )
    assert (
        sn.feed(b'data: {"type":"message_stop"}\n\n')
        == b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )


def test_usage_sniffer_non_stream() -> None:
    raw = (FIX / "anthropic" / "messages-parallel-tool-use.json").read_bytes()
    sn = DIALECT.usage_sniffer(stream=False)
    assert sn is not None
    assert sn.feed(raw) == raw
    u = sn.usage()
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.cache_read_tokens) == (423, 202, 0)


# ------------------------------------------------------------------------------------------ server tools

SERVER_BLOCKS: list[dict[str, Any]] = [
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "paris"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
        {"type": "web_search_result", "url": "https://example.com", "title": "Ex", "encrypted_content": "Eq"}]},
    {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_2",
     "content": {"type": "code_execution_result", "stdout": "2\n", "stderr": "", "return_code": 0}},
    {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "echo", "server_name": "ex", "input": {}},
    {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "is_error": False, "content": [{"type": "text", "text": "1"}]},
]  # fmt: skip


def test_server_tool_blocks_parse_into_opaque_parts_holding_the_block_as_sent() -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "search"}, {"role": "assistant", "content": copy.deepcopy(SERVER_BLOCKS)}]}  # fmt: skip
    parts = parse_request(body).messages[1].parts
    assert [type(p).__name__ for p in parts] == ["ServerToolCallPart", "ServerToolResultPart",
                                                 "ServerToolResultPart", "ServerToolCallPart", "ServerToolResultPart"]  # fmt: skip
    assert all(p.wire == "anthropic_messages" for p in parts)  # type: ignore[union-attr]
    assert [p.data for p in parts] == SERVER_BLOCKS  # type: ignore[union-attr]
    call, result = parts[0], parts[1]
    assert isinstance(call, ServerToolCallPart)
    assert (call.id, call.name) == ("srvtoolu_1", "web_search")
    assert isinstance(result, ServerToolResultPart)
    assert result.tool_call_id == "srvtoolu_1"


@pytest.mark.parametrize(
    ("block", "param"),
    [
        ({"type": "server_tool_use", "name": "web_search", "input": {}}, "messages.0.content.0.id"),
        ({"type": "server_tool_use", "id": "s", "input": {}}, "messages.0.content.0.name"),
        ({"type": "web_search_tool_result", "content": []}, "messages.0.content.0.tool_use_id"),
        ({"type": "mcp_tool_result", "tool_use_id": 3}, "messages.0.content.0.tool_use_id"),
        ({"type": "web_search_call"}, "messages.0.content.0.type"),
    ],
)
def test_malformed_server_tool_blocks_name_the_field(block: dict[str, Any], param: str) -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "assistant", "content": [block]}]}
    with pytest.raises(GatewayError) as ei:
        parse_request(body)
    assert ei.value.param == param


def test_server_tool_parts_stream_as_whole_blocks_between_live_ones() -> None:
    """Server tool parts arrive whole: each becomes one content_block_start carrying the block as the
    vendor made it and a content_block_stop, no deltas, with contiguous indices around live text blocks.
    A server tool part made in another wire format is left out of the stream."""
    call = ServerToolCallPart("srvtoolu_1", "web_search", "anthropic_messages", SERVER_BLOCKS[0])
    result = ServerToolResultPart("srvtoolu_1", "anthropic_messages", SERVER_BLOCKS[1])
    foreign = ServerToolCallPart(
        "ws_1", "web_search", "openai_responses", {"type": "web_search_call", "id": "ws_1"}
    )
    events: list[Event] = [
        ResponseStart("msg_1", "m", 0),
        PartStart(0, TextPart("Let me ")), PartDelta(0, "search."), PartEnd(0),
        PartStart(1, call), PartEnd(1),
        PartStart(2, foreign), PartEnd(2),
        PartStart(3, result), PartEnd(3),
        PartStart(4, TextPart("")), PartDelta(4, "Found it."), PartEnd(4),
        UsageEvent(Usage(10, 5)), Finish("stop"),
    ]  # fmt: skip
    raw = render_stream(events)
    ev = sse_events(raw)
    blocks = blocks_of(ev)
    assert blocks == [{"type": "text", "text": "Let me search.", "citations": None}, SERVER_BLOCKS[0],
                      SERVER_BLOCKS[1], {"type": "text", "text": "Found it.", "citations": None}]  # fmt: skip
    whole = [o for n, o in ev if n == "content_block_start" and o["index"] in (1, 2)]
    assert [o["content_block"] for o in whole] == SERVER_BLOCKS[:2]
    assert not [o for n, o in ev if n == "content_block_delta" and o["index"] in (1, 2)]
    assert orjson.dumps(SERVER_BLOCKS[1]) in raw  # byte-exact
    assert b"ws_1" not in raw
    # the non-streamed answer carries the same blocks
    resp = ChatResponse(
        "msg_1", "m", 0, [TextPart("Let me search."), call, foreign, result], "stop", usage=Usage(1, 1)
    )
    assert (
        json.loads(render_response(resp, ChatRequest(model="m", messages=[])))["content"][1:]
        == SERVER_BLOCKS[:2]
    )
