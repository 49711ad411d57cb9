"""Every answer, stream event and error of the two chat dialects validates against the vendor's official
schema (vendored in ``tests/schemas``), and echoes the model name the client asked for.

The scenarios are those of ``test_anthropic_matrix`` / ``test_openai_upstream`` (text, one tool call after
text, parallel tool calls, reasoning, max tokens, stop sequence, upstream 429 / 500, a mid-stream drop), for
both SDK dialects over every upstream kind, streamed and not, read as raw bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from any2api.core.seal import is_sealed
from tests.e2e.test_anthropic_matrix import ARGS_A, ARGS_B, KEY, MODELS, make_gateway
from tests.rawhttp import Reply, request
from tests.schemas.validate import (
    check_anthropic,
    check_anthropic_sse,
    check_openai,
    check_openai_sse,
)
from tests.sim import Drop, Parallel, Reasoning, Script, Text, ToolCall, Usage, anthropic_error, openai_error
from tests.sim.fold import anthropic_events, fold_anthropic

PASSTHROUGH = {("anthropic", "ant"), ("openai", "oai"), ("openai", "ds")}
"""Pass-through answers are the upstream's own bytes (here: the simulator's), not ours to reshape (DeepSeek
passes through while the request has no tools)."""


@pytest.fixture
def gw(start_gateway, sim, tmp_path):
    return make_gateway(start_gateway, sim, tmp_path)


def _fail(provider: str, status: int) -> Script:
    if provider in ("ant", "antx"):
        return anthropic_error(status, {429: "rate_limit_error", 500: "api_error"}[status], "nope")
    return openai_error(status, "nope", "server_error" if status >= 500 else "requests")


SCENARIOS: dict[str, Callable[[str], list[Script]]] = {
    "text": lambda p: [Script([Text("Hello there, world!", split=4)], usage=Usage(11, 5))],
    "tool": lambda p: [
        Script([Text("Checking."), ToolCall("get_weather", ARGS_A, id="call_a", split=5)], usage=Usage(20, 9))
    ],
    "parallel": lambda p: [
        Script(
            [
                Parallel(
                    [
                        ToolCall("get_weather", ARGS_A, id="call_a", split=4),
                        ToolCall("search", ARGS_B, id="call_b", split=3),
                    ],
                    interleave=p not in ("ant", "antx"),
                )
            ],
            usage=Usage(30, 14),
        )
    ],
    "reasoning": lambda p: [
        Script(
            [Reasoning("Let me think about it.", split=5), Text("Answer: 42", split=3)],
            usage=Usage(7, 12, reasoning_tokens=6),
        )
    ],
    "length": lambda p: [Script([Text("truncated answ", split=5)], finish="length", usage=Usage(3, 4))],
    "stop_sequence": lambda p: [Script([Text("Count: 1, 2")], finish="stop_sequence", stop_sequence="###")],
    "error_429": lambda p: [_fail(p, 429) for _ in range(3)],
    "error_500": lambda p: [_fail(p, 500) for _ in range(3)],
}

CASES = [
    (s, c, u, st)
    for s in SCENARIOS
    for c in ("anthropic", "openai")
    for u in ("oai", "ds", "ant", "antx")
    for st in (False, True)
]
IDS = [f"{s}-{c}-{u}-{'stream' if st else 'json'}" for s, c, u, st in CASES]


def call(gw: Any, client: str, model: str, stream: bool, **extra: Any) -> Reply:
    if client == "anthropic":
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": 4000,
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
            **extra,
        }
        return request(
            "POST", gw.url + "/v1/messages", body, {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
        )
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}], **extra}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return request("POST", gw.url + "/v1/chat/completions", body, {"Authorization": f"Bearer {KEY}"})


def validate(client: str, r: Reply, stream: bool) -> list[dict[str, Any]]:
    """Validate a reply; its JSON objects (the body, or every stream event's data)."""
    if r.status != 200 or not stream:
        obj = r.json()
        if client == "anthropic":
            check_anthropic("ErrorResponse" if r.status != 200 else "Message", obj)
        else:
            check_openai("ErrorResponse" if r.status != 200 else "CreateChatCompletionResponse", obj)
        return [obj]
    if client == "anthropic":
        assert check_anthropic_sse(r.body) > 0
        return [e for _, e in anthropic_events(r.body)]
    assert check_openai_sse(r.body) > 0
    return [json.loads(d) for d in r.sse_data()[:-1]]


@pytest.mark.parametrize(("scenario", "client", "provider", "stream"), CASES, ids=IDS)
def test_answers_validate_against_the_official_schema(gw, sim, scenario, client, provider, stream):
    sim.enqueue(*SCENARIOS[scenario](provider))
    extra: dict[str, Any] = {}
    if scenario == "reasoning" and client == "anthropic":
        extra["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    if scenario == "stop_sequence":
        extra["stop_sequences" if client == "anthropic" else "stop"] = ["###"]
    r = call(gw, client, MODELS[provider], stream, **extra)
    if scenario.startswith("error_"):
        assert r.status >= 400
    else:
        assert r.status == 200, r.body
    if (client, provider) in PASSTHROUGH and r.status == 200:
        return  # the upstream's own bytes, forwarded unchanged
    objs = validate(client, r, stream)
    if r.status != 200:
        return
    models = [o["model"] for o in objs if "model" in o] + [
        o["message"]["model"] for o in objs if "message" in o
    ]
    assert models, "the model is named"
    assert set(models) == {MODELS[provider]}, "the model echoes the client's name"


@pytest.mark.parametrize("client", ["anthropic", "openai"])
@pytest.mark.parametrize("provider", ["oai", "ds", "antx"])
def test_mid_stream_drop_validates(gw, sim, client, provider):
    sim.enqueue(Script([Text("partial ", split=4), Drop()]))
    r = call(gw, client, MODELS[provider], True)
    objs = validate(client, r, True)
    assert "error" in objs[-1]


@pytest.mark.parametrize("stream", [False, True])
def test_alias_is_echoed_not_the_upstream_model(gw, sim, stream):
    tools = {
        "anthropic": [{"name": "f", "input_schema": {"type": "object"}}],
        "openai": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    }
    for client in (
        "anthropic",
        "openai",
    ):  # tools: DeepSeek translates (no pass-through) for OpenAI clients too
        sim.enqueue(Script.text("hi"))
        objs = validate(
            client, call(gw, client, "claude-sonnet-4-20250514", stream, tools=tools[client]), stream
        )
        assert sim.last.json["model"] == "deepseek-chat"
        models = {o.get("model") or o.get("message", {}).get("model") for o in objs} - {None}
        assert models == {"claude-sonnet-4-20250514"}


@pytest.mark.parametrize("stream", [False, True])
def test_thinking_from_a_non_anthropic_upstream_is_sealed(gw, sim, stream):
    """A thinking block always has a signature: the gateway's seal of the reasoning, which unseals back into
    the reasoning DeepSeek needs on the next turn, with no server state."""
    sim.enqueue(
        Script(
            [
                Reasoning("I should call the tool.", split=4),
                ToolCall("get_weather", '{"city":"Rome"}', id="call_r"),
            ]
        )
    )
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    r = call(
        gw,
        "anthropic",
        "ds/deepseek-reasoner",
        stream,
        tools=tools,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    objs = validate("anthropic", r, stream)
    if stream:
        f = fold_anthropic(objs, strict=True)
        content = f.blocks
    else:
        content = objs[0]["content"]
    thinking = [b for b in content if b["type"] == "thinking"]
    assert [b["thinking"] for b in thinking] == ["I should call the tool."]
    sig = thinking[0]["signature"]
    assert is_sealed(sig)
    content = [{k: v for k, v in b.items() if k != "caller"} for b in content]
    history = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_r", "content": "sunny"}]},
    ]
    sim.enqueue(Script.text("It is sunny."))
    r2 = call(
        gw,
        "anthropic",
        "ds/deepseek-reasoner",
        False,
        tools=tools,
        messages=history,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert r2.status == 200, r2.body
    sent = sim.last.json["messages"][1]
    assert sent["reasoning_content"] == "I should call the tool."
    assert "a2s1." not in json.dumps(sim.last.json), "a seal never reaches an upstream"


def test_foreign_signature_never_reaches_a_non_anthropic_upstream(gw, sim):
    sim.enqueue(Script.text("ok"))
    history = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "EqQBCkYIBRgC"},
                {"type": "text", "text": "a"},
            ],
        },
        {"role": "user", "content": "more"},
    ]
    r = call(gw, "anthropic", "oai/sim-gpt", False, messages=history)
    assert r.status == 200, r.body
    assert "EqQBCkYIBRgC" not in json.dumps(sim.last.json)


