"""Reasoning across a stateless Responses client (what Codex does: ``store: false``,
``include: ["reasoning.encrypted_content"]``, the whole history every turn).

The upstream's reasoning comes back to the client sealed in ``encrypted_content`` (bound to the provider that
made it) and is restored when the client sends the item back -- on another gateway instance too, with no
server state: DeepSeek thinking mode with tools gets its ``reasoning_content`` turn after turn, Anthropic
its signed thinking. A foreign or altered blob is dropped, never forwarded."""

from __future__ import annotations

import json

import pytest

from tests.e2e.responses_helpers import CONFIG, KEY, MODELS, post
from tests.sim import Reasoning, RecordedRequest, Script, Text, ToolCall, openai_error
from tests.sim.openai_responses import made_up_blob

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}  # fmt: skip
CODEX = {"store": False, "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "medium", "summary": "auto"},
         "tools": [WEATHER], "parallel_tool_calls": True}  # fmt: skip


@pytest.fixture
def start(start_gateway, sim, monkeypatch):
    """``start()`` -> a new gateway instance (fresh providers: no in-process reasoning memory). The instances
    share their secret key, as instances of one deployment do (each has its own data directory)."""
    monkeypatch.setenv("ANY2API_SECRET_KEY", "responses-reasoning-tests")
    return lambda: start_gateway(CONFIG.format(key=KEY, sim=sim.url))


def _missing_reasoning(rec: RecordedRequest) -> bool:
    """DeepSeek thinking mode refuses an assistant tool-call turn without its reasoning_content."""
    msgs = rec.json.get("messages") if isinstance(rec.json, dict) else None
    return any(m.get("role") == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")
               for m in msgs or ())  # fmt: skip


def refuse_without_reasoning(sim) -> None:
    sim.enqueue(openai_error(400, "Missing `reasoning_content` field in the assistant message at message index 1.",
                             "invalid_request_error"), match=_missing_reasoning)  # fmt: skip


def turn(gw, sim, history: list, script: Script, stream: bool = True) -> list[dict]:
    """One Codex-like turn; the output items."""
    sim.enqueue(script)
    status, out = post(gw, {"model": MODELS["ds"], "input": history, "stream": stream, **CODEX})
    assert status == 200, out
    return (out[-1]["response"] if stream else out)["output"]


