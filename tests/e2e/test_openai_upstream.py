"""OpenAI clients over OpenAI-compatible upstreams (the simulator), through both the pass-through fast path
and the translating path, which must give the same result."""

from __future__ import annotations

import json
import socket
import time

import openai
import pytest

from tests.rawhttp import request
from tests.sim import (
    Comment,
    Delay,
    Drop,
    Hang,
    Parallel,
    Reasoning,
    Refusal,
    Script,
    StreamError,
    Text,
    ToolCall,
    Usage,
    html_error,
    openai_error,
)
from tests.sim.fold import fold_openai_chat, openai_chunks

KEY = "sk-test-client"
AUTH = {"Authorization": f"Bearer {KEY}"}

CONFIG = """
server: {{host: 127.0.0.1, port: 0, heartbeat_seconds: 0.3, timeouts: {{connect: 2, first_byte: 1.5, idle: 1.5}}}}
auth:
  keys: [{key}]
providers:
  - name: fast
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-up-1, sk-up-2]
    models: [m1, m2]
  - name: slow
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-up-1]
    models: [m1]
    passthrough: false
  - name: other
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-other]
    models: [backup]
    passthrough: false
  - name: edge
    type: openai
    base_url: {sim}
    chat_path: /api/ai
    models: [deepseek-chat]
    error_rules:
      - {{match: "Daily usage limit exceeded", kind: quota_exceeded, code: quota_exceeded}}
  - name: ds
    type: deepseek
    base_url: {sim}
    api_keys: [sk-ds]
models:
  chain: [slow/m1, other/backup]
"""


@pytest.fixture
def gw(start_gateway, sim):
    sim.add_path("/api/ai", "openai")
    return start_gateway(CONFIG.format(key=KEY, sim=sim.url))


def client(gw, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0, **kw)


def collect_stream(stream) -> dict:
    """An SDK stream folded (a call's id and name must come once)."""
    f = fold_openai_chat(stream, strict=True)
    return {
        "content": f.text,
        "reasoning": f.reasoning,
        "refusal": f.refusal,
        "tools": [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in f.tool_calls],
        "finish": f.finish,
        "usage": f.usage,
        "chunks": f.events,
    }


def collect_message(r) -> dict:
    m = r.choices[0].message
    return {
        "content": m.content or "",
        "reasoning": getattr(m, "reasoning_content", None) or "",
        "refusal": m.refusal or "",
        "tools": [
            {"id": t.id, "name": t.function.name, "arguments": t.function.arguments}
            for t in m.tool_calls or []
        ],
        "finish": r.choices[0].finish_reason,
        "usage": r.usage.model_dump(exclude_none=True) if r.usage else None,
    }


ARGS_A = '{"city": "Paris", "unit": "c", "note": "naïve \\"quoted\\""}'
ARGS_B = '{"query":"a,b","n":3}'

