"""The Responses client dialect without HTTP: parsing input items (the captured Codex requests included),
rendering responses and streams (checked against OpenAI's schemas), the pass-through usage sniffer."""

from __future__ import annotations

import json

import orjson
import pytest

from any2api.core.errors import GatewayError
from any2api.core.events import Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from any2api.core.parts import (
    FilePart,
    ImagePart,
    ReasoningPart,
    ServerToolCallPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from any2api.core.response import ChatResponse, Usage
from any2api.core.seal import default_sealer
from any2api.formats.openai_responses import DIALECT
from any2api.formats.openai_responses.parse import parse_request, restore_reasoning
from any2api.formats.openai_responses.stream import ResponsesStreamRenderer
from tests.e2e.responses_helpers import check_sequence, sse_events
from tests.schemas.responses_schema import check
from tests.sim.fixtures import FIXTURES_DIR

CODEX = FIXTURES_DIR / "requests" / "codex"


def parse(body: dict) -> object:
    return parse_request({"model": "m", **body})


def err(body: dict) -> GatewayError:
    with pytest.raises(GatewayError) as e:
        parse(body)
    return e.value


# ------------------------------------------------------------------------------------------ parsing


def test_string_input_and_instructions():
    req = parse({"input": "hi", "instructions": "sys"})
    assert [(m.role, m.parts[0].text) for m in req.messages] == [("system", "sys"), ("user", "hi")]
    assert req.origin == "openai_responses"
    assert req.extra_for("openai_responses")["instructions"] == "sys"


def test_items_become_turns():
    req = parse({"input": [
        {"role": "developer", "content": "rules"},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "high"},
            {"type": "input_file", "file_data": "data:text/plain;base64,aGk=", "filename": "a.txt"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
        {"type": "message", "role": "assistant", "id": "msg_1", "phase": "commentary",
         "content": [{"type": "output_text", "text": "Calling."}]},
        {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "PATCH"},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
    ]})  # fmt: skip
    roles = [m.role for m in req.messages]
    assert roles == ["developer", "user", "assistant", "tool", "tool", "assistant"]
    user = req.messages[1].parts
    assert isinstance(user[1], ImagePart)
    assert user[1].data == "AAAA"
    assert user[1].media_type == "image/png"
    assert isinstance(user[2], FilePart)
    assert user[2].data == "aGk="
    assert user[2].media_type == "text/plain"
    a = req.messages[2].parts
    assert isinstance(a[0], ReasoningPart)
    assert a[0].text == "hmm"
    assert isinstance(a[1], TextPart)
    assert a[1].provider_details == {"openai_responses": {"phase": "commentary"}}
    assert isinstance(a[2], ToolCallPart)
    assert (a[2].id, a[2].name, a[2].arguments) == ("c1", "f", "{}")
    assert isinstance(a[3], ToolCallPart)
    assert json.loads(a[3].arguments) == {"input": "PATCH"}
    assert a[3].provider_details["openai_responses"]["custom"] is True
    r1, r2 = req.messages[3].parts[0], req.messages[4].parts[0]
    assert isinstance(r1, ToolResultPart)
    assert r1.content == "one"
    assert r2.content == "two"
    assert isinstance(req.messages[5].parts[0], ServerToolCallPart)


def test_tools_custom_namespace_hosted_and_choice():
    req = parse({"input": "x", "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "G"}},
        {"type": "namespace", "name": "mcp__fs", "description": "fs", "tools": [{"type": "function", "name": "read"}]},
        {"type": "web_search"},
    ], "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": False})  # fmt: skip
    assert [t.name for t in req.tools] == ["f", "apply_patch", "mcp__fs__read"]
    assert req.tools[0].strict is True
    assert req.tools[1].parameters["required"] == ["input"]
    assert "G" in json.dumps(req.tools[1].parameters)
    assert req.tools[2].provider_details["openai_responses"]["namespace"] == "mcp__fs"
    extra = req.extra_for("openai_responses")
    assert extra["_hosted"] == ["web_search"]
    assert extra["_custom"] == ["apply_patch"]
    assert req.tool_choice.mode == "tool"
    assert req.tool_choice.name == "f"
    assert req.tool_choice.parallel is False


def test_options_map_to_the_hub():
    req = parse({"input": "x", "max_output_tokens": 64, "temperature": 0.2, "top_p": 0.9, "user": "u",
                 "metadata": {"k": "v"}, "reasoning": {"effort": "high", "summary": "auto"},
                 "text": {"format": {"type": "json_object"}}, "store": False, "truncation": "auto"})  # fmt: skip
    assert (req.max_tokens, req.temperature, req.top_p, req.user) == (64, 0.2, 0.9, "u")
    assert req.reasoning.effort == "high"
    assert req.reasoning.enabled is True
    assert req.response_format == {"type": "json_object"}
    assert req.extra_for("openai_responses")["store"] is False


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": 3}, "input"),
        ({"input": [3]}, "input[0]"),
        ({"input": [{"type": "nope"}]}, "input[0].type"),
        ({"input": [{"role": "user"}]}, "input[0].content"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call_output", "call_id": "x", "output": "y"}]}, "input[0].call_id"),
        ({"input": [{"id": "msg_1"}]}, "input[0]"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"input": "x", "include": "all"}, "include"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
         "input[0].content[0].file_id"),
    ],
)  # fmt: skip
def test_errors_name_the_field(body, param):
    e = err(body)
    assert e.status == 400
    assert e.param == param
    check("ErrorResponse", json.loads(DIALECT.render_error(e)))