@pytest.mark.parametrize("stream", [True, False])
def test_deepseek_thinking_with_tools_turn_after_turn_on_fresh_instances(start, sim, stream):
    history: list = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}
    ]
    out = turn(start(), sim, history, Script([Reasoning("I need the weather tool.", split=5),
                                              ToolCall("get_weather", '{"city":"Oslo"}', id="call_1")]), stream)  # fmt: skip
    rs = out[0]
    assert rs["type"] == "reasoning"
    assert rs["summary"][0]["text"] == "I need the weather tool."
    assert rs["encrypted_content"].startswith("a2s1.")
    history += [*out, {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]

    # turn 2, another instance: the sealed reasoning is opened for DeepSeek
    refuse_without_reasoning(sim)
    out2 = turn(start(), sim, history, Script([Reasoning("Now a second call."),
                                               ToolCall("get_weather", '{"city":"Rome"}', id="call_2")]), stream)  # fmt: skip
    sent = sim.last.json["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["reasoning_content"] == "I need the weather tool."
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert sent[2]["role"] == "tool"
    history += [*out2, {"type": "function_call_output", "call_id": "call_2", "output": "rainy"}]

    # turn 3: both earlier turns carry their own reasoning
    refuse_without_reasoning(sim)
    out3 = turn(start(), sim, history, Script([Text("Oslo sunny, Rome rainy.")]), stream)
    sent = sim.last.json["messages"]
    assert [m.get("reasoning_content") for m in sent if m["role"] == "assistant"] == [
        "I need the weather tool.", "Now a second call."]  # fmt: skip
    assert out3[-1]["content"][0]["text"] == "Oslo sunny, Rome rainy."
    sim.clear()  # the refusal scripts were not needed


def test_without_the_blob_deepseek_is_refused_as_the_real_api_does(start, sim):
    """The control: the same turn without encrypted_content and summary hits DeepSeek's refusal."""
    history = [{"role": "user", "content": "Weather?"},
               {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
               {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]  # fmt: skip
    refuse_without_reasoning(sim)
    status, err = post(start(), {"model": MODELS["ds"], "input": history, **CODEX})
    assert status == 400
    assert "reasoning_content" in err["error"]["message"]


def test_tampered_or_foreign_blob_is_dropped(start, sim):
    gw = start()
    out = turn(gw, sim, [{"role": "user", "content": "Weather?"}],
               Script([Reasoning("secret plan"), ToolCall("get_weather", "{}", id="call_1")]))  # fmt: skip
    rs = out[0]
    blob = rs["encrypted_content"]
    tampered = blob[:-6] + ("AAAAAA" if not blob.endswith("AAAAAA") else "BBBBBB")
    gw = start()  # no in-process reasoning memory of turn 1
    for enc in (tampered, "a2s1.not-even-base64!", made_up_blob("x")):
        item = {**rs, "summary": [], "encrypted_content": enc}
        hist = [{"role": "user", "content": "Weather?"}, item, out[1],
                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]  # fmt: skip
        sim.enqueue(Script([Text("ok")]))
        status, _obj = post(gw, {"model": MODELS["ds"], "input": hist, **CODEX})
        assert status == 200
        sent = json.dumps(sim.last.json)
        assert enc not in sent
        assert "secret plan" not in sent


def test_blob_for_one_provider_does_not_open_for_another(start, sim):
    gw = start()
    out = turn(gw, sim, [{"role": "user", "content": "Weather?"}],
               Script([Reasoning("deepseek thoughts"), ToolCall("get_weather", "{}", id="call_1")]))  # fmt: skip
    hist = [{"role": "user", "content": "Weather?"}, {**out[0], "summary": []}, out[1],
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]  # fmt: skip
    sim.enqueue(Script([Text("ok")]))
    status, _ = post(gw, {"model": MODELS["oai"], "input": hist, **CODEX})
    assert status == 200
    assert "deepseek thoughts" not in json.dumps(sim.last.json)
    # the Responses upstream (translated: a sealed blob never passes through) gets no reasoning item at all
    sim.enqueue(Script([Text("ok")]))
    status, _ = post(gw, {"model": MODELS["resp"], "input": hist, **CODEX})
    assert status == 200
    assert [it.get("type") for it in sim.last.json["input"]] == [
        "message",
        "function_call",
        "function_call_output",
    ]


@pytest.mark.parametrize("stream", [True, False])
def test_anthropic_signed_thinking_round_trip(start, sim, stream):
    out = None
    sim.enqueue(Script([Reasoning("Let me think.", signature="sig-abc"), ToolCall("get_weather", '{"city":"Oslo"}',
                                                                                    id="toolu_1")]))  # fmt: skip
    status, res = post(start(), {"model": MODELS["ant"], "input": "Weather?", "stream": stream, **CODEX})
    assert status == 200, res
    out = (res[-1]["response"] if stream else res)["output"]
    assert sim.last.json["thinking"]["type"] == "enabled"
    assert out[0]["type"] == "reasoning"
    assert out[0]["encrypted_content"].startswith("a2s1.")
    assert "sig-abc" not in json.dumps(out)  # the signature travels sealed only
    hist = ["Weather?", *out, {"type": "function_call_output", "call_id": "toolu_1", "output": "sunny"}]
    hist[0] = {"role": "user", "content": "Weather?"}
    sim.enqueue(Script([Text("Sunny.")]))
    status, res = post(start(), {"model": MODELS["ant"], "input": hist, **CODEX})
    assert status == 200, res
    assistant = sim.last.json["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"}
    assert assistant[1]["type"] == "tool_use"
    assert assistant[1]["id"] == "toolu_1"


def test_openai_blob_goes_back_to_the_responses_upstream_only(start, sim):
    gw = start()
    sim.enqueue(Script([Reasoning("openai thoughts"), ToolCall("get_weather", "{}", id="call_1")]))
    status, res = post(gw, {"model": MODELS["respx"], "input": "Weather?", **CODEX})
    rs = res["output"][0]
    assert rs["encrypted_content"] == made_up_blob("openai thoughts")  # the upstream's own, not ours
    hist = [{"role": "user", "content": "Weather?"}, rs, res["output"][1],
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]  # fmt: skip
    for model in (MODELS["resp"], MODELS["respx"]):
        sim.enqueue(Script([Text("ok")]))
        status, _ = post(gw, {"model": model, "input": hist, **CODEX})
        assert status == 200
        assert sim.last.json["input"][1]["encrypted_content"] == rs["encrypted_content"]
    sim.enqueue(Script([Text("ok")]))
    status, _ = post(gw, {"model": MODELS["ds"], "input": hist, **CODEX})
    assert status == 200
    assert rs["encrypted_content"] not in json.dumps(sim.last.json)
