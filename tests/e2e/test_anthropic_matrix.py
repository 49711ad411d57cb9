"""The translation matrix of issue 3, end to end: the real gateway on loopback, the official ``anthropic``
and ``openai`` SDKs as clients, the simulator speaking each upstream's wire format.

Client dialects {Anthropic Messages, OpenAI Chat} x upstreams {OpenAI-compatible, DeepSeek, Anthropic
(pass-through and translated)} x {plain text, streamed text, one tool call, parallel tool calls,
multi-turn with tool results and errors, reasoning, image input, max_tokens stop, stop sequence,
upstream 429 / 500 / mid-stream drop}. "Without loss" is checked: tool argument JSON byte for byte
after assembly, signatures, usage, contiguous block indices, mapped stop reasons."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import openai
import pytest

from any2api.core.seal import default_sealer
from tests.rawhttp import request
from tests.sim import Drop, Parallel, Reasoning, Script, Text, ToolCall, Usage, anthropic_error, openai_error
from tests.sim.answer import made_up_signature
from tests.sim.fold import anthropic_events, fold_anthropic, fold_openai_chat

KEY = "sk-test-client"

CONFIG = """
server: {{host: 127.0.0.1, port: 0, heartbeat_seconds: 0.3, timeouts: {{connect: 2, first_byte: 2, idle: 2}}}}
database_url: "sqlite+aiosqlite:///{db}"
auth:
  keys: [{key}]
providers:
  - name: oai
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-oai]
    models: [sim-gpt]
  - name: ds
    type: deepseek
    base_url: {sim}
    api_keys: [sk-ds]
  - name: ant
    type: anthropic
    base_url: {sim}
    api_keys: [sk-ant]
    models: [sim-claude]
  - name: antx
    type: anthropic
    base_url: {sim}
    api_keys: [sk-ant]
    models: [sim-claude]
    passthrough: false
models:
  claude-sonnet-4-20250514: [ds/deepseek-chat]
  claude-sonnet-4-20250514-slow: [ds/deepseek-reasoner]
"""

MODELS = {"oai": "oai/sim-gpt", "ds": "ds/deepseek-chat", "ant": "ant/sim-claude", "antx": "antx/sim-claude"}
ANTHROPIC_UPSTREAMS = ("ant", "antx")
# A tiny real PNG (1x1) for image input.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "0000050001e226059b0000000049454e44ae426082"
    )
).decode()

ARGS_A = '{"city": "Paris", "unit": "c", "note": "naïve \\"quoted\\""}'
ARGS_B = '{"query":"a,b","n":3}'


def make_gateway(start_gateway, sim, tmp_path):
    """The gateway of these tests: every upstream kind pointed at the simulator, a store of its own."""
    return start_gateway(CONFIG.format(key=KEY, sim=sim.url, db=tmp_path / "any2api.db"))


@pytest.fixture
def gw(start_gateway, sim, tmp_path):
    return make_gateway(start_gateway, sim, tmp_path)


def ant_client(gw) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=KEY, max_retries=0)


def oai_client(gw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0)


# ------------------------------------------------------------------------------------- collecting


def ant_from_message(m: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"text": "", "thinking": "", "signatures": [], "tools": [], "blocks": []}
    for b in m.content:
        out["blocks"].append(b.type)
        if b.type == "text":
            out["text"] += b.text
        elif b.type == "thinking":
            out["thinking"] += b.thinking
            out["signatures"].append(b.signature)
        elif b.type == "tool_use":
            out["tools"].append({"id": b.id, "name": b.name, "args": json.dumps(b.input), "input": b.input})
    out["stop"] = m.stop_reason
    out["stop_sequence"] = m.stop_sequence
    out["usage"] = (m.usage.input_tokens, m.usage.output_tokens)
    out["id"] = m.id
    return out


def ant_from_stream(events: Any) -> dict[str, Any]:
    """Assemble a raw event stream, checking Anthropic's index discipline on the way."""
    f = fold_anthropic(events, strict=True)
    assert f.start_usage is not None
    assert f.usage is not None
    return {
        "text": f.text,
        "thinking": f.reasoning,
        "signatures": f.signatures,
        "tools": [{"id": t.id, "name": t.name, "args": t.arguments, "input": t.input} for t in f.tool_calls],
        "blocks": f.block_types,
        "id": f.id,
        "stop": f.finish,
        "stop_sequence": f.stop_sequence,
        "usage": (f.usage["input_tokens"], f.usage["output_tokens"]),
        "start_input": f.start_usage["input_tokens"],
    }


