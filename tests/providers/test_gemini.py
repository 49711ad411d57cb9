"""The Gemini upstream: hub -> ``generateContent`` bodies, recorded Gemini responses (JSON, SSE, JSON
array, Vertex's streamed ``partialArgs``) -> hub events, checked against an independent reading of the same
recordings; thought signatures sealed into tool call ids and restored; schema conversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from any2api.config import ProviderConfig, Timeouts
from any2api.core.accumulator import accumulate
from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Event, Finish, PartStart, UsageEvent
from any2api.core.parts import ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from any2api.core.seal import Sealer
from any2api.providers.gemini import GeminiProvider, GeminiStreamParser, build_body, response_events
from any2api.upstream import Upstream
from any2api.wire.gemini import (
    CALL_ID_PREFIX,
    from_gemini_schema,
    seal_call_id,
    to_gemini_schema,
    unseal_call_id,
    usage_from_wire,
    usage_to_wire,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "google"
SEALER = Sealer(b"k" * 32)


def chunks(name: str) -> list[dict[str, Any]]:
    """The response objects of a recording, read independently of the code under test."""
    text = (FIX / name).read_text(encoding="utf-8")
    if name.endswith(".sse"):
        return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    if name.endswith(".chunks.txt"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    obj = json.loads(text)
    return obj if isinstance(obj, list) else [obj]


def parse(objs: list[dict[str, Any]], *, sealed: bool = False) -> list[Event]:
    p = GeminiStreamParser("m", seal_scope="gem" if sealed else None, sealer=SEALER if sealed else None)
    out: list[Event] = []
    for o in objs:
        out += p.feed(o)
    return out + p.close()


def expected(objs: list[dict[str, Any]]) -> dict[str, Any]:
    text, thought, calls, sigs = "", "", [], []
    finish = None
    for o in objs:
        for c in o.get("candidates", []):
            for part in c.get("content", {}).get("parts", []):
                if "thoughtSignature" in part:
                    sigs.append(part["thoughtSignature"])
                if (
                    "functionCall" in part
                    and part["functionCall"].get("name")
                    and not part["functionCall"].get("willContinue")
                ):
                    calls.append((part["functionCall"]["name"], part["functionCall"].get("args", {})))
                elif "text" in part:
                    if part.get("thought"):
                        thought += part["text"]
                    else:
                        text += part["text"]
            finish = c.get("finishReason", finish)
    return {"text": text, "thought": thought, "calls": calls, "sigs": sigs, "finish": finish,
            "usage": objs[-1].get("usageMetadata")}  # fmt: skip


RECORDINGS = sorted(
    p.name for p in FIX.iterdir() if not p.name.startswith("error") and not p.name.startswith("vertex")
)


@pytest.mark.parametrize("name", RECORDINGS)
def test_recordings_fold_to_what_they_say(name: str) -> None:
    objs = chunks(name)
    exp = expected(objs)
    resp = accumulate(parse(objs))
    assert resp.text() == exp["text"]
    assert "".join(p.text for p in resp.parts if isinstance(p, ReasoningPart)) == exp["thought"]
    calls = [(p.name, json.loads(p.arguments)) for p in resp.parts if isinstance(p, ToolCallPart)]
    assert calls == exp["calls"]
    got_sigs = [p.provider_details["gemini"]["thoughtSignature"] for p in resp.parts
                if p.provider_details and p.provider_details.get("gemini", {}).get("thoughtSignature")]  # fmt: skip
    assert got_sigs == exp["sigs"]
    if exp["finish"] == "SAFETY":
        assert resp.finish_reason == "content_filter"
    elif exp["finish"] == "MAX_TOKENS":
        assert resp.finish_reason == "length"
    else:
        assert resp.finish_reason == ("tool_calls" if calls else "stop")
    u = exp["usage"]
    assert resp.usage is not None
    assert resp.usage.input_tokens == u["promptTokenCount"]
    assert resp.usage.output_tokens == u.get("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
    assert resp.usage.reasoning_tokens == u.get("thoughtsTokenCount")
    assert usage_to_wire(resp.usage)["totalTokenCount"] == u["totalTokenCount"]


def test_vertex_partial_args_assemble_parallel_calls() -> None:
    objs = chunks("vertex-streamGenerateContent-partialArgs-parallel-calls.vercel.chunks.txt")
    resp = accumulate(parse(objs))
    calls = [(p.name, json.loads(p.arguments)) for p in resp.parts if isinstance(p, ToolCallPart)]
    assert calls == [("read_theme", {}), ("read_screen", {"id": "A"}), ("read_screen", {"id": "B"}),
                     ("read_screen", {"id": "C"})]  # fmt: skip
    assert resp.finish_reason == "tool_calls"
    assert [bool(p.provider_details["gemini"].get("thoughtSignature")) for p in resp.parts
            if isinstance(p, ToolCallPart)] == [True, False, False, False]  # fmt: skip
    assert isinstance(resp.parts[0], ReasoningPart)


def test_safety_finish_is_a_content_filter_stop_never_empty_success() -> None:
    resp = accumulate(response_events(chunks("generateContent-finish-safety.json")[0], "m", seal_scope=None,
                                      sealer=None))  # fmt: skip
    assert resp.finish_reason == "content_filter"
    assert resp.parts == []


def test_prompt_block_is_a_content_filter_stop() -> None:
    obj = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 5}}
    resp = accumulate(response_events(obj, "m", seal_scope=None, sealer=None))
    assert resp.finish_reason == "content_filter"


def test_malformed_function_call_finish_is_an_error_finish() -> None:
    obj = {"candidates": [{"content": {}, "finishReason": "MALFORMED_FUNCTION_CALL"}]}
    assert accumulate(response_events(obj, "m", seal_scope=None, sealer=None)).finish_reason == "error"


def test_error_inside_stream_is_an_error_event() -> None:
    events = parse([{"candidates": [{"content": {"parts": [{"text": "a"}]}}]}])[:-1]
    p = GeminiStreamParser("m", seal_scope=None, sealer=None)
    p.feed({"candidates": [{"content": {"parts": [{"text": "a"}]}}]})
    out = p.feed({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    assert isinstance(out[-1], ErrorEvent)
    assert out[-1].error.kind == "overloaded"
    assert events


def test_stream_cut_without_finish_reason_is_an_error() -> None:
    p = GeminiStreamParser("m", seal_scope=None, sealer=None)
    p.feed({"candidates": [{"content": {"parts": [{"text": "a"}]}}]})
    assert isinstance(p.close(complete=False)[-1], ErrorEvent)


def test_signature_sealed_into_call_id_for_other_clients_and_restored() -> None:
    objs = chunks("streamGenerateContent-sse-function-call-thoughtSignature.sse")
    sig = objs[0]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    resp = accumulate(parse(objs, sealed=True))
    call = next(p for p in resp.parts if isinstance(p, ToolCallPart))
    assert call.id.startswith(CALL_ID_PREFIX)
    assert all(c.isalnum() or c in "_-" for c in call.id)
    assert unseal_call_id(SEALER, "gem", call.id) == (sig, None)
    assert unseal_call_id(SEALER, "other-provider", call.id) == (None, None)
    assert unseal_call_id(Sealer(b"x" * 32), "gem", call.id) == (None, None)
    # the client (OpenAI style) sends back only the id: the body carries the signature again
    req = ChatRequest("m", [
        Message("user", [TextPart("hi")]),
        Message("assistant", [ToolCallPart(call.id, call.name, call.arguments)]),
        Message("tool", [ToolResultPart(call.id, "42")]),
    ])  # fmt: skip
    body = build_body(req, "gemini-3-pro-preview", scope="gem", sealer=SEALER)
    model_turn = body["contents"][1]
    assert model_turn == {"role": "model", "parts": [{"functionCall": {"name": "get_country", "args": {}},
                                                      "thoughtSignature": sig}]}  # fmt: skip
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_country", "response": {"result": "42"}}}]}  # fmt: skip


def test_tampered_or_foreign_call_id_sends_no_signature() -> None:
    cid = seal_call_id(SEALER, "gem", "SIG", "g1")
    bad = cid[:-4] + ("AAAA" if not cid.endswith("AAAA") else "BBBB")
    for tid in (bad, seal_call_id(SEALER, "other", "SIG", None), "call_abc"):
        req = ChatRequest("m", [Message("user", [TextPart("hi")]),
                                Message("assistant", [ToolCallPart(tid, "f", "{}")]),
                                Message("tool", [ToolResultPart(tid, "x")])])  # fmt: skip
        part = build_body(req, "m", scope="gem", sealer=SEALER)["contents"][1]["parts"][0]
        assert "thoughtSignature" not in part
        assert "id" not in part["functionCall"]
    req = ChatRequest("m", [Message("user", [TextPart("hi")]),
                            Message("assistant", [ToolCallPart(cid, "f", "{}")]),
                            Message("tool", [ToolResultPart(cid, "x")])])  # fmt: skip
    body = build_body(req, "m", scope="gem", sealer=SEALER)
    assert body["contents"][1]["parts"][0] == {"functionCall": {"name": "f", "args": {}, "id": "g1"},
                                               "thoughtSignature": "SIG"}  # fmt: skip
    assert body["contents"][2]["parts"][0]["functionResponse"]["id"] == "g1"


def test_unsigned_calls_skip_option() -> None:
    req = ChatRequest("m", [Message("user", [TextPart("hi")]),
                            Message("assistant", [ToolCallPart("c1", "f", "{}"), ToolCallPart("c2", "g", "{}")]),
                            Message("tool", [ToolResultPart("c1", "x")]), Message("tool", [ToolResultPart("c2", "y")])])  # fmt: skip
    parts = build_body(req, "m", scope="gem", sealer=SEALER, unsigned="skip_thought_signature_validator")[
        "contents"
    ][1]["parts"]
    assert parts[0]["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in parts[1]


def test_body_shape() -> None:
    req = ChatRequest(
        "m",
        [
            Message("system", [TextPart("be brief")]),
            Message("user", [TextPart("hi")]),
            Message("assistant", [ReasoningPart("hmm"), TextPart("hello")]),
            Message("user", [TextPart("weather in Paris?")]),
        ],
        max_tokens=100, temperature=0.5, top_p=0.9, top_k=20, stop=["END"], seed=7,
        tools=[ToolDef("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),
               ToolDef("ping", None, {"type": "object", "properties": {}})],
        tool_choice=ToolChoice("tool", name="get_weather"),
        reasoning=ReasoningConfig(enabled=True, budget_tokens=2048),
    )  # fmt: skip
    body = build_body(req, "gemini-2.5-flash", scope="gem", sealer=SEALER)
    assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "weather in Paris?"}]},
    ]
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"name": "ping"}]}]  # fmt: skip
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert body["generationConfig"] == {
        "temperature": 0.5, "topP": 0.9, "topK": 20, "maxOutputTokens": 100, "seed": 7, "stopSequences": ["END"],
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("model", "effort", "expected"),
    [
        ("gemini-3-pro-preview", "high", {"includeThoughts": True, "thinkingLevel": "high"}),
        ("gemini-3-flash-preview", "minimal", {"includeThoughts": True, "thinkingLevel": "minimal"}),
        ("gemini-3-pro-preview", "none", {"thinkingLevel": "low"}),
        ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
        ("gemini-2.5-flash", "low", {"includeThoughts": True, "thinkingBudget": 1024}),
    ],
)
def test_reasoning_effort(model: str, effort: str, expected: dict[str, Any]) -> None:
    req = ChatRequest("m", [Message("user", [TextPart("hi")])],
                      reasoning=ReasoningConfig(enabled=effort != "none", effort=effort))  # fmt: skip
    assert build_body(req, model, scope="g", sealer=SEALER)["generationConfig"]["thinkingConfig"] == expected


def test_response_format_json_schema() -> None:
    req = ChatRequest("m", [Message("user", [TextPart("hi")])], origin="openai_chat",
                      response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}})  # fmt: skip
    gc = build_body(req, "m", scope="g", sealer=SEALER)["generationConfig"]
    assert gc == {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}}


def test_schema_conversion_handles_what_other_vendors_take() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]},
                  "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "properties": {
            "city": {"type": "string", "format": "uri", "minLength": 1},
            "when": {"type": "string", "format": "date-time"},
            "unit": {"$ref": "#/$defs/Unit"},
            "maybe": {"type": ["integer", "null"], "exclusiveMinimum": 0},
            "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "opt": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "kind": {"const": "fixed"},
            "level": {"enum": [1, 2, 3]},
            "tree": {"$ref": "#/$defs/Node"},
            "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                               {"properties": {"b": {"type": "integer"}}}]},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        "required": ["city", "missing"],
    }  # fmt: skip
    out = to_gemini_schema(schema)
    assert out["required"] == ["city"]
    p = out["properties"]
    assert p["city"] == {"type": "string", "minLength": 1}
    assert p["when"] == {"type": "string", "format": "date-time"}
    assert p["unit"] == {"type": "string", "enum": ["c", "f"]}
    assert p["maybe"] == {"type": "integer", "minimum": 0, "nullable": True}
    assert p["either"] == {"anyOf": [{"type": "string"}, {"type": "number"}]}
    assert p["opt"] == {"type": "string", "nullable": True}
    assert p["kind"] == {"type": "string", "enum": ["fixed"]}
    assert p["level"] == {"type": "integer", "description": "One of: 1, 2, 3"}
    assert p["tree"] == {"type": "object", "properties": {"child": {"type": "object"}}}
    assert p["both"] == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                         "required": ["a"]}  # fmt: skip
    assert p["tags"] == {"type": "array", "items": {"type": "string"}}
    blob = json.dumps(out)
    for bad in (
        "$schema",
        "$ref",
        "$defs",
        "additionalProperties",
        "oneOf",
        "const",
        "uniqueItems",
        "exclusive",
    ):
        assert bad not in blob


def test_gemini_schema_back_to_json_schema() -> None:
    g = {"type": "OBJECT", "properties": {"a": {"type": "STRING", "nullable": True, "format": "enum",
                                                "enum": ["x"]}}, "required": ["a"], "propertyOrdering": ["a"]}  # fmt: skip
    assert from_gemini_schema(g) == {"type": "object", "properties": {"a": {"type": ["string", "null"],
                                                                           "enum": ["x"]}}, "required": ["a"]}  # fmt: skip


def test_usage_round_trip() -> None:
    u = {"promptTokenCount": 29, "candidatesTokenCount": 15, "thoughtsTokenCount": 893, "totalTokenCount": 937,
         "cachedContentTokenCount": 4, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 29}]}  # fmt: skip
    hub = usage_from_wire(u)
    assert (hub.input_tokens, hub.output_tokens, hub.reasoning_tokens, hub.cache_read_tokens) == (
        29,
        908,
        893,
        4,
    )
    assert usage_to_wire(hub) == u


def _provider(**options: Any) -> GeminiProvider:
    cfg = ProviderConfig(name="gem", type="gemini", base_url="", options=options)
    return GeminiProvider(cfg, Upstream(Timeouts()))


def test_provider_urls_and_options() -> None:
    from any2api.providers.base import Account

    acct = Account("a", "gem", "KEY")
    p = _provider()
    assert p.url("gemini-2.5-flash", "streamGenerateContent", acct, sse=True) == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert p.headers(acct, False)["x-goog-api-key"] == "KEY"
    v = _provider(vertex=True)
    assert v.url("gemini-2.5-flash", "generateContent", acct) == (
        "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    )
    with pytest.raises(ValueError, match="tool_schema"):
        _provider(tool_schema="nope")
    cfg = ProviderConfig(name="g2", type="gemini", base_url="http://h/v1", auth_header="query")
    q = GeminiProvider(cfg, Upstream(Timeouts()))
    assert q.url("m", "generateContent", acct) == "http://h/v1/models/m:generateContent?key=KEY"
    assert "x-goog-api-key" not in q.headers(acct, False)


def test_config_accepts_gemini_type() -> None:
    from any2api.config import parse_config

    cfg = parse_config(
        "providers:\n  - name: g\n    type: gemini\n    api_key: k\n    models: [gemini-2.5-flash]\n"
    )
    assert cfg.providers[0].type == "gemini"


@pytest.mark.parametrize(("options", "key", "line", "needle"), [
    ("      api_version: 3\n", "api_version", 6, "API version"),
    ("      vertex: maybe\n", "vertex", 6, "true or false"),
    ("      tool_schema: openapi\n", "tool_schema", 6, "convert, json_schema"),
    ("      unsigned_calls: drop\n", "unsigned_calls", 6, "omit, skip"),
    ("      colour: red\n", "colour", 6, "unknown option"),
])  # fmt: skip
def test_options_are_validated_with_key_and_line(options: str, key: str, line: int, needle: str) -> None:
    from any2api.config import ConfigError, parse_config

    text = "providers:\n  - name: g\n    type: gemini\n    api_key: k\n    options:\n" + options
    with pytest.raises(ConfigError) as e:
        parse_config(text)
    assert (e.value.path, e.value.line) == (f"providers[0].options.{key}", line)
    assert needle in str(e.value)
    ok = parse_config(
        text.replace(options, "      {vertex: true, tool_schema: json_schema, unsigned_calls: skip}\n")
    )
    assert ok.providers[0].options["vertex"] is True


def test_function_call_without_name_is_an_upstream_error() -> None:
    p = GeminiStreamParser("m", seal_scope=None, sealer=None)
    with pytest.raises(GatewayError):
        p.feed({"candidates": [{"content": {"parts": [{"functionCall": {"args": {"a": 1}}}]}}]})


def test_first_event_is_response_start_with_upstream_ids() -> None:
    objs = chunks("generateContent-function-call.vercel.json")
    events = parse(objs)
    assert events[0].id == "m36LaZGyCLz1xs0PtNSB-QU"  # type: ignore[union-attr]
    assert events[0].model == "gemini-3-pro-preview"  # type: ignore[union-attr]
    assert isinstance(events[-1], Finish)
    assert any(isinstance(e, UsageEvent) for e in events)
    assert sum(isinstance(e, PartStart) for e in events) == 1