def test_model_list_and_count_tokens_validate(gw):
    auth = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    r = request("GET", gw.url + "/v1/models", None, auth)
    check_anthropic("ListResponse_ModelInfo_", r.json())
    r = request(
        "POST",
        gw.url + "/v1/messages/count_tokens",
        {"model": MODELS["ds"], "messages": [{"role": "user", "content": "hi"}]},
        auth,
    )
    check_anthropic("CountMessageTokensResponse", r.json())
    r = request("GET", gw.url + "/v1/models", None, {"Authorization": f"Bearer {KEY}"})
    check_openai("ListModelsResponse", r.json())


DEMO = """
server: {{host: 127.0.0.1, port: 0}}
database_url: "sqlite+aiosqlite:///{db}"
auth:
  keys: [{key}]
providers:
  - name: demo
    type: demo
    models: [demo-chat, demo-reasoner]
models:
  gpt-4o-mini: demo/demo-chat
  claude-sonnet-4-20250514-slow: demo/demo-reasoner
"""


@pytest.mark.parametrize("stream", [False, True])
def test_the_demo_echoes_the_model_asked_for_and_validates(start_gateway, tmp_path, stream):
    g = start_gateway(DEMO.format(key=KEY, db=tmp_path / "demo.db"))
    for client, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-20250514-slow")):
        objs = validate(client, call(g, client, model, stream), stream)
        models = {o.get("model") or o.get("message", {}).get("model") for o in objs} - {None}
        assert models == {model}


@pytest.mark.parametrize("stream", [False, True])
def test_a_responses_answer_echoes_the_model_asked_for(start_gateway, tmp_path, stream):
    g = start_gateway(DEMO.format(key=KEY, db=tmp_path / "demo.db"))
    body = {"model": "gpt-4o-mini", "input": "hi", "stream": stream}
    r = request("POST", g.url + "/v1/responses", body, {"authorization": f"Bearer {KEY}"})
    assert r.status == 200
    if stream:
        events = [json.loads(line[5:]) for line in r.body.decode().splitlines() if line.startswith("data:")]
        models = {e["response"]["model"] for e in events if "response" in e}
        assert models == {"gpt-4o-mini"}  # created, in_progress and completed: never the upstream's demo-chat
    else:
        assert r.json()["model"] == "gpt-4o-mini"