def oai_from_message(r: Any) -> dict[str, Any]:
    m = r.choices[0].message
    extra = m.model_extra or {}
    return {
        "text": m.content or "",
        "thinking": extra.get("reasoning_content") or "",
        "signatures": [
            d.get("signature")
            for d in extra.get("reasoning_details") or []
            if d.get("type") == "reasoning.text"
        ],
        "tools": [
            {
                "id": t.id,
                "name": t.function.name,
                "args": t.function.arguments,
                "input": json.loads(t.function.arguments),
            }
            for t in m.tool_calls or []
        ],
        "stop": r.choices[0].finish_reason,
        "usage": (r.usage.prompt_tokens, r.usage.completion_tokens) if r.usage else None,
    }


def oai_from_stream(stream: Any) -> dict[str, Any]:
    f = fold_openai_chat(stream, strict=True)
    u = f.usage
    return {
        "text": f.text,
        "thinking": f.reasoning,
        "signatures": f.signatures,
        "tools": [
            {"id": t.id, "name": t.name, "args": t.arguments, "input": json.loads(t.arguments)}
            for t in f.tool_calls
        ],
        "stop": f.finish,
        "usage": (u["prompt_tokens"], u["completion_tokens"]) if u else None,
    }


def run_anthropic(gw, provider: str, stream: bool, **kw: Any) -> dict[str, Any]:
    c = ant_client(gw)
    kw.setdefault("max_tokens", 1000)
    kw.setdefault("messages", [{"role": "user", "content": "hi"}])
    if stream:
        return ant_from_stream(c.messages.create(model=MODELS[provider], stream=True, **kw))
    return ant_from_message(c.messages.create(model=MODELS[provider], **kw))


def run_openai(gw, provider: str, stream: bool, **kw: Any) -> dict[str, Any]:
    c = oai_client(gw)
    kw.setdefault("messages", [{"role": "user", "content": "hi"}])
    if stream:
        return oai_from_stream(c.chat.completions.create(model=MODELS[provider], stream=True,
                                                         stream_options={"include_usage": True}, **kw))  # fmt: skip
    return oai_from_message(c.chat.completions.create(model=MODELS[provider], **kw))


STOP_TO_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "refusal": "content_filter"}  # fmt: skip


def run(gw, client: str, provider: str, stream: bool, **kw: Any) -> dict[str, Any]:
    """One request; the result in a common shape, with ``finish`` in the hub's vocabulary."""
    if client == "anthropic":
        kw.pop("openai", None)
        out = run_anthropic(gw, provider, stream, **kw.pop("anthropic", {}), **kw)
        out["finish"] = STOP_TO_FINISH[out["stop"]]
    else:
        kw.pop("anthropic", None)
        out = run_openai(gw, provider, stream, **kw.pop("openai", {}), **kw)
        out["finish"] = out["stop"]
    return out


CLIENTS = ("anthropic", "openai")
UPSTREAMS = ("oai", "ds", "ant", "antx")
MATRIX = [(c, u, s) for c in CLIENTS for u in UPSTREAMS for s in (False, True)]
IDS = [f"{c}-{u}-{'stream' if s else 'json'}" for c, u, s in MATRIX]


