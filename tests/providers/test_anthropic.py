"""The native Anthropic upstream: hub -> Messages request bodies, and recorded Messages responses (JSON
and SSE) -> hub events, checked against an independent reading of the same recordings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from any2api.config import ProviderConfig, Timeouts
from any2api.core.accumulator import accumulate
from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, UsageEvent
from any2api.core.parts import ReasoningPart, TextPart, ToolCallPart
from any2api.core.request import ChatRequest, Message, ReasoningConfig
from any2api.formats.anthropic_messages import AnthropicStreamRenderer, parse_request
from any2api.formats.openai_chat import OPENAI_CHAT, render_response
from any2api.formats.openai_chat import parse_request as parse_openai
from any2api.providers.anthropic import AnthropicProvider, MessageStreamParser, build_body, message_events
from any2api.providers.base import Account
from any2api.upstream import Upstream
from tests.sim.fold import anthropic_events, fold_openai_chat, openai_chunks, sse_data

FIX = Path(__file__).resolve().parents[1] / "fixtures"
ANT = FIX / "anthropic"
CC = FIX / "requests" / "claude-code"


def wire_events(path: Path) -> list[dict[str, Any]]:
    """The data objects of an Anthropic stream recording (raw SSE or vercel's one-JSON-per-line)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sse":
        return [json.loads(d) for d in sse_data(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def expected_blocks(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the recording says each block holds (independent of the code under test)."""
    blocks: dict[int, dict[str, Any]] = {}
    for o in objs:
        if o["type"] == "content_block_start":
            b = o["content_block"]
            blocks[o["index"]] = {"type": b["type"], "text": b.get("text", b.get("thinking", "")),
                                  "signature": b.get("signature") or "", "data": b.get("data"), "json": "",
                                  "id": b.get("id"), "name": b.get("name")}  # fmt: skip
        elif o["type"] == "content_block_delta":
            d, b = o["delta"], blocks[o["index"]]
            b["text"] += d.get("text", d.get("thinking", ""))
            b["signature"] += d.get("signature", "")
            b["json"] += d.get("partial_json", "")
    return [blocks[i] for i in sorted(blocks)]


def parse_stream(objs: list[dict[str, Any]], model: str = "claude") -> list[Event]:
    p = MessageStreamParser(model)
    out: list[Event] = []
    for o in objs:
        out += p.feed(o)
    assert p.done
    return out


STREAMS = sorted(p.name for p in ANT.iterdir() if p.name.startswith("messages-stream-"))


@pytest.mark.parametrize("name", STREAMS)
def test_recorded_streams_translate_without_loss(name: str) -> None:
    objs = wire_events(ANT / name)
    events = parse_stream(objs)
    resp = accumulate(events)
    want = expected_blocks(objs)
    assert len(resp.parts) == len(want)
    for part, b in zip(resp.parts, want, strict=True):
        if b["type"] == "text":
            assert isinstance(part, TextPart)
            assert part.text == b["text"]
        elif b["type"] == "thinking":
            assert isinstance(part, ReasoningPart)
            assert part.text == b["text"]
            assert part.signature == (b["signature"] or None)  # kept exactly; none invented
        elif b["type"] == "redacted_thinking":
            assert isinstance(part, ReasoningPart)
            assert part.redacted == b["data"]
            assert not part.text
        else:
            assert isinstance(part, ToolCallPart)
            assert (part.id, part.name) == (b["id"], b["name"])
            assert part.arguments == (b["json"] or "{}")  # byte for byte; "{}" for a call without arguments
    start = objs[0]["message"]["usage"]
    final = [o for o in objs if o["type"] == "message_delta"][-1]
    assert resp.usage is not None
    assert resp.usage.input_tokens == start["input_tokens"] + start["cache_read_input_tokens"] + start[
        "cache_creation_input_tokens"]  # fmt: skip
    assert resp.usage.output_tokens == final["usage"]["output_tokens"]
    stop = final["delta"]["stop_reason"]
    assert resp.finish_reason == {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}[stop]


@pytest.mark.parametrize("name", STREAMS)
def test_recorded_streams_render_back_to_the_same_blocks(name: str) -> None:
    """Anthropic upstream -> hub -> Anthropic client: the same blocks, signatures and indices."""
    objs = wire_events(ANT / name)
    r = AnthropicStreamRenderer(ChatRequest(model="m", messages=[]))
    out = b"".join(r.event(e) for e in parse_stream(objs)) + r.end()
    again = [obj for _, obj in anthropic_events(out)]
    mine = expected_blocks(again)
    theirs = expected_blocks(objs)
    for b in theirs:
        if b["type"] == "tool_use" and not b["json"]:
            b["json"] = "{}"
    assert mine == theirs
    assert [o["index"] for o in again if o["type"] == "content_block_start"] == list(range(len(theirs)))


def test_parallel_tool_use_without_arguments_gives_two_distinct_openai_calls() -> None:
    """Trap: empty tool-call objects with parallel calls. Each call keeps its id and gets "{}"."""
    objs = wire_events(ANT / "messages-stream-parallel-tool-use.sse")
    events = parse_stream(objs)
    r = OPENAI_CHAT.stream_renderer(ChatRequest(model="m", messages=[], include_usage=True))
    chunks = openai_chunks(b"".join(r.event(e) for e in events) + r.end())
    calls = fold_openai_chat(chunks, strict=True).tool_calls
    assert [(c.id, c.arguments) for c in calls] == [
        ("toolu_01LtHJmixrs9NcWQkK8hu8hj", "{}"),
        ("toolu_01N8a4jWyf116qKTMqKKmjyt", "{}"),
    ]
    assert chunks[-1]["usage"]["prompt_tokens"] == 542


@pytest.mark.parametrize(
    "name",
    ["messages-text.vercel.json", "messages-thinking.vercel.json", "messages-text-and-tool-use.vercel.json",
     "messages-parallel-tool-use.json"],
)  # fmt: skip
def test_recorded_responses_translate(name: str) -> None:
    obj = json.loads((ANT / name).read_text(encoding="utf-8"))
    resp = accumulate(message_events(obj, "m"))
    assert resp.id == obj["id"]
    assert resp.model == obj["model"]
    assert len(resp.parts) == len(obj["content"])
    for part, b in zip(resp.parts, obj["content"], strict=True):
        if b["type"] == "text":
            assert isinstance(part, TextPart)
            assert part.text == b["text"]
        elif b["type"] == "thinking":
            assert isinstance(part, ReasoningPart)
            assert (part.text, part.signature) == (
                b["thinking"],
                b["signature"],
            )
        else:
            assert isinstance(part, ToolCallPart)
            assert json.loads(part.arguments) == b["input"]
            assert part.arguments  # never empty: "{}" at least
    assert resp.usage is not None
    assert resp.usage.output_tokens == obj["usage"]["output_tokens"]
    openai_body = json.loads(render_response(resp, ChatRequest(model="m", messages=[])))
    msg = openai_body["choices"][0]["message"]
    if any(b["type"] == "thinking" for b in obj["content"]):
        assert msg["reasoning_details"][0]["signature"] == obj["content"][0]["signature"]


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"), ("stop_sequence", "stop"),
     ("refusal", "content_filter"), ("model_context_window_exceeded", "length"), ("pause_turn", "stop")],
)  # fmt: skip
def test_stop_reasons(stop: str, finish: str) -> None:
    obj = {"id": "msg_1", "model": "c", "content": [{"type": "text", "text": "x"}], "stop_reason": stop,
           "stop_sequence": "END" if stop == "stop_sequence" else None, "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
    events = message_events(obj, "c")
    fin = events[-1]
    assert isinstance(fin, Finish)
    assert fin.reason == finish
    assert fin.stop_sequence == ("END" if stop == "stop_sequence" else None)


def test_mid_stream_error_event_becomes_error_event() -> None:
    p = MessageStreamParser("c")
    p.feed({"type": "message_start", "message": {"id": "msg_1", "model": "c", "usage": {"input_tokens": 5}}})
    p.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    out = p.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert len(out) == 1
    assert isinstance(out[0], ErrorEvent)
    assert out[0].error.kind == "overloaded"
    assert "Overloaded" in out[0].error.message


def test_unknown_blocks_and_deltas_raise_clear_errors() -> None:
    p = MessageStreamParser("c")
    p.feed({"type": "message_start", "message": {"id": "msg_1"}})
    with pytest.raises(GatewayError, match="mystery_block"):
        p.feed(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "mystery_block", "id": "s"}}
        )
    p.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    with pytest.raises(GatewayError, match="mystery_delta"):
        p.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "mystery_delta"}})


def test_citations_are_kept_in_provider_details() -> None:
    p = MessageStreamParser("c")
    events = p.feed({"type": "message_start", "message": {"id": "msg_1"}})
    events += p.feed(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    cit = {"type": "char_location", "cited_text": "x", "document_index": 0}
    events += p.feed(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": cit}}
    )
    events += p.feed({"type": "content_block_stop", "index": 0})
    events += p.feed({"type": "message_stop"})
    resp = accumulate(events)
    assert resp.parts[0].provider_details == {"anthropic": {"citations": [cit]}}


# ---------------------------------------------------------------------------------------- request body


def test_claude_code_body_round_trips_through_the_hub() -> None:
    """Anthropic client -> hub -> Anthropic upstream: the same request (cache_control, tools, ids)."""
    body = json.loads(
        (CC / "archgw-test-cc-2025-09-todowrite-tool_result-turn.trimmed.body.json").read_text("utf-8")
    )
    out = orjson.loads(orjson.dumps(build_body(parse_request(body), body["model"])))
    assert out == body


def test_anthropic_extras_and_beta_reach_only_the_anthropic_body() -> None:
    body = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}],
            "thinking": {"type": "adaptive"}, "context_management": {"edits": []}, "service_tier": "auto",
            "output_config": {"effort": "low"}}  # fmt: skip
    req = parse_request(body, {"anthropic-beta": "context-management-2025-06-27"})
    out = build_body(req, "claude-up")
    assert out["thinking"] == {"type": "adaptive"}
    assert out["context_management"] == {"edits": []}
    assert out["service_tier"] == "auto"
    assert out["output_config"] == {"effort": "low"}
    assert out["model"] == "claude-up"
    assert set(req.vendor_extra) == {"anthropic_messages"}  # nothing for other upstreams to pick up


def test_mid_conversation_system_is_hoisted_unless_the_beta_is_on() -> None:
    body = {"model": "m", "max_tokens": 10, "system": "first", "messages": [
        {"role": "user", "content": "hi"}, {"role": "system", "content": "later", "output_config": {"effort": "low"}},
        {"role": "user", "content": "again"}]}  # fmt: skip
    plain = build_body(parse_request(body), "c")
    assert [b["text"] for b in plain["system"]] == ["first", "later"]
    assert [m["role"] for m in plain["messages"]] == ["user"]
    assert [b["text"] for b in plain["messages"][0]["content"]] == ["hi", "again"]
    beta = build_body(parse_request(body, {"anthropic-beta": "mid-conversation-system-2026-04-07"}), "c")
    assert beta["messages"][1] == {"role": "system", "content": [{"type": "text", "text": "later"}],
                                   "output_config": {"effort": "low"}}  # fmt: skip


def _openai(body: dict[str, Any]) -> ChatRequest:
    return parse_openai({"model": "gpt", **body})


def test_openai_history_becomes_a_valid_messages_body() -> None:
    args = '{"city":  "Paris", "u": "\\u00e9"}'
    req = _openai({
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                                         {"type": "image_url", "image_url": {"url": "https://x.test/i.jpg"}}]},
            {"role": "assistant", "content": "", "reasoning_content": "unsigned thoughts",
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": args}},
                            {"id": "call_2", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "error: no such city"},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}],
        "tool_choice": "required", "parallel_tool_calls": False, "max_tokens": 300, "stop": ["END"],
        "temperature": 0.2, "user": "u-1",
    })  # fmt: skip
    raw = orjson.dumps(build_body(req, "claude-up"))
    assert b'"input":' + args.encode() in raw, "tool arguments must reach Anthropic byte for byte"
    out = json.loads(raw)
    assert out["system"] == [{"type": "text", "text": "be brief"}]
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/i.jpg"}},
    ]
    assistant = out["messages"][1]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == [
        "tool_use",
        "tool_use",
    ]  # unsigned reasoning left out
    assert assistant["content"][1]["input"] == {}
    user = out["messages"][2]
    assert user["role"] == "user"
    assert user["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "error: no such city"},
        {"type": "text", "text": "thanks"},
    ]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert out["tools"] == [{"name": "w", "input_schema": {"type": "object"}}]
    assert (out["max_tokens"], out["stop_sequences"], out["temperature"]) == (300, ["END"], 0.2)
    assert out["metadata"] == {"user_id": "u-1"}
    assert "stream" not in out


def test_signed_reasoning_goes_back_as_thinking_blocks() -> None:
    req = _openai({"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "reasoning_content": "t1t2",
         "reasoning_details": [{"type": "reasoning.text", "text": "t1", "signature": "SIG1"},
                               {"type": "reasoning.encrypted", "data": "ENC"}]},
        {"role": "user", "content": "q2"}]})  # fmt: skip
    out = build_body(req, "c")
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "t1", "signature": "SIG1"},
        {"type": "redacted_thinking", "data": "ENC"},
        {"type": "text", "text": "a"},
    ]


def test_reasoning_controls() -> None:
    msgs = [{"role": "user", "content": "q"}]
    assert build_body(_openai({"messages": msgs, "reasoning_effort": "high", "max_tokens": 32000}), "c")["thinking"] == {
        "type": "enabled", "budget_tokens": 16384}  # fmt: skip
    # the budget must stay below max_tokens
    assert build_body(_openai({"messages": msgs, "reasoning_effort": "high", "max_tokens": 5000}), "c")["thinking"] == {
        "type": "enabled", "budget_tokens": 4999}  # fmt: skip
    assert build_body(_openai({"messages": msgs, "reasoning_effort": "none"}), "c")["thinking"] == {
        "type": "disabled"
    }
    with pytest.raises(GatewayError) as ei:
        build_body(_openai({"messages": msgs, "reasoning_effort": "low", "max_tokens": 500}), "c")
    assert ei.value.param == "max_tokens"
    req = ChatRequest(model="m", messages=[Message("user", [TextPart("x")])],
                      reasoning=ReasoningConfig(enabled=True, budget_tokens=2048))  # fmt: skip
    assert build_body(req, "c", default_max_tokens=8000)["thinking"] == {
        "type": "enabled",
        "budget_tokens": 2048,
    }
    assert (
        build_body(ChatRequest(model="m", messages=[Message("user", [TextPart("x")])]), "c")["max_tokens"]
        == 4096
    )


def test_untranslatable_openai_options_are_refused() -> None:
    msgs = [{"role": "user", "content": "q"}]
    with pytest.raises(GatewayError) as ei:
        build_body(_openai({"messages": msgs, "n": 2}), "c")
    assert ei.value.param == "n"
    with pytest.raises(GatewayError) as ei:
        build_body(_openai({"messages": msgs, "response_format": {"type": "json_object"}}), "c")
    assert ei.value.param == "response_format"
    # OpenAI-only knobs never reach the Messages body
    out = build_body(_openai({"messages": msgs, "presence_penalty": 0.5, "logprobs": True}), "c")
    assert "presence_penalty" not in out
    assert "logprobs" not in out


def test_documents_and_tool_result_blocks() -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
             "title": "t.pdf", "cache_control": {"type": "ephemeral"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": True, "content": [
            {"type": "text", "text": "bad"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iV"}}]}]},
    ]}  # fmt: skip
    assert orjson.loads(orjson.dumps(build_body(parse_request(body), "m"))) == body


def test_events_from_non_stream_have_part_end_for_every_start() -> None:
    obj = json.loads((ANT / "messages-parallel-tool-use.json").read_text("utf-8"))
    events = message_events(obj, "m")
    starts = [e.index for e in events if isinstance(e, PartStart)]
    ends = [e.index for e in events if isinstance(e, PartEnd)]
    assert starts == ends == list(range(5))
    assert any(isinstance(e, UsageEvent) for e in events)
    assert not any(isinstance(e, PartDelta) for e in events)


def _provider(**kw: Any) -> AnthropicProvider:
    cfg = ProviderConfig(name="a", type="anthropic", **kw)
    return AnthropicProvider(cfg, Upstream(Timeouts()))


def test_headers_urls_and_options() -> None:
    acct = Account(id="a#0", provider="a", api_key="sk-secret")
    p = _provider(headers={"anthropic-beta": "b1", "Anthropic-Version": "2024-01-01"})
    assert p.url == "https://api.anthropic.com/v1/messages"
    h = p.headers(acct, stream=True, beta="b2")
    assert h["x-api-key"] == "sk-secret"
    assert h["anthropic-version"] == "2024-01-01"
    assert h["anthropic-beta"] == "b1,b2"
    assert h["accept"] == "text/event-stream"
    vendor = _provider(base_url="https://vendor.test/anthropic/v1", auth_header="bearer",
                       options={"default_max_tokens": 1234})  # fmt: skip
    assert vendor.url == "https://vendor.test/anthropic/v1/messages"
    assert vendor.default_max_tokens == 1234
    hv = vendor.headers(acct, stream=False)
    assert hv["authorization"] == "Bearer sk-secret"
    assert "x-api-key" not in hv
    assert "anthropic-beta" not in hv
    with pytest.raises(ValueError, match="default_max_tokens"):
        _provider(options={"default_max_tokens": "lots"})


# ------------------------------------------------------------------------------------- server tools

# The shape of Anthropic's documented web-search stream (server_tool_use with streamed input, a
# web_search_tool_result block, text citing it), cut down; ids and the encrypted content are made up.
WEB_SEARCH_SSE = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_01G","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2679,"output_tokens":3}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check the weather."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_014h","name":"web_search","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"query"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\": \\"weather NYC today\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014h","content":[{"type":"web_search_result","title":"Weather in New York City","url":"https://example.com/nyc","encrypted_content":"Ev0DCioIAxgC","page_age":null}]}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: content_block_start
data: {"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","cited_text":"Sunny, 75F","url":"https://example.com/nyc","title":"Weather in New York City","encrypted_index":"Eo8BCioI"}}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"It is sunny, 75F."}}

event: content_block_stop
data: {"type":"content_block_stop","index":3}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":510,"server_tool_use":{"web_search_requests":1}}}

event: message_stop
data: {"type":"message_stop"}

"""


def _frames_parsed(body: bytes, cut: int) -> list[Event]:
    from any2api.sse import SSEDecoder

    p = MessageStreamParser("claude")
    d = SSEDecoder()
    out: list[Event] = []
    for chunk in (body[:cut], body[cut:]):
        for fr in d.feed(chunk):
            out += p.feed_frame(fr)
    for fr in d.close():
        out += p.feed_frame(fr)
    return out + p.close()


@pytest.mark.parametrize("cut", [0, 700, 1500, len(WEB_SEARCH_SSE)])
def test_server_tool_blocks_stream_into_whole_server_tool_parts(cut: int) -> None:
    from any2api.core.parts import ServerToolCallPart, ServerToolResultPart

    events = _frames_parsed(WEB_SEARCH_SSE, cut)
    resp = accumulate(events)
    call, result = resp.parts[1], resp.parts[2]
    assert isinstance(call, ServerToolCallPart)
    assert isinstance(result, ServerToolResultPart)
    assert (call.id, call.name, call.wire) == ("srvtoolu_014h", "web_search", "anthropic_messages")
    assert call.data == {"type": "server_tool_use", "id": "srvtoolu_014h", "name": "web_search",
                         "input": {"query": "weather NYC today"}}  # fmt: skip
    assert result.tool_call_id == "srvtoolu_014h"
    assert result.wire == "anthropic_messages"
    assert result.data["type"] == "web_search_tool_result"
    assert result.data["content"][0]["url"] == "https://example.com/nyc"
    assert [p.kind for p in resp.parts] == ["text", "server_tool_call", "server_tool_result", "text"]
    assert resp.text() == "I'll check the weather.It is sunny, 75F."
    assert resp.parts[3].provider_details == {"anthropic": {"citations": [
        {"type": "web_search_result_location", "cited_text": "Sunny, 75F", "url": "https://example.com/nyc",
         "title": "Weather in New York City", "encrypted_index": "Eo8BCioI"}]}}  # fmt: skip
    assert resp.finish_reason == "stop"
    # whole parts: no deltas; every part started and ended once, in order
    idx = [e.index for e in events if isinstance(e, PartStart)]
    assert idx == [0, 1, 2, 3]
    assert [e.index for e in events if isinstance(e, PartEnd)] == idx
    assert not any(isinstance(e, PartDelta) and e.index in (1, 2) for e in events)


def test_server_tool_blocks_of_a_whole_message_and_back_into_a_request() -> None:
    from any2api.core.parts import ServerToolCallPart, ServerToolResultPart

    call_block = {
        "type": "server_tool_use",
        "id": "srvtoolu_1",
        "name": "web_search",
        "input": {"query": "q"},
    }
    result_block = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                    "content": [{"type": "web_search_result", "url": "https://example.com", "title": "t",
                                 "encrypted_content": "E"}]}  # fmt: skip
    mcp_call = {
        "type": "mcp_tool_use",
        "id": "mcptoolu_1",
        "name": "echo",
        "server_name": "s",
        "input": {"m": 1},
    }
    mcp_result = {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "is_error": False,
                  "content": [{"type": "text", "text": "1"}]}  # fmt: skip
    obj = {"id": "msg_1", "model": "c", "content": [call_block, result_block, mcp_call, mcp_result,
           {"type": "text", "text": "done"}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2}}  # fmt: skip
    resp = accumulate(message_events(obj, "c"))
    assert [type(p) for p in resp.parts[:4]] == [ServerToolCallPart, ServerToolResultPart] * 2
    assert [p.data for p in resp.parts[:4]] == [call_block, result_block, mcp_call, mcp_result]  # type: ignore[union-attr]
    assert resp.parts[2].name == "echo"  # type: ignore[union-attr]
    # the next turn carries them back to Anthropic exactly as they came
    req = ChatRequest(model="c", messages=[Message("user", [TextPart("q")]), Message("assistant", resp.parts),
                                           Message("user", [TextPart("more")])])  # fmt: skip
    body = build_body(req, "c")
    assert body["messages"][1]["content"] == [call_block, result_block, mcp_call, mcp_result,
                                              {"type": "text", "text": "done"}]  # fmt: skip
    # an OpenAI client gets the answer without them
    msg = json.loads(render_response(resp, ChatRequest(model="c", messages=[])))["choices"][0]["message"]
    assert msg["content"] == "done"


def test_server_tool_input_that_is_not_json_is_an_upstream_error() -> None:
    p = MessageStreamParser("c")
    p.feed({"type": "message_start", "message": {"id": "msg_1"}})
    p.feed({"type": "content_block_start", "index": 0,
            "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}})  # fmt: skip
    p.feed(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "{"},
        }
    )
    with pytest.raises(GatewayError, match="not JSON"):
        p.feed({"type": "content_block_stop", "index": 0})