def test_outputs_may_answer_calls_of_a_previous_response():
    req = parse({"input": [{"type": "function_call_output", "call_id": "x", "output": "y"}],
                 "previous_response_id": "resp_1"})  # fmt: skip
    assert req.messages[0].role == "tool"


@pytest.mark.parametrize(
    "name",
    ["cc-proxy-doc-codex_cli_rs-0.50.0.body.json", "ctxreach-codex_exec-0.159.2-win.body.reduced.json"],
)
def test_captured_codex_requests_parse(name):
    body = json.loads((CODEX / name).read_text())
    if "reduced" in name:  # the capture reduced instructions, developer items and tools to digests
        body["instructions"] = "instructions"
        for item in body["input"]:
            item["content"] = [
                c if "type" in c else {"type": "input_text", "text": c["kind"]} for c in item["content"]
            ]
        body["tools"] = [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
                         {"type": "web_search"}]  # fmt: skip
    req = parse_request(body)
    assert req.stream is True
    assert req.reasoning is not None
    extra = req.extra_for("openai_responses")
    assert extra["include"] == ["reasoning.encrypted_content"]
    assert extra["store"] is False
    if "0.50.0" in name:
        assert "apply_patch" in extra["_custom"]
        assert "shell" in [t.name for t in req.tools]
    else:
        assert extra["_hosted"] == ["web_search"]
        assert "client_metadata" in extra


# ------------------------------------------------------------------------------------------ rendering


def _events(rid="chatcmpl-1", provider="ds") -> list:
    return [
        ResponseStart(rid, "deepseek-reasoner", 1700000000, provider=provider),
        PartStart(0, ReasoningPart("I should ")), PartDelta(0, "call it."), PartEnd(0),
        PartStart(1, TextPart("")), PartDelta(1, "Calling"), PartDelta(1, " now."), PartEnd(1),
        PartStart(2, ToolCallPart("call_1", "get_weather", "")), PartDelta(2, '{"city":'), PartDelta(2, '"Oslo"}'),
        PartEnd(2),
        PartStart(3, ToolCallPart("call_2", "apply_patch", '{"input":')), PartDelta(3, '"P\\n"}'), PartEnd(3),
        UsageEvent(Usage(10, 20, reasoning_tokens=5, cache_read_tokens=2)),
        Finish("tool_calls"),
    ]  # fmt: skip


def _req(**kw):
    body = {"input": "x", "include": ["reasoning.encrypted_content"],
            "tools": [{"type": "function", "name": "get_weather"}, {"type": "custom", "name": "apply_patch"}], **kw}  # fmt: skip
    return parse(body)