# ------------------------------------------------------------------------------------------- matrix


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_text(gw, sim, client, provider, stream):
    sim.enqueue(Script([Text("Hello there, world!", split=4)], usage=Usage(11, 5)))
    out = run(gw, client, provider, stream)
    assert out["text"] == "Hello there, world!"
    assert out["finish"] == "stop"
    assert out["tools"] == []
    assert out["thinking"] == ""
    assert out["usage"] == (11, 5)
    assert sim.last.json["model"] == MODELS[provider].split("/")[1]
    if client == "anthropic" and stream:
        assert out["start_input"] > 0, "message_start must carry input usage"
        assert out["blocks"] == ["text"]


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_one_tool_call_after_text(gw, sim, client, provider, stream):
    sim.enqueue(
        Script([Text("Checking."), ToolCall("get_weather", ARGS_A, id="call_a", split=5)], usage=Usage(20, 9))
    )
    tools_ant = [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}]
    tools_oai = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    out = run(gw, client, provider, stream, anthropic={"tools": tools_ant}, openai={"tools": tools_oai})
    assert out["text"] == "Checking."
    assert out["finish"] == "tool_calls"
    [call] = out["tools"]
    assert (call["id"], call["name"]) == ("call_a", "get_weather")
    assert call["input"] == json.loads(ARGS_A)
    if stream:
        assert call["args"] == ARGS_A, "tool argument JSON must survive byte for byte"
    sent = sim.last.json
    if provider in ANTHROPIC_UPSTREAMS:
        assert sent["tools"][0]["name"] == "get_weather"
        assert sent["tools"][0]["input_schema"] == {"type": "object"}
    else:
        assert sent["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_parallel_tool_calls(gw, sim, client, provider, stream):
    calls = [
        ToolCall("get_weather", ARGS_A, id="call_a", split=4),
        ToolCall("search", ARGS_B, id="call_b", split=3),
    ]
    sim.enqueue(
        Script([Parallel(calls, interleave=provider not in ANTHROPIC_UPSTREAMS)], usage=Usage(30, 14))
    )
    out = run(gw, client, provider, stream)
    assert out["finish"] == "tool_calls"
    assert [(t["id"], t["name"]) for t in out["tools"]] == [("call_a", "get_weather"), ("call_b", "search")]
    assert [t["input"] for t in out["tools"]] == [json.loads(ARGS_A), json.loads(ARGS_B)]
    if stream:
        assert [t["args"] for t in out["tools"]] == [ARGS_A, ARGS_B]
    assert out["usage"] == (30, 14)


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_reasoning(gw, sim, client, provider, stream):
    sim.enqueue(Script([Reasoning("Let me think about it.", split=5), Text("Answer: 42", split=3)],
                       usage=Usage(7, 12, reasoning_tokens=6)))  # fmt: skip
    out = run(gw, client, provider, stream, anthropic={"thinking": {"type": "enabled", "budget_tokens": 1024},
                                                       "max_tokens": 4000})  # fmt: skip
    assert out["thinking"] == "Let me think about it."
    assert out["text"] == "Answer: 42"
    if provider in ANTHROPIC_UPSTREAMS:
        assert out["signatures"] == [made_up_signature("Let me think about it.")], "signature kept exactly"
    elif (
        client == "anthropic"
    ):  # a thinking block always has a signature: the gateway's seal of the reasoning
        assert [default_sealer().unseal(provider, sig) for sig in out["signatures"]] == [
            {"t": "Let me think about it."}
        ], "no signature but the gateway's own seal"
    else:
        assert out["signatures"] in ([], [None]), "no signature may be invented"
    if client == "anthropic":
        assert out["blocks"] == ["thinking", "text"]
        if provider in ANTHROPIC_UPSTREAMS:
            assert sim.last.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_max_tokens_stop(gw, sim, client, provider, stream):
    sim.enqueue(Script([Text("truncated answ", split=5)], finish="length", usage=Usage(3, 4)))
    out = run(gw, client, provider, stream, anthropic={"max_tokens": 4}, openai={"max_tokens": 4})
    assert out["text"] == "truncated answ"
    assert out["finish"] == "length"
    if client == "anthropic":
        assert out["stop"] == "max_tokens"
    sent = sim.last.json
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 4


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_stop_sequence(gw, sim, client, provider, stream):
    sim.enqueue(Script([Text("Count: 1, 2")], finish="stop_sequence", stop_sequence="###"))
    out = run(gw, client, provider, stream, anthropic={"stop_sequences": ["###"]}, openai={"stop": ["###"]})
    assert out["text"] == "Count: 1, 2"
    assert out["finish"] == "stop"
    sent = sim.last.json
    if provider in ANTHROPIC_UPSTREAMS:
        assert sent["stop_sequences"] == ["###"]
        if client == "anthropic":
            assert (out["stop"], out["stop_sequence"]) == ("stop_sequence", "###")
    else:
        assert sent["stop"] == ["###"]
        if client == "anthropic":  # OpenAI upstreams do not say which sequence matched
            assert (out["stop"], out["stop_sequence"]) == ("end_turn", None)


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_image_input(gw, sim, client, provider, stream):
    sim.enqueue(Script.text("a red pixel"))
    ant_msgs = [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]  # fmt: skip
    oai_msgs = [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]  # fmt: skip
    out = run(gw, client, provider, stream, anthropic={"messages": ant_msgs}, openai={"messages": oai_msgs})
    assert out["text"] == "a red pixel"
    content = sim.last.json["messages"][0]["content"]
    if provider in ANTHROPIC_UPSTREAMS:
        assert content[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
        }
    else:
        assert content[1]["image_url"]["url"] == f"data:image/png;base64,{PNG}"


ANT_HISTORY = [
    {"role": "user", "content": "weather in Paris and Oslo?"},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": json.loads(ARGS_A)},
        {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Oslo"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_a", "content": "18C sunny"},
        {"type": "tool_result", "tool_use_id": "call_b", "content": [{"type": "text", "text": "city not found"}],
         "is_error": True},
        {"type": "text", "text": "and?"}]},
]  # fmt: skip
OAI_HISTORY = [
    {"role": "user", "content": "weather in Paris and Oslo?"},
    {"role": "assistant", "content": "Checking both.", "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ARGS_A}},
        {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "18C sunny"},
    {"role": "tool", "tool_call_id": "call_b", "content": "error: city not found"},
    {"role": "user", "content": "and?"},
]  # fmt: skip


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_multi_turn_with_tool_results_and_errors(gw, sim, client, provider, stream):
    sim.enqueue(Script.text("Paris is sunny; Oslo was not found."))
    tools_ant = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    tools_oai = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    out = run(gw, client, provider, stream, anthropic={"messages": ANT_HISTORY, "tools": tools_ant},
              openai={"messages": OAI_HISTORY, "tools": tools_oai})  # fmt: skip
    assert out["text"] == "Paris is sunny; Oslo was not found."
    sent = sim.last.json["messages"]
    if provider in ANTHROPIC_UPSTREAMS:
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        uses = [b for b in sent[1]["content"] if b["type"] == "tool_use"]
        assert [u["id"] for u in uses] == ["call_a", "call_b"]
        assert uses[0]["input"] == json.loads(ARGS_A)
        results = [b for b in sent[2]["content"] if b["type"] == "tool_result"]
        assert [r["tool_use_id"] for r in results] == ["call_a", "call_b"]
        assert sent[2]["content"][0]["type"] == "tool_result", "tool results must open the user turn"
        assert sent[2]["content"][-1] == {"type": "text", "text": "and?"}
        if client == "anthropic":
            assert results[1]["is_error"] is True
    else:
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "user"]
        calls = sent[1]["tool_calls"]
        assert [c["id"] for c in calls] == ["call_a", "call_b"]
        assert json.loads(calls[0]["function"]["arguments"]) == json.loads(ARGS_A)
        assert [m["tool_call_id"] for m in sent[2:4]] == ["call_a", "call_b"]
        assert sent[2]["content"] == "18C sunny"
        assert "not found" in sent[3]["content"]
    if client == "openai" and provider in ANTHROPIC_UPSTREAMS:
        assert sim.last.json["messages"][1]["content"][1]["input"] == json.loads(ARGS_A)


