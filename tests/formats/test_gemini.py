"""The Gemini client dialect: request parsing (camelCase and snake_case), response rendering, the stream
renderer in both of Google's framings, the pass-through usage sniffer, errors -- every answer validated
against Google's published schema."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import orjson
import pytest

from any2api.core.errors import GatewayError
from any2api.core.events import Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from any2api.core.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import ChatRequest
from any2api.core.response import ChatResponse, Usage
from any2api.formats.base import RequestContext
from any2api.formats.gemini import GEMINI
from any2api.formats.gemini.parse import parse_count_request, parse_request, refuse_without_gemini
from any2api.formats.gemini.render import response_json
from any2api.formats.gemini.sniff import GeminiUsageSniffer
from any2api.formats.gemini.stream import stream_renderer
from any2api.wire.gemini import error_json
from tests.e2e.gemini_schema import validate_error, validate_response, validate_stream_chunk

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


def body(**kw: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **kw}


def test_parse_full_request_camel_case() -> None:
    b = {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "look"}, {"inlineData": {"mimeType": "image/png", "data": PNG}},
                                       {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/y.pdf"}}]},
            {"role": "model", "parts": [{"text": "plan", "thought": True, "thoughtSignature": "T1"},
                                        {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "S1"},
                                        {"functionCall": {"name": "g", "args": {}, "id": "gid"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "one"}}},
                                       {"functionResponse": {"name": "g", "id": "gid", "response": {"x": 2}}}]},
        ],
        "tools": [{"functionDeclarations": [
            {"name": "f", "description": "F", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}},
            {"name": "g", "parametersJsonSchema": {"type": "object", "additionalProperties": False}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "topK": 5, "maxOutputTokens": 99, "stopSequences": ["X"],
                             "seed": 3, "responseMimeType": "application/json",
                             "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
                             "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
                             "presencePenalty": 0.5},
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
    }  # fmt: skip
    req = parse_request(b, "gemini-2.5-flash", True)
    assert req.origin == "gemini"
    assert req.stream
    assert req.model == "gemini-2.5-flash"
    sys_msg, user, model, results = req.messages
    assert sys_msg.role == "system"
    assert sys_msg.parts == [TextPart("be brief")]
    assert isinstance(user.parts[1], ImagePart)
    assert user.parts[1].data == PNG
    assert isinstance(user.parts[2], FilePart)
    assert user.parts[2].url == "https://x/y.pdf"
    thought, call_f, call_g = model.parts
    assert isinstance(thought, ReasoningPart)
    assert thought.provider_details == {"gemini": {"thoughtSignature": "T1"}}
    assert isinstance(call_f, ToolCallPart)
    assert call_f.arguments == '{"a":1}'
    assert call_f.provider_details == {"gemini": {"thoughtSignature": "S1", "id": None}}
    assert isinstance(call_g, ToolCallPart)
    assert call_g.id == "gid"
    rf, rg = results.parts
    assert isinstance(rf, ToolResultPart)
    assert rf.tool_call_id == call_f.id
    assert rf.content == "one"
    assert rf.name == "f"
    assert isinstance(rg, ToolResultPart)
    assert rg.tool_call_id == "gid"
    assert rg.content == '{"x":2}'
    assert req.tools is not None
    assert req.tools[0].parameters == {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
    }
    assert req.tools[1].parameters == {"type": "object", "additionalProperties": False}
    assert req.tool_choice is not None
    assert (req.tool_choice.mode, req.tool_choice.name) == ("tool", "f")
    assert (req.temperature, req.top_p, req.top_k, req.max_tokens, req.stop, req.seed) == (
        0.2,
        0.9,
        5,
        99,
        ["X"],
        3,
    )
    assert req.response_format == {"type": "json_schema", "json_schema": {"name": "response", "schema": {
        "type": "object", "properties": {"a": {"type": "string"}}}}}  # fmt: skip
    assert req.reasoning is not None
    assert (req.reasoning.enabled, req.reasoning.budget_tokens) == (True, 1024)
    assert req.extra_for("gemini")["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert req.extra_for("openai_chat") == {"presence_penalty": 0.5}


def test_parse_snake_case_as_google_accepts_and_sdks_send() -> None:
    b = {
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [{"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": PNG}}]},
                     {"role": "model", "parts": [{"function_call": {"name": "f", "args": {}}, "thought_signature": "S"}]},
                     {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"output": "o"}}}]}],
        "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object"}}]}],
        "tool_config": {"function_calling_config": {"mode": "NONE"}},
        "generation_config": {"max_output_tokens": 7, "thinking_config": {"thinking_budget": 0}},
    }  # fmt: skip
    req = parse_request(b, "m", False)
    assert req.messages[0].parts == [TextPart("sys")]
    assert isinstance(req.messages[1].parts[0], ImagePart)
    call = req.messages[2].parts[0]
    assert isinstance(call, ToolCallPart)
    assert call.provider_details == {"gemini": {"thoughtSignature": "S", "id": None}}
    res = req.messages[3].parts[0]
    assert isinstance(res, ToolResultPart)
    assert res.content == "o"
    assert res.tool_call_id == call.id
    assert req.tools is not None
    assert req.tools[0].parameters == {"type": "object"}
    assert req.tool_choice is not None
    assert req.tool_choice.mode == "none"
    assert req.max_tokens == 7
    assert req.reasoning is not None
    assert req.reasoning.enabled is False


@pytest.mark.parametrize(
    ("b", "field"),
    [
        ({}, "contents"),
        ({"contents": []}, "contents"),
        ({"contents": [{"role": "bot", "parts": [{"text": "x"}]}]}, "contents[0].role"),
        (body(tools=[{"googleSearch": {}}]), "tools[0].googleSearch"),
        (
            {"contents": [{"role": "user", "parts": [{"functionCall": {"name": "f"}}]}]},
            "contents[0].parts[0]",
        ),
    ],
)
def test_parse_errors_name_the_field(b: dict[str, Any], field: str) -> None:
    with pytest.raises(GatewayError) as e:
        parse_request(b, "m", False)
    assert e.value.kind == "invalid_request"
    assert e.value.param == field
    validate_error(error_json(e.value))


def test_gemini_only_features_are_refused_without_a_gemini_upstream() -> None:
    assert refuse_without_gemini(body()) is None
    err = refuse_without_gemini(body(cachedContent="cachedContents/x"))
    assert err is not None
    assert err.param == "cachedContent"
    err = refuse_without_gemini(body(generationConfig={"candidateCount": 2}))
    assert err is not None
    assert err.param == "generationConfig.candidateCount"


def test_count_tokens_body_forms() -> None:
    assert parse_count_request(body(), "m").messages[0].parts == [TextPart("hi")]
    req = parse_count_request(
        {"generateContentRequest": body(systemInstruction={"parts": [{"text": "s"}]})}, "m"
    )
    assert req.messages[0].role == "system"


def _resp(parts: list[Any], **kw: Any) -> ChatResponse:
    return ChatResponse(id="r1", model="m", created=1, parts=parts, **kw)


def test_render_response_with_calls_signatures_and_usage() -> None:
    req = ChatRequest("m", [])
    resp = _resp(
        [ReasoningPart("think", provider_details={"gemini": {"thoughtSignature": "T"}}),
         TextPart("hello", provider_details={"gemini": {"thoughtSignature": "S0"}}),
         ToolCallPart("call_x", "f", '{"a": 1}'),
         ToolCallPart("hub-id", "g", "", provider_details={"gemini": {"id": None, "thoughtSignature": "S1"}})],
        finish_reason="tool_calls",
        usage=Usage(10, 7, reasoning_tokens=3, cache_read_tokens=2),
    )  # fmt: skip
    out = response_json(resp, req, thoughts=False)
    validate_response(out)
    assert out["candidates"][0]["content"]["parts"] == [
        {"text": "hello", "thoughtSignature": "S0"},
        {"functionCall": {"name": "f", "args": {"a": 1}, "id": "call_x"}},
        {"functionCall": {"name": "g", "args": {}}, "thoughtSignature": "S1"},
    ]
    assert out["candidates"][0]["finishReason"] == "STOP"
    assert out["usageMetadata"] == {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 3,
                                    "cachedContentTokenCount": 2, "totalTokenCount": 17}  # fmt: skip
    with_thoughts = response_json(resp, req, thoughts=True)["candidates"][0]["content"]["parts"][0]
    assert with_thoughts == {"text": "think", "thought": True, "thoughtSignature": "T"}


@pytest.mark.parametrize(("reason", "wire"), [("stop", "STOP"), ("length", "MAX_TOKENS"),
                                              ("content_filter", "SAFETY"), ("error", "OTHER")])  # fmt: skip
def test_finish_reasons(reason: Any, wire: str) -> None:
    out = response_json(_resp([], finish_reason=reason), ChatRequest("m", []), False)
    validate_response(out)
    assert out["candidates"][0]["finishReason"] == wire


def test_foreign_reasoning_signature_round_trips_through_a_gemini_client() -> None:
    resp = _resp([ReasoningPart("t", signature="ANTHROPIC-SIG"), TextPart("x")], finish_reason="stop")
    part = response_json(resp, ChatRequest("m", []), thoughts=True)["candidates"][0]["content"]["parts"][0]
    sig = part["thoughtSignature"]
    base64.b64decode(sig, validate=True)  # clients hold it as bytes
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(sig)).decode()  # google-genai re-encodes it so
    for carried in (sig, urlsafe):
        b = {"contents": [{"role": "user", "parts": [{"text": "q"}]},
                          {"role": "model", "parts": [{"text": "t", "thought": True, "thoughtSignature": carried}]},
                          {"role": "user", "parts": [{"text": "q2"}]}]}  # fmt: skip
        r = parse_request(b, "m", False).messages[1].parts[0]
        assert isinstance(r, ReasoningPart)
        assert r.signature == "ANTHROPIC-SIG"
        assert not r.provider_details


def events_text() -> list[Event]:
    return [
        ResponseStart("rid", "gemini-x", 1),
        PartStart(0, ReasoningPart("th")),
        PartDelta(0, "ink"),
        PartEnd(0, {"gemini": {"thoughtSignature": "T"}}),
        PartStart(1, TextPart("Hel")),
        PartDelta(1, "lo"),
        PartEnd(1),
        PartStart(2, ToolCallPart("c1", "f", "")),
        PartDelta(2, '{"a"'),
        PartDelta(2, ":1}"),
        PartEnd(2, {"gemini": {"id": None, "thoughtSignature": "S"}}),
        UsageEvent(Usage(5, 6, reasoning_tokens=2)),
        Finish("tool_calls"),
    ]


def _render(sse: bool, thoughts: bool) -> bytes:
    r = stream_renderer(ChatRequest("m", []), sse=sse, thoughts=thoughts)
    return r.start() + b"".join(r.event(e) for e in events_text()) + r.end()


@pytest.mark.parametrize("thoughts", [False, True])
def test_sse_stream(thoughts: bool) -> None:
    raw = _render(True, thoughts)
    assert raw.endswith(b"\r\n\r\n")
    objs = [json.loads(line[6:]) for line in raw.split(b"\r\n") if line.startswith(b"data: ")]
    for o in objs:
        validate_stream_chunk(o)
        assert o["modelVersion"] == "gemini-x"
        assert o["responseId"] == "rid"
    parts = [p for o in objs for p in o["candidates"][0].get("content", {}).get("parts", [])]
    texts = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    assert texts == "Hello"
    assert [p for p in parts if "functionCall" in p] == [{"functionCall": {"name": "f", "args": {"a": 1}},
                                                          "thoughtSignature": "S"}]  # fmt: skip
    assert ("".join(p["text"] for p in parts if p.get("thought")) == "think") is thoughts
    assert objs[-1]["candidates"][0]["finishReason"] == "STOP"
    assert objs[-1]["usageMetadata"]["thoughtsTokenCount"] == 2
    assert "usageMetadata" not in objs[0]


def test_json_array_stream_is_one_array() -> None:
    raw = _render(False, True)
    assert raw.startswith(b"[{")
    assert raw.endswith(b"}]")
    assert b",\r\n{" in raw
    arr = json.loads(raw)
    for o in arr:
        validate_stream_chunk(o)
    assert arr[-1]["candidates"][0]["finishReason"] == "STOP"


def test_stream_errors_in_each_framing() -> None:
    err = GatewayError("overloaded", "busy")
    r = stream_renderer(ChatRequest("m", []), sse=False, thoughts=False)
    assert r.content_type.startswith(b"application/json")
    raw = (
        r.start() + r.event(ResponseStart("r", "m", 1)) + r.event(PartStart(0, TextPart("a"))) + r.error(err)
    )
    arr = json.loads(raw)
    assert arr[-1] == {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}
    validate_error(arr[-1])
    first = stream_renderer(ChatRequest("m", []), sse=False, thoughts=False)
    assert json.loads(first.start() + first.error(err))  # an error before any chunk: a one-element array
    # pass-through: the upstream opened the array and sent chunks (no start); the error is the next element
    upstream = b'[{"candidates": []}'
    tail = stream_renderer(ChatRequest("m", []), sse=False, thoughts=False).error(err)
    assert json.loads(upstream + tail)[-1]["error"]["status"] == "UNAVAILABLE"
    sse = stream_renderer(ChatRequest("m", []), sse=True, thoughts=False)
    assert sse.content_type.startswith(b"text/event-stream")
    assert sse.start() == b""
    line = sse.error(err)
    assert line.startswith(b"data: ")
    assert json.loads(line[6:])["error"]["status"] == "UNAVAILABLE"
    assert sse.heartbeat() == b"\r\n"  # a blank line: google clients read comment lines as JSON
    assert r.heartbeat() == b""


def test_usage_sniffer_sse_and_json_array_and_body() -> None:
    chunks = [{"candidates": [{"content": {"parts": [{"text": "a"}]}}], "usageMetadata": {"promptTokenCount": 3}},
              {"candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "thoughtsTokenCount": 4,
                                 "totalTokenCount": 9}}]  # fmt: skip
    sse = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)
    s = GeminiUsageSniffer(True, True)
    out = b"".join(s.feed(sse[i : i + 7]) for i in range(0, len(sse), 7)) + s.flush()
    assert out == sse
    u = s.usage()
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (3, 6, 4)
    arr = b"[" + b",\r\n".join(orjson.dumps(c) for c in chunks) + b"]"
    j = GeminiUsageSniffer(True, False)
    assert b"".join(j.feed(arr[i : i + 5]) for i in range(0, len(arr), 5)) == arr
    assert j.usage() is not None
    assert j.usage().output_tokens == 6
    cut = GeminiUsageSniffer(True, False)
    cut.feed(arr[: arr.index(b",\r\n")])
    assert cut.usage() is not None
    assert cut.usage().input_tokens == 3
    whole = GeminiUsageSniffer(False, False)
    whole.feed(orjson.dumps(chunks[1]))
    assert whole.usage() is not None
    assert whole.usage().total_tokens == 9


def ctx(path_params: dict[str, str], query: bytes = b"", headers: dict[str, str] | None = None,
        b: Any = None) -> RequestContext:  # fmt: skip
    return RequestContext("POST", "/v1beta/models/x", headers or {}, query, path_params,
                          orjson.dumps(body() if b is None else b))  # fmt: skip


def test_dialect_reads_model_stream_and_framing_from_the_url() -> None:
    c = ctx({"model": "models/gemini-2.5-flash", "action": "streamGenerateContent"})
    assert GEMINI.peek(c) == ("gemini-2.5-flash", True)
    assert GEMINI.parse_request(c).model == "gemini-2.5-flash"
    assert GEMINI.peek(ctx({"model": "m", "action": "generateContent"})) == ("m", False)
    with pytest.raises(GatewayError) as ei:
        GEMINI.peek(ctx({"model": "m", "action": "embedContent"}))
    assert ei.value.kind == "not_found"
    assert ei.value.code == "unknown_method"
    # the framing: a JSON array unless ?alt=sse (the SSE twin, built once)
    assert GEMINI.variant(ctx({}, b"")) is GEMINI
    sse = GEMINI.variant(ctx({}, b"alt=sse&key=k"))
    assert sse is not GEMINI
    assert sse is GEMINI.variant(ctx({}, b"alt=sse"))
    req = ChatRequest("m", [])
    assert sse.stream_renderer(req).content_type.startswith(b"text/event-stream")
    assert GEMINI.stream_renderer(req).content_type.startswith(b"application/json")
    assert isinstance(sse.usage_sniffer(True), GeminiUsageSniffer)
    assert sse.usage_sniffer(True).sse
    assert not GEMINI.usage_sniffer(True).sse  # type: ignore[union-attr]
    assert json.loads(GEMINI.render_error(GatewayError("not_found", "no such model"))) == {
        "error": {"code": 404, "message": "no such model", "status": "NOT_FOUND"}}  # fmt: skip


def test_dialect_credentials_in_every_place_google_takes_them() -> None:
    assert GEMINI.credentials(ctx({}, headers={"x-goog-api-key": "h", "authorization": "Bearer b"})) == "h"
    assert GEMINI.credentials(ctx({}, b"alt=sse&key=q", {"authorization": "Bearer b"})) == "q"
    assert GEMINI.credentials(ctx({}, headers={"authorization": "Bearer b"})) == "b"
    assert GEMINI.credentials(ctx({})) is None


def test_gemini_only_fields_are_refused_for_other_upstreams() -> None:
    c = ctx({"model": "m", "action": "generateContent"}, b=body(cachedContent="cachedContents/x"))
    asyncio.run(GEMINI.before_translation(c, frozenset({"gemini"})))  # a Gemini upstream takes it
    with pytest.raises(GatewayError) as ei:
        asyncio.run(GEMINI.before_translation(c, frozenset({"gemini", "openai"})))
    assert ei.value.param == "cachedContent"
    plain = ctx({"model": "m", "action": "generateContent"})
    asyncio.run(GEMINI.before_translation(plain, frozenset({"openai"})))