def test_stream_renderer_emits_openai_event_order_and_validates():
    r = ResponsesStreamRenderer(_req())
    raw = b"".join(r.event(e) for e in _events()) + r.end()
    events = sse_events(raw)
    check_sequence(events)
    types = [e["type"] for e in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[3:6] == ["response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                          "response.reasoning_summary_text.delta"]  # fmt: skip
    assert "response.custom_tool_call_input.done" in types
    assert types[-1] == "response.completed"
    final = events[-1]["response"]
    assert [it["type"] for it in final["output"]] == [
        "reasoning",
        "message",
        "function_call",
        "custom_tool_call",
    ]
    assert final["output"][3]["input"] == "P\n"
    assert final["usage"] == {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
                              "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5},
                              "total_tokens": 30}  # fmt: skip
    sealed = final["output"][0]["encrypted_content"]
    assert default_sealer().unseal("ds", sealed) == {"t": "I should call it."}
    assert default_sealer().unseal("ant", sealed) is None


def test_non_streamed_equals_streamed_output():
    from any2api.core.accumulator import accumulate

    events = _events()
    resp: ChatResponse = accumulate(events)
    obj = json.loads(DIALECT.render_response(resp, _req()))
    check("Response", obj)
    r = ResponsesStreamRenderer(_req())
    final = sse_events(b"".join(r.event(e) for e in events))[-1]["response"]

    def strip(o):
        return [{k: v for k, v in it.items() if k not in ("id", "encrypted_content")} for it in o["output"]]

    assert strip(obj) == strip(final)
    assert obj["status"] == final["status"] == "completed"


def test_stream_error_mid_way_ends_failed_with_items_so_far():
    r = ResponsesStreamRenderer(_req())
    raw = r.event(ResponseStart("x", "m", 1)) + r.event(PartStart(0, TextPart("Hel")))
    raw += r.error(GatewayError("upstream", "Upstream stream ended", code="upstream_disconnected"))
    events = sse_events(raw)
    check_sequence(events)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    out = events[-1]["response"]["output"]
    assert out[0]["status"] == "incomplete"
    assert out[0]["content"][0]["text"] == "Hel"


def test_stream_without_finish_is_failed_not_silent():
    r = ResponsesStreamRenderer(_req())
    events = sse_events(r.event(ResponseStart("x", "m", 1)) + r.end())
    assert events[-1]["type"] == "response.failed"


def test_length_is_incomplete():
    r = ResponsesStreamRenderer(_req())
    raw = b"".join(
        r.event(e) for e in [ResponseStart("x", "m", 1), PartStart(0, TextPart("a")), Finish("length")]
    )
    events = sse_events(raw)
    check_sequence(events)
    final = events[-1]
    assert final["type"] == "response.incomplete"
    assert final["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["response"]["output"][0]["status"] == "incomplete"


def test_restore_reasoning_opens_only_for_its_provider():
    token = default_sealer().seal("ant", {"t": "thought", "s": "sig"})
    item = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thought"}],
            "encrypted_content": token}  # fmt: skip
    body = {"input": [item, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]}
    req = parse(body)
    restore_reasoning(req, "ant")
    p = req.messages[0].parts[0]
    assert (p.text, p.signature) == ("thought", "sig")
    assert "encrypted_content" not in p.provider_details["openai_responses"]
    req = parse(body)
    restore_reasoning(req, "ds")
    p = req.messages[0].parts[0]
    assert p.signature is None
    assert "encrypted_content" not in p.provider_details["openai_responses"]


# ------------------------------------------------------------------------------------------ sniffer


@pytest.mark.parametrize("size", [1, 7, 1000, 100000])
def test_sniffer_finds_usage_of_the_terminal_event_and_forwards_bytes(size):
    raw = (FIXTURES_DIR / "openai/responses-stream-reasoning-function-calls-usage.sse").read_bytes()
    s = DIALECT.usage_sniffer(True)
    out = b"".join(s.feed(raw[i : i + size]) for i in range(0, len(raw), size)) + s.flush()
    assert out == raw
    u = s.usage()
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens, u.cache_read_tokens) == (53, 469, 448, 0)


def test_sniffer_non_streamed():
    raw = (FIXTURES_DIR / "openai/responses-reasoning-function-call.vercel.json").read_bytes()
    s = DIALECT.usage_sniffer(False)
    assert s.feed(raw) == raw
    assert s.usage().output_tokens == 163


def test_fixture_stream_events_are_the_shapes_the_renderer_uses():
    """Field by field: our events carry every field OpenAI's recorded stream carries (and the ones the
    current reference requires on top: logprobs, name)."""
    recorded = {}
    for line in (FIXTURES_DIR / "openai/responses-stream-text.sse").read_text().splitlines():
        if line.startswith("data:"):
            o = json.loads(line[5:])
            recorded.setdefault(o["type"], set(o))
    r = ResponsesStreamRenderer(parse({"input": "x"}))
    ours = {}
    for e in sse_events(b"".join(r.event(ev) for ev in [ResponseStart("x", "m", 1), PartStart(0, TextPart("a")),
                                                         PartDelta(0, "b"), PartEnd(0), Finish("stop")])):  # fmt: skip
        ours.setdefault(e["type"], set(e))
    for t, fields in recorded.items():
        missing = (
            fields - ours[t] - {"usage", "user"}
            if t.startswith("response.c") or t.startswith("response.in")
            else fields - ours[t]
        )
        assert not missing, (t, missing)


def test_render_error_shape():
    body = orjson.loads(
        DIALECT.render_error(GatewayError("rate_limit", "slow down", code="rate_limit_exceeded"))
    )
    assert body == {"error": {"message": "slow down", "type": "rate_limit_error", "param": None,
                              "code": "rate_limit_exceeded"}}  # fmt: skip


def test_response_store_bounds_owner_and_expiry():
    from any2api.formats.openai_responses.state import ResponseStore, Stored

    def entry(owner: str, text: str) -> Stored:
        item = {
            "id": f"msg_{text[:3]}",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        return Stored(owner, {"id": "r", "output": []}, [item], [item], 0.0)

    s = ResponseStore(max_responses=2, max_bytes=10_000)
    s.put("r1", entry("a", "one"))
    s.put("r2", entry("a", "two"))
    assert s.get("r1", "a") is not None
    assert s.get("r1", "b") is None
    assert s.item("msg_one", "a") is not None
    s.put("r3", entry("a", "three"))
    assert s.get("r1", "a") is None
    assert s.item("msg_one", "a") is None
    s.put("big", entry("a", "x" * 9_000))
    assert s.get("r2", "a") is None
    assert s.get("big", "a") is not None
    s.put("huge", entry("a", "y" * 20_000))
    assert s.get("huge", "a") is None  # larger than the store: not kept
    assert not s.delete("big", "b")
    assert s.delete("big", "a")
    assert s.size == s.get("r3", "a").size
    s.retention = -1
    s.put("old", entry("a", "old"))
    assert s.get("old", "a") is None