# --------------------------------------------------------------------------------------- failures


def _fail(provider: str, status: int, message: str) -> Script:
    if provider in ANTHROPIC_UPSTREAMS:
        etype = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[status]
        return anthropic_error(
            status, etype, message, headers={"retry-after": "3"} if status == 429 else None
        )
    return openai_error(status, message, "server_error" if status >= 500 else "requests",
                        headers={"Retry-After": "3"} if status == 429 else None)  # fmt: skip


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_upstream_429(gw, sim, client, provider, stream):
    sim.enqueue(*[_fail(provider, 429, "Rate limit reached for requests") for _ in range(3)])
    if client == "anthropic":
        with pytest.raises(anthropic.RateLimitError) as ei:
            run(gw, client, provider, stream)
        assert ei.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert "Rate limit reached" in ei.value.body["error"]["message"]  # type: ignore[index]
    else:
        with pytest.raises(openai.RateLimitError) as ei2:
            run(gw, client, provider, stream)
        assert "Rate limit reached" in ei2.value.message
    r = ei.value.response if client == "anthropic" else ei2.value.response
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"


@pytest.mark.parametrize(("client", "provider", "stream"), MATRIX, ids=IDS)
def test_upstream_500(gw, sim, client, provider, stream):
    sim.enqueue(*[_fail(provider, 500, "The server had an error") for _ in range(3)])
    exc = anthropic.APIStatusError if client == "anthropic" else openai.APIStatusError
    with pytest.raises(exc) as ei:
        run(gw, client, provider, stream)
    assert ei.value.status_code == 502
    if client == "anthropic":
        assert ei.value.body["error"]["type"] == "api_error"  # type: ignore[union-attr]
    assert "server had an error" in str(ei.value)


