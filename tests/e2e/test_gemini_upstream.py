"""Gemini models behind the OpenAI and Anthropic clients: the real gateway on loopback, the official SDKs,
the simulator speaking Gemini (and enforcing Gemini 3's thought signatures on every follow-up turn).

Multi-turn tool use with thinking: the signature Gemini issued travels to the client inside the tool call
id (sealed), comes back with the next turn and reaches Gemini again; an altered id restores nothing and
Gemini 3 refuses the turn, as the real API does."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from tests.rawhttp import request
from tests.sim import Parallel, Reasoning, Script, Text, ToolCall, Usage

KEY = "sk-test-client"
MODELS = ("gemini-3-flash-preview", "gemini-2.5-flash", "gemini-3-pro-preview")
CONFIG = """
server: {{host: 127.0.0.1, port: 0, heartbeat_seconds: 0.3, timeouts: {{connect: 2, first_byte: 3, idle: 3}}}}
auth:
  keys: [{key}]
providers:
  - name: gem
    type: gemini
    base_url: {sim}
    api_keys: [gk-1]
    models: [gemini-3-flash-preview, gemini-2.5-flash, gemini-3-pro-preview]
  - name: gemx
    type: gemini
    base_url: {sim}
    api_keys: [gk-2]
    models: [gemini-3-flash-preview]
    options: {{tool_schema: json_schema}}