SCENARIOS = {
    "text": lambda: Script([Text("Hello there, world!", split=4)], usage=Usage(11, 5)),
    "reasoning": lambda: Script(
        [Reasoning("Let me think about it.", split=5), Text("Answer: 42", split=3)],
        usage=Usage(7, 12, reasoning_tokens=6),
    ),
    "one_tool": lambda: Script(
        [Text("Checking."), ToolCall("get_weather", ARGS_A, id="call_a", split=5)], usage=Usage(20, 9)
    ),
    "parallel_interleaved": lambda: Script(
        [
            Parallel(
                [
                    ToolCall("get_weather", ARGS_A, id="call_a", split=4),
                    ToolCall("search", ARGS_B, id="call_b", split=3),
                ]
            )
        ],
        usage=Usage(30, 14),
    ),
    "length": lambda: Script([Text("truncated answ", split=5)], finish="length", usage=Usage(3, 4)),
    "refusal": lambda: Script([Refusal("I can't help with that.", split=6)], usage=Usage(3, 4)),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_and_translating_paths_agree(gw, sim, name):
    c = client(gw)
    results = {}
    for provider in ("fast", "slow"):
        msgs = [{"role": "user", "content": "hi"}]
        sim.enqueue(SCENARIOS[name]())
        results[(provider, "stream")] = collect_stream(
            c.chat.completions.create(
                model=f"{provider}/m1", messages=msgs, stream=True, stream_options={"include_usage": True}
            )
        )
        sim.enqueue(SCENARIOS[name]())
        results[(provider, "json")] = collect_message(
            c.chat.completions.create(model=f"{provider}/m1", messages=msgs)
        )
    fast, slow = results[("fast", "stream")], results[("slow", "stream")]
    for k in ("content", "reasoning", "refusal", "tools", "finish", "usage"):
        assert fast[k] == slow[k], k
        assert results[("fast", "json")][k] == results[("slow", "json")][k], k
        assert fast[k] == results[("fast", "json")][k], k
    script = SCENARIOS[name]()
    if name in ("one_tool", "parallel_interleaved"):
        assert fast["finish"] == "tool_calls"
        expected = [ARGS_A] if name == "one_tool" else [ARGS_A, ARGS_B]
        assert [t["arguments"] for t in fast["tools"]] == expected  # byte for byte
        assert all(t["id"] and t["name"] for t in fast["tools"])
    assert fast["usage"]["prompt_tokens"] == script.usage.input_tokens
    assert fast["usage"]["completion_tokens"] == script.usage.output_tokens
    if name == "reasoning":
        assert fast["reasoning"] == "Let me think about it."
        assert fast["content"] == "Answer: 42"
        assert fast["usage"]["completion_tokens_details"]["reasoning_tokens"] == 6


def test_usage_chunk_only_when_asked(gw, sim):
    for provider in ("fast", "slow"):
        sim.enqueue(Script([Text("hi there")], usage=Usage(2, 2)))
        r = request(
            "POST",
            gw.url + "/v1/chat/completions",
            {"model": f"{provider}/m1", "stream": True, "messages": [{"role": "user", "content": "x"}]},
            AUTH,
        )
        data = r.sse_data()
        assert data[-1] == "[DONE]"
        assert not any('"usage":{' in d for d in data), provider
        # the gateway still asked the upstream for usage (to account for it)
        assert sim.last.json["stream_options"] == {"include_usage": True}


def test_upstream_request_carries_params_and_unknown_fields(gw, sim):
    c = client(gw)
    sim.enqueue(Script.text("ok"))
    c.chat.completions.create(
        model="fast/m1",
        messages=[{"role": "user", "content": "x"}],
        temperature=0.3,
        top_p=0.9,
        seed=7,
        stop=["END"],
        user="u1",
        max_tokens=50,
        response_format={"type": "json_object"},
        extra_body={"frequency_penalty": 0.5, "vendor_knob": {"a": 1}},
    )
    body = sim.last.json
    assert body["model"] == "m1"
    assert sim.last.api_key in ("sk-up-1", "sk-up-2")
    for k, v in {"temperature": 0.3, "top_p": 0.9, "seed": 7, "stop": ["END"], "user": "u1",
                 "response_format": {"type": "json_object"}, "frequency_penalty": 0.5,
                 "vendor_knob": {"a": 1}}.items():  # fmt: skip
        assert body[k] == v, k
    sim.enqueue(Script.text("ok"))
    c.chat.completions.create(model="slow/m1", messages=[{"role": "user", "content": "x"}], max_tokens=50,
                              extra_body={"vendor_knob": 1})  # fmt: skip
    assert sim.last.json["max_tokens"] == 50
    assert sim.last.json["vendor_knob"] == 1


def test_image_parts_reach_the_upstream(gw, sim):
    data_url = "data:image/png;base64,iVBORw0KGgo="
    content = [{"type": "text", "text": "what is this"},
               {"type": "image_url", "image_url": {"url": data_url, "detail": "low"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]  # fmt: skip
    for provider in ("fast", "slow"):
        sim.enqueue(Script.text("a cat"))
        r = client(gw).chat.completions.create(
            model=f"{provider}/m1", messages=[{"role": "user", "content": content}]
        )
        assert r.choices[0].message.content == "a cat"
        sent = sim.last.json["messages"][0]["content"]
        assert sent[1] == {"type": "image_url", "image_url": {"url": data_url, "detail": "low"}}
        assert sent[2]["image_url"]["url"] == "https://example.com/cat.png"


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_upstream_429_keeps_retry_after_and_message(gw, sim, provider):
    for _ in range(3):
        sim.enqueue(openai_error(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded",
                                 headers={"Retry-After": "7"}))  # fmt: skip
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": f"{provider}/m1", "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    assert r.status == 429
    assert r.headers["retry-after"] == "7"
    assert "Rate limit reached" in r.json()["error"]["message"]


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_upstream_500_is_502_with_reason(gw, sim, provider):
    for _ in range(3):
        sim.enqueue(
            openai_error(500, "The server had an error while processing your request.", "server_error")
        )
    with pytest.raises(openai.APIStatusError) as e:
        client(gw).chat.completions.create(
            model=f"{provider}/m1", messages=[{"role": "user", "content": "x"}]
        )
    assert e.value.status_code == 502
    assert "server had an error" in e.value.message
    assert "500" in e.value.message


def test_upstream_html_error_page(gw, sim):
    for _ in range(3):
        sim.enqueue(html_error(502, "502 Bad Gateway"))
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": "fast/m1", "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    assert r.status == 502
    assert "502 Bad Gateway" in r.json()["error"]["message"]
    assert "<html" not in r.json()["error"]["message"]


def test_upstream_400_passes_reason_and_is_not_retried(gw, sim):
    sim.enqueue(openai_error(400, "Unsupported value: 'temperature' does not support 5", param="temperature"))
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": "chain", "messages": [{"role": "user", "content": "x"}], "temperature": 5}, AUTH)  # fmt: skip
    assert r.status == 400
    assert "does not support 5" in r.json()["error"]["message"]
    assert len(sim.chat_requests) == 1


def test_error_rule_maps_body_to_quota_exceeded(gw, sim):
    sim.enqueue(
        Script.fail(403, {"error": "Daily usage limit exceeded, try tomorrow"}, path=None)
        if False
        else Script.fail(403, {"error": "Daily usage limit exceeded, try tomorrow"})
    )
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": "edge/deepseek-chat", "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    assert r.status == 429
    err = r.json()["error"]
    assert err["code"] == "quota_exceeded"
    assert "Daily usage limit exceeded" in err["message"]
    assert sim.last.path == "/api/ai"


def test_custom_chat_path_endpoint(gw, sim):
    sim.enqueue(Script([Text("from edge", split=3)]))
    out = collect_stream(
        client(gw).chat.completions.create(
            model="edge/deepseek-chat", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert out["content"] == "from edge"
    assert sim.last.path == "/api/ai"
    assert "authorization" not in {k.lower() for k in sim.last.headers}


def test_retry_on_another_account_then_fallback_chain(gw, sim):
    sim.enqueue(openai_error(500, "boom", "server_error"), Script.text("second account"))
    r = client(gw).chat.completions.create(model="fast/m1", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "second account"
    keys = [q.api_key for q in sim.chat_requests]
    assert len(keys) == 2
    assert keys[0] != keys[1]
    sim.clear()
    sim.enqueue(openai_error(503, "overloaded", "server_error"), Script([Text("from backup", split=2)]))
    out = collect_stream(
        client(gw).chat.completions.create(
            model="chain", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert out["content"] == "from backup"
    assert [q.json["model"] for q in sim.chat_requests] == ["m1", "backup"]


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_mid_stream_drop_ends_with_error_event_and_done(gw, sim, provider):
    sim.enqueue(Script([Text("partial ", split=4), Drop()]))
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": f"{provider}/m1", "stream": True, "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    data = r.sse_data()
    assert data[-1] == "[DONE]"
    err = json.loads(data[-2])["error"]
    assert err["code"] == "upstream_disconnected"
    assert fold_openai_chat(openai_chunks(r.body)).text == "partial "
    sim.enqueue(Script([Text("partial ", split=4), Drop()]))
    with pytest.raises(openai.APIError):
        collect_stream(
            client(gw).chat.completions.create(
                model=f"{provider}/m1", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )


def test_mid_stream_error_event_from_upstream(gw, sim):
    sim.enqueue(Script([Text("so far"), StreamError("tool_use_failed: bad call", "invalid_request_error")]))
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": "slow/m1", "stream": True, "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    data = r.sse_data()
    assert data[-1] == "[DONE]"
    assert "tool_use_failed" in json.loads(data[-2])["error"]["message"]


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_first_byte_timeout_is_504(gw, sim, provider):
    sim.enqueue(*[Script.text("late", headers_delay=3) for _ in range(3)])
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": f"{provider}/m1", "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    assert r.status == 504
    assert r.json()["error"]["code"] == "upstream_timeout"


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_idle_timeout_mid_stream_and_heartbeats(gw, sim, provider):
    sim.enqueue(Script([Text("a"), Delay(0.8), Text("b"), Hang()]))
    r = request("POST", gw.url + "/v1/chat/completions",
                {"model": f"{provider}/m1", "stream": True, "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
    body = r.body.decode()
    assert ": keep-alive" in body  # heartbeat during the 0.8 s pause (heartbeat_seconds: 0.3)
    data = r.sse_data()
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["code"] == "upstream_idle_timeout"


def test_connect_failure_is_502(start_gateway):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = start_gateway(f"""
auth: {{keys: [{KEY}]}}
providers:
  - {{name: dead, type: openai, base_url: "http://127.0.0.1:{port}/v1", models: [m]}}
""")
    r = request("POST", gw.url + "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]},
                AUTH)  # fmt: skip
    assert r.status == 502
    assert r.json()["error"]["code"] == "upstream_unreachable"


@pytest.mark.parametrize("provider", ["fast", "slow"])
def test_client_disconnect_cancels_upstream(gw, sim, provider):
    sim.enqueue(Script([Text("first"), Comment("x"), Delay(0.1), *[Text(" more"), Delay(0.1)] * 30]))
    sock = socket.create_connection(("127.0.0.1", gw.port))
    body = json.dumps(
        {"model": f"{provider}/m1", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    sock.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())  # fmt: skip
    assert b"200" in sock.recv(4096)
    sock.close()
    rec = sim.wait_for(1)[0]
    assert rec.wait(timeout=5) == "client_disconnected"


def test_deepseek_reasoning_is_sent_back_with_tool_calls(gw, sim):
    c = client(gw)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    sim.enqueue(
        Script([Reasoning("I should call the tool.", split=6), ToolCall("get_weather", '{"city":"Rome"}')])
    )
    out = collect_stream(
        c.chat.completions.create(
            model="ds/deepseek-reasoner",
            messages=[{"role": "user", "content": "weather?"}],
            tools=tools,
            stream=True,
        )
    )
    assert out["reasoning"] == "I should call the tool."
    assert out["finish"] == "tool_calls"
    call = out["tools"][0]
    # the client sends the tool turn back WITHOUT reasoning_content (as the openai SDK's users do)
    history = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    sim.enqueue(Script.text("It is sunny."))
    r = c.chat.completions.create(
        model="ds/deepseek-reasoner", messages=history, tools=tools, max_completion_tokens=99
    )
    assert r.choices[0].message.content == "It is sunny."
    sent = sim.last.json
    assert sent["messages"][1]["reasoning_content"] == "I should call the tool."
    assert sent["max_tokens"] == 99
    assert "max_completion_tokens" not in sent
    assert sim.last.path == "/chat/completions"


@pytest.mark.parametrize(("fixture", "provider"), [
    ("openai/chat-stream-parallel-tool-calls-args.sse", "fast"),
    ("openai/chat-stream-parallel-tool-calls-args.sse", "slow"),
    ("deepseek/chat-stream-reasoner-reasoning-content.sse", "slow"),
    ("openai/chat-stream-tool-call-include-usage.sse", "slow"),
])  # fmt: skip
def test_fixture_replays_through_both_paths(gw, sim, fixtures_dir, fixture, provider):
    expected = fold_openai_chat(openai_chunks((fixtures_dir / fixture).read_bytes()))
    sim.enqueue(Script.replay(fixture))
    out = collect_stream(
        client(gw).chat.completions.create(
            model=f"{provider}/m1", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert out["content"] == expected.text
    assert out["reasoning"] == expected.reasoning
    assert [t["arguments"] for t in out["tools"]] == [t.arguments for t in expected.tool_calls]


def test_models_discovery(start_gateway, sim):
    gw = start_gateway(f"""
auth: {{keys: [{KEY}]}}
providers:
  - {{name: up, type: openai, base_url: "{sim.url}/v1", discover_models: true}}
""")
    ids = {m.id for m in client(gw).models.list()}
    assert set(sim.models) <= ids
    sim.enqueue(Script.text("discovered"))
    r = client(gw).chat.completions.create(model=sim.models[0], messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "discovered"


def test_connect_timeout_is_504(start_gateway):
    # a listener that never accepts, its backlog filled: further connection attempts get no answer
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    try:
        gw = start_gateway(f"""
server: {{timeouts: {{connect: 0.5}}}}
auth: {{keys: [{KEY}]}}
providers:
  - {{name: slowconn, type: openai, base_url: "http://127.0.0.1:{port}/v1", models: [m]}}
""")
        r = request("POST", gw.url + "/v1/chat/completions",
                    {"model": "m", "messages": [{"role": "user", "content": "x"}]}, AUTH)  # fmt: skip
        assert r.status == 504
        assert r.json()["error"]["code"] == "upstream_connect_timeout"
    finally:
        for s in fillers:
            s.close()
        srv.close()