@pytest.mark.parametrize(("client", "provider"), [(c, u) for c in CLIENTS for u in UPSTREAMS])
def test_mid_stream_drop_ends_with_an_error_event(gw, sim, client, provider):
    sim.enqueue(Script([Text("partial ", split=4), Drop()]))
    if client == "anthropic":
        r = request("POST", gw.url + "/v1/messages", {"model": MODELS[provider], "max_tokens": 10, "stream": True,
                    "messages": [{"role": "user", "content": "x"}]}, {"x-api-key": KEY})  # fmt: skip
        events = anthropic_events(r.body)
        assert events[-1][0] == "error"
        assert events[-1][1]["error"]["type"] == "api_error"
        assert fold_anthropic(events).text == "partial "
        sim.enqueue(Script([Text("partial ", split=4), Drop()]))
        with pytest.raises(anthropic.APIError):
            run(gw, client, provider, True)
    else:
        sim.enqueue(Script([Text("partial ", split=4), Drop()]))
        with pytest.raises(openai.APIError):
            run(gw, client, provider, True)


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_529_is_overloaded_for_anthropic_clients(gw, sim, stream):
    for provider in ANTHROPIC_UPSTREAMS:
        sim.enqueue(*[_fail(provider, 529, "Overloaded") for _ in range(3)])
        with pytest.raises(anthropic.APIStatusError) as ei:
            run(gw, "anthropic", provider, stream)
        assert ei.value.status_code == 529
        assert ei.value.body["error"]["type"] == "overloaded_error"
        sim.enqueue(*[_fail(provider, 529, "Overloaded") for _ in range(3)])
        with pytest.raises(openai.APIStatusError) as ei2:
            run(gw, "openai", provider, stream)
        assert ei2.value.status_code == 503


# ----------------------------------------------------------------------------------- round trips


def test_signature_round_trips_through_an_openai_client(gw, sim):
    """Claude's thinking reaches an OpenAI client with its signature, and goes back to Claude intact."""
    sig = made_up_signature("plan the call")
    sim.enqueue(Script([Reasoning("plan the call", split=4), ToolCall("f", '{"x": 1}', id="toolu_1")]))
    c = oai_client(gw)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    r = c.chat.completions.create(model=MODELS["ant"], messages=[{"role": "user", "content": "go"}], tools=tools,
                                  reasoning_effort="low", max_tokens=3000)  # fmt: skip
    msg = r.choices[0].message.model_dump(exclude_none=True)
    assert msg["reasoning_details"][0]["signature"] == sig
    sim.enqueue(Script.text("done"))
    history = [
        {"role": "user", "content": "go"},
        msg,
        {"role": "tool", "tool_call_id": "toolu_1", "content": "1"},
    ]
    c.chat.completions.create(model=MODELS["ant"], messages=history, tools=tools, reasoning_effort="low",
                              max_tokens=3000)  # fmt: skip
    assistant = sim.last.json["messages"][1]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "plan the call", "signature": sig}
    assert assistant["content"][1]["type"] == "tool_use"
    assert assistant["content"][1]["input"] == {"x": 1}


def test_signature_round_trips_through_an_anthropic_client_translated(gw, sim):
    sig = made_up_signature("hmm")
    sim.enqueue(Script([Reasoning("hmm"), Text("ok")]))
    c = ant_client(gw)
    kw: dict[str, Any] = {
        "model": MODELS["antx"],
        "max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    first = c.messages.create(messages=[{"role": "user", "content": "q"}], **kw)
    assert first.content[0].signature == sig  # type: ignore[union-attr]
    sim.enqueue(Script.text("again"))
    c.messages.create(messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": first.content},
                                {"role": "user", "content": "more"}], **kw)  # fmt: skip
    assert sim.last.json["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "hmm",
        "signature": sig,
    }


def test_sdk_stream_helper_assembles_the_message(gw, sim):
    sim.enqueue(Script([Reasoning("think", split=2), Text("Hello", split=2), ToolCall("f", ARGS_B, id="call_z")],
                       usage=Usage(9, 8)))  # fmt: skip
    with ant_client(gw).messages.stream(model=MODELS["ds"], max_tokens=100,
                                        messages=[{"role": "user", "content": "x"}]) as s:  # fmt: skip
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[2].input == json.loads(ARGS_B)  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens == 9
    assert final.usage.output_tokens == 8