"""
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "additionalProperties": False,
                "properties": {"city": {"type": "string", "format": "hostname"},
                               "unit": {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]}},
                "required": ["city"],
            },
        },
    }
]  # fmt: skip
ANT_TOOLS = [
    {"name": "get_weather", "description": "Weather", "input_schema": TOOLS[0]["function"]["parameters"]}
]


@pytest.fixture
def gw(start_gateway, sim, monkeypatch):
    monkeypatch.setattr(sim, "models", list(MODELS))  # the session's simulator: restored after
    return start_gateway(CONFIG.format(key=KEY, sim=sim.url))


def oai(gw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0)


def ant(gw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=KEY, max_retries=0)


def collect_openai_stream(stream: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"text": "", "reasoning": "", "calls": {}, "finish": None, "usage": None}
    for ch in stream:
        if ch.usage is not None:
            out["usage"] = ch.usage
        if not ch.choices:
            continue
        d = ch.choices[0].delta
        out["text"] += d.content or ""
        out["reasoning"] += getattr(d, "reasoning_content", None) or ""
        for tc in d.tool_calls or ():
            c = out["calls"].setdefault(tc.index, {"id": "", "name": "", "args": ""})
            c["id"] = tc.id or c["id"]
            c["name"] = (tc.function.name if tc.function else None) or c["name"]
            c["args"] += (tc.function.arguments if tc.function else None) or ""
        if ch.choices[0].finish_reason:
            out["finish"] = ch.choices[0].finish_reason
    return out


def gemini_turns(sim: Any) -> list[dict[str, Any]]:
    return [r.json for r in sim.chat_requests]


@pytest.mark.parametrize("stream", [False, True])
def test_openai_client_multi_turn_tools_and_thinking_on_gemini_3(gw, sim, stream: bool) -> None:
    c = oai(gw)
    sim.enqueue(
        Script([Reasoning("Need the weather first.", split=6), ToolCall("get_weather", '{"city":"Paris"}')]),
        Script([Reasoning("Now the second city."), ToolCall("get_weather", '{"city":"Rome"}')]),
        Script([Reasoning("Both known."), Text("Paris sunny, Rome rainy.", split=5)]),
    )
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    for step in range(3):
        kw = {
            "model": "gemini-3-flash-preview",
            "messages": messages,
            "tools": TOOLS,
            "reasoning_effort": "high",
        }
        if stream:
            got = collect_openai_stream(c.chat.completions.create(stream=True, stream_options={"include_usage": True},
                                                                  **kw))  # fmt: skip
            calls = [got["calls"][i] for i in sorted(got["calls"])]
            text, reasoning, finish = got["text"], got["reasoning"], got["finish"]
        else:
            r = c.chat.completions.create(**kw)
            m = r.choices[0].message
            calls = [
                {"id": t.id, "name": t.function.name, "args": t.function.arguments}
                for t in m.tool_calls or ()
            ]
            text, reasoning, finish = (
                m.content or "",
                getattr(m, "reasoning_content", ""),
                r.choices[0].finish_reason,
            )
        assert reasoning
        if step < 2:
            assert finish == "tool_calls"
            assert len(calls) == 1
            assert calls[0]["id"].startswith("call_a2s1_")
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": calls[0]["id"], "type": "function",
                 "function": {"name": calls[0]["name"], "arguments": calls[0]["args"]}}]})  # fmt: skip
            messages.append({"role": "tool", "tool_call_id": calls[0]["id"], "content": f"result {step}"})
        else:
            assert finish == "stop"
            assert text == "Paris sunny, Rome rainy."
    bodies = gemini_turns(sim)
    assert len(bodies) == 3
    last = bodies[-1]["contents"]
    calls = [p for c2 in last for p in c2["parts"] if "functionCall" in p]
    assert len(calls) == 2
    assert all(p["thoughtSignature"] for p in calls)
    responses = [p["functionResponse"] for c2 in last for p in c2["parts"] if "functionResponse" in p]
    assert responses == [{"name": "get_weather", "response": {"result": "result 0"}},
                         {"name": "get_weather", "response": {"result": "result 1"}}]  # fmt: skip
    decl = bodies[0]["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in json.dumps(decl)
    assert decl["parameters"]["required"] == ["city"]
    assert bodies[0]["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingLevel": "high",
    }


def test_openai_client_parallel_calls_keep_first_signature(gw, sim) -> None:
    c = oai(gw)
    sim.enqueue(
        Script(
            [Parallel([ToolCall("get_weather", '{"city":"A"}'), ToolCall("get_weather", '{"city":"B"}')])]
        ),
        Script([Text("done")]),
    )
    msgs: list[Any] = [{"role": "user", "content": "two cities"}]
    r = c.chat.completions.create(model="gemini-3-pro-preview", messages=msgs, tools=TOOLS)
    tcs = r.choices[0].message.tool_calls
    assert tcs is not None
    assert len(tcs) == 2
    assert tcs[0].id.startswith("call_a2s1_")
    assert not tcs[1].id.startswith("call_a2s1_")
    msgs.append(r.choices[0].message.model_dump(exclude_none=True))
    msgs += [{"role": "tool", "tool_call_id": t.id, "content": t.function.arguments} for t in tcs]
    r2 = c.chat.completions.create(model="gemini-3-pro-preview", messages=msgs, tools=TOOLS)
    assert r2.choices[0].message.content == "done"
    model_turn = sim.last.json["contents"][1]
    assert [bool(p.get("thoughtSignature")) for p in model_turn["parts"]] == [True, False]
    assert len(sim.last.json["contents"][2]["parts"]) == 2


def test_altered_call_id_restores_nothing_and_gemini_3_refuses(gw, sim) -> None:
    c = oai(gw)
    sim.enqueue(Script([ToolCall("get_weather", '{"city":"Paris"}')]))
    msgs: list[Any] = [{"role": "user", "content": "weather"}]
    r = c.chat.completions.create(model="gemini-3-flash-preview", messages=msgs, tools=TOOLS)
    tc = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    bad = tc.id[:-6] + ("AAAAAA" if not tc.id.endswith("AAAAAA") else "BBBBBB")
    msgs.append({"role": "assistant", "tool_calls": [{"id": bad, "type": "function",
                                                      "function": {"name": tc.function.name, "arguments": "{}"}}]})  # fmt: skip
    msgs.append({"role": "tool", "tool_call_id": bad, "content": "x"})
    with pytest.raises(openai.BadRequestError) as ei:
        c.chat.completions.create(model="gemini-3-flash-preview", messages=msgs, tools=TOOLS)
    assert "thought_signature" in str(ei.value)
    assert "thoughtSignature" not in sim.last.json["contents"][1]["parts"][0]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_client_multi_turn_tools_and_thinking_on_gemini_3(gw, sim, stream: bool) -> None:
    c = ant(gw)
    sim.enqueue(
        Script([Reasoning("Let me look it up."), ToolCall("get_weather", '{"city":"Paris"}')]),
        Script([Reasoning("And Rome."), Text("Thinking done, "), ToolCall("get_weather", '{"city":"Rome"}')]),
        Script([Reasoning("Done."), Text("Both sunny.")]),
    )
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and Rome?"}]
    for step in range(3):
        kw: dict[str, Any] = {"model": "gemini-3-flash-preview", "max_tokens": 4096, "messages": messages,
                              "tools": ANT_TOOLS, "thinking": {"type": "enabled", "budget_tokens": 2048}}  # fmt: skip
        if stream:
            with c.messages.stream(**kw) as s:
                msg = s.get_final_message()
        else:
            msg = c.messages.create(**kw)
        kinds = [b.type for b in msg.content]
        assert kinds[0] == "thinking"
        if step < 2:
            assert msg.stop_reason == "tool_use"
            tu = [b for b in msg.content if b.type == "tool_use"]
            assert len(tu) == 1
            assert tu[0].id.startswith("call_a2s1_")
            messages.append({"role": "assistant", "content": msg.content})
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tu[0].id, "content": f"{tu[0].input['city']}: sunny"}]})  # fmt: skip
        else:
            assert msg.stop_reason == "end_turn"
            assert "".join(b.text for b in msg.content if b.type == "text") == "Both sunny."
    last = sim.last.json
    calls = [p for c2 in last["contents"] for p in c2["parts"] if "functionCall" in p]
    assert [p["functionCall"]["args"]["city"] for p in calls] == ["Paris", "Rome"]
    assert all(p.get("thoughtSignature") for p in calls)
    assert last["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 2048}


def test_json_schema_mode_sends_parameters_json_schema(gw, sim) -> None:
    c = oai(gw)
    c.chat.completions.create(model="gemx/gemini-3-flash-preview", messages=[{"role": "user", "content": "x"}],
                              tools=TOOLS)  # fmt: skip
    decl = sim.last.json["tools"][0]["functionDeclarations"][0]
    assert decl["parametersJsonSchema"] == TOOLS[0]["function"]["parameters"]
    assert "parameters" not in decl


def test_safety_finish_is_content_filter_for_openai_and_refusal_for_anthropic(gw, sim) -> None:
    sim.enqueue(
        Script([], finish="SAFETY"), Script([], finish="SAFETY"), Script([Text("par")], finish="SAFETY")
    )
    r = oai(gw).chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].finish_reason == "content_filter"
    m = ant(gw).messages.create(
        model="gemini-2.5-flash", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert m.stop_reason == "refusal"
    got = collect_openai_stream(oai(gw).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], stream=True))  # fmt: skip
    assert got["finish"] == "content_filter"
    assert got["text"] == "par"


def test_recorded_vertex_partial_args_reach_openai_client_whole(gw, sim) -> None:
    sim.enqueue(
        Script.replay("google/vertex-streamGenerateContent-partialArgs-parallel-calls.vercel.chunks.txt")
    )
    got = collect_openai_stream(oai(gw).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True))  # fmt: skip
    calls = [got["calls"][i] for i in sorted(got["calls"])]
    assert [(c2["name"], json.loads(c2["args"])) for c2 in calls] == [
        ("read_theme", {}), ("read_screen", {"id": "A"}), ("read_screen", {"id": "B"}), ("read_screen", {"id": "C"})]  # fmt: skip
    assert got["finish"] == "tool_calls"
    assert got["reasoning"]


def test_usage_with_thoughts_and_cache_reaches_clients(gw, sim) -> None:
    sim.enqueue(Script([Text("hi")], usage=Usage(input_tokens=50, output_tokens=30, reasoning_tokens=20,
                                                 cache_read_tokens=10)))  # fmt: skip
    r = oai(gw).chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    u = r.usage
    assert u is not None
    assert (u.prompt_tokens, u.completion_tokens) == (50, 30)
    assert u.completion_tokens_details.reasoning_tokens == 20  # type: ignore[union-attr]
    assert u.prompt_tokens_details.cached_tokens == 10  # type: ignore[union-attr]


def test_upstream_errors_are_mapped(gw, sim) -> None:
    sim.enqueue(Script.fail(429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                                            "status": "RESOURCE_EXHAUSTED"}}))  # fmt: skip
    sim.enqueue(
        Script.fail(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    )
    sim.enqueue(
        Script.fail(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    )
    with pytest.raises(openai.RateLimitError):
        oai(gw).chat.completions.create(
            model="gem/gemini-2.5-flash", messages=[{"role": "user", "content": "x"}]
        )
    sim.keys = {"gk-1"}  # the second provider's key is not valid: Google's 400 API_KEY_INVALID
    rep = request("POST", gw.url + "/v1/chat/completions",
                  {"model": "gemx/gemini-3-flash-preview", "messages": [{"role": "user", "content": "x"}]},
                  headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert rep.status == 502
    assert b"API key not valid" in rep.body


def test_model_discovery_reads_googles_model_list(start_gateway, sim, monkeypatch) -> None:
    monkeypatch.setattr(sim, "models", ["gemini-9-discovered", "gemini-2.5-flash"])
    gw = start_gateway(f"""
auth: {{keys: [{KEY}]}}
providers:
  - name: disc
    type: gemini
    base_url: {sim.url}
    api_keys: [gk]
    discover_models: true
""")
    ids = {m.id for m in oai(gw).models.list()}
    assert {"gemini-9-discovered", "gemini-2.5-flash"} <= ids
    listing = next(r for r in sim.requests if r.method == "GET")
    assert listing.path == "/v1beta/models"
    assert listing.headers["x-goog-api-key"] == "gk"
    r = oai(gw).chat.completions.create(
        model="gemini-9-discovered", messages=[{"role": "user", "content": "x"}]
    )
    assert r.choices[0].message.content == "echo: x"
