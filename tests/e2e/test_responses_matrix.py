"""OpenAI Responses clients (the official ``openai`` SDK and raw HTTP) over every upstream kind: OpenAI-compatible
chat, DeepSeek (thinking), Anthropic, and a Responses upstream both passed through and translated.

Every raw response, stream event and error is validated against the Responses schemas of OpenAI's OpenAPI
document (tests/schemas)."""

from __future__ import annotations

import asyncio
import base64
import json

import openai
import pytest

from tests.e2e.responses_helpers import (
    AUTH,
    CHAT_UPSTREAMS,
    CONFIG,
    KEY,
    MODELS,
    UPSTREAMS,
    async_client,
    client,
    post,
    summarize,
)
from tests.gateway_harness import FIXTURES
from tests.rawhttp import request
from tests.schemas.responses_schema import check
from tests.sim import (
    Drop,
    Parallel,
    Reasoning,
    Refusal,
    Script,
    StreamError,
    Text,
    ToolCall,
    Usage,
    openai_error,
)

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
           "strict": False}  # fmt: skip
TIME = {"type": "function", "name": "get_time", "description": "Time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": False}  # fmt: skip
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Edit files. FREEFORM: do not wrap in JSON.",
              "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/s"}}  # fmt: skip
PATCH = '*** Begin Patch\n*** Add File: a.txt\n+hello "world"\n*** End Patch\n'
ARGS = '{"city": "Paris", "note": "naïve \\"quoted\\""}'
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
        "0000050001e226059b0000000049454e44ae426082"
    )
).decode()


@pytest.fixture
def gw(start_gateway, sim):
    return start_gateway(CONFIG.format(key=KEY, sim=sim.url))


def both(gw, model: str, **body) -> tuple[dict, dict]:
    """The same request streamed and not (two scripts must be queued): (final response, response object)."""
    status, events = post(gw, {"model": model, "stream": True, **body})
    assert status == 200, events
    status, obj = post(gw, {"model": model, **body})
    assert status == 200, obj
    return events[-1]["response"], obj


# ------------------------------------------------------------------------------------------ text


@pytest.mark.parametrize("up", UPSTREAMS)
def test_text(gw, sim, up):
    for _ in range(2):
        sim.enqueue(Script([Text("Hello there, world!", split=4)], usage=Usage(11, 5)))
    streamed, whole = both(gw, MODELS[up], input="Say hi", instructions="Be brief.")
    for r in (streamed, whole):
        assert summarize(r) == {"status": "completed", "items": [("message", "Hello there, world!")],
                                "incomplete": None, "usage": (11, 5)}  # fmt: skip
        assert r["instructions"] == "Be brief."
        assert r["model"]
    sent = sim.last.json
    if up in ("oai", "ds"):
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    elif up == "ant":
        assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    else:
        assert sent["instructions"] == "Be brief."
        assert sent["input"] in (
            "Say hi",
            [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hi"}]}],
        )


@pytest.mark.parametrize("up", UPSTREAMS)
def test_sdk_create_and_stream(gw, sim, up):
    sim.enqueue(Script([Text("one two three", split=3)], usage=Usage(3, 3)))
    sim.enqueue(Script([Text("one two three", split=3)], usage=Usage(3, 3)))
    c = client(gw)
    r = c.responses.create(model=MODELS[up], input="count")
    assert r.output_text == "one two three"
    assert r.status == "completed"
    assert r.usage.input_tokens == 3
    assert r.usage.output_tokens == 3
    assert r.usage.total_tokens == 6
    with c.responses.stream(model=MODELS[up], input="count") as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert "".join(deltas) == "one two three" == final.output_text


def test_async_sdk_and_retrieve_unknown(gw, sim):
    sim.enqueue(Script([Text("async hello", split=5)]))

    async def go() -> str:
        c = async_client(gw)
        r = await c.responses.create(model=MODELS["oai"], input="hi")
        with pytest.raises(openai.NotFoundError) as e:
            await c.responses.retrieve("resp_unknown")
        assert e.value.status_code == 404
        return r.output_text

    assert asyncio.run(go()) == "async hello"


# ------------------------------------------------------------------------------------------ tools


@pytest.mark.parametrize("up", UPSTREAMS)
def test_one_tool(gw, sim, up):
    for _ in range(2):
        sim.enqueue(
            Script([Text("Let me check.", split=5), ToolCall("get_weather", ARGS, id="call_w1", split=7)])
        )
    streamed, whole = both(gw, MODELS[up], input="weather in Paris?", tools=[WEATHER])
    for r in (streamed, whole):
        s = summarize(r)
        assert s["status"] == "completed"
        assert s["items"][0] == ("message", "Let me check.")
        kind, call_id, name, args = s["items"][1]
        assert (kind, call_id, name) == ("function_call", "call_w1", "get_weather")
        assert json.loads(args) == json.loads(ARGS)
    # the tool reached the upstream as its own kind of tool
    sent = sim.last.json
    if up in ("oai", "ds"):
        assert sent["tools"][0]["function"]["name"] == "get_weather"
    elif up == "ant":
        assert sent["tools"][0]["name"] == "get_weather"
        assert "input_schema" in sent["tools"][0]
    else:
        assert sent["tools"] == [WEATHER]


@pytest.mark.parametrize("up", UPSTREAMS)
def test_parallel_tools_and_results(gw, sim, up):
    calls = Parallel([ToolCall("get_weather", '{"city":"Paris"}', id="call_a"),
                      ToolCall("get_time", '{"city":"Rome"}', id="call_b")], interleave=False)  # fmt: skip
    sim.enqueue(Script([calls]))
    status, events = post(
        gw, {"model": MODELS[up], "stream": True, "input": "both", "tools": [WEATHER, TIME]}
    )
    final = events[-1]["response"]
    fc = [it for it in final["output"] if it["type"] == "function_call"]
    assert [(f["call_id"], f["name"], json.loads(f["arguments"])) for f in fc] == [
        ("call_a", "get_weather", {"city": "Paris"}), ("call_b", "get_time", {"city": "Rome"})]  # fmt: skip
    # second turn: the calls and their outputs go back (stateless, the whole history)
    sim.enqueue(Script([Text("Sunny, and it is noon.")]))
    history = [{"role": "user", "content": "both"}, *fc,
               {"type": "function_call_output", "call_id": "call_a", "output": "sunny"},
               {"type": "function_call_output", "call_id": "call_b", "output": "12:00"}]  # fmt: skip
    status, obj = post(gw, {"model": MODELS[up], "input": history, "tools": [WEATHER, TIME]})
    assert status == 200
    assert summarize(obj)["items"] == [("message", "Sunny, and it is noon.")]
    sent = sim.last.json
    if up in ("oai", "ds"):
        roles = [m["role"] for m in sent["messages"]]
        assert roles == ["user", "assistant", "tool", "tool"]
        assert [t["id"] for t in sent["messages"][1]["tool_calls"]] == ["call_a", "call_b"]
        assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_a", "content": "sunny"}
    elif up == "ant":
        assert [b["type"] for b in sent["messages"][1]["content"]] == ["tool_use", "tool_use"]
        assert [b["type"] for b in sent["messages"][2]["content"]] == ["tool_result", "tool_result"]
    else:
        types = [it.get("type", "message") for it in sent["input"]]
        assert types == [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]


@pytest.mark.parametrize("up", UPSTREAMS)
def test_custom_tool(gw, sim, up):
    """A custom (free-form) tool: a function with one string parameter for upstreams without custom tools;
    the call comes back as a custom_tool_call either way."""
    native = up in ("resp", "respx")
    args = PATCH if native else json.dumps({"input": PATCH})
    for _ in range(2):
        sim.enqueue(Script([ToolCall("apply_patch", args, id="call_p", split=9)]))
    streamed, whole = both(gw, MODELS[up], input="add a file", tools=[PATCH_TOOL])
    for r in (streamed, whole):
        assert summarize(r)["items"] == [("custom_tool_call", "call_p", "apply_patch", PATCH)]
    sent = sim.last.json
    if up in ("oai", "ds"):
        fn = sent["tools"][0]["function"]
        assert fn["name"] == "apply_patch"
        assert fn["parameters"]["required"] == ["input"]
        assert "start: /.+/s" in fn["parameters"]["properties"]["input"]["description"]
    elif native:
        assert sent["tools"] == [PATCH_TOOL]
    # the call and its output go back
    sim.enqueue(Script([Text("done")]))
    history = [{"role": "user", "content": "add a file"}, whole["output"][0],
               {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"}]  # fmt: skip
    status, obj = post(gw, {"model": MODELS[up], "input": history, "tools": [PATCH_TOOL]})
    assert status == 200, obj
    sent = sim.last.json
    if up in ("oai", "ds"):
        assert json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"input": PATCH}
        assert sent["messages"][2]["content"] == "Done!"
    elif native:
        assert sent["input"][1] == {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch",
                                    "input": PATCH} or sent["input"][1]["input"] == PATCH  # fmt: skip
        assert sent["input"][2]["type"] == "custom_tool_call_output"


def test_namespace_tools_flatten_and_come_back(gw, sim):
    ns = {"type": "namespace", "name": "mcp__files", "description": "File tools",
          "tools": [{"type": "function", "name": "read", "description": "Read a file",
                     "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]}  # fmt: skip
    sim.enqueue(Script([ToolCall("mcp__files__read", '{"path":"a"}', id="call_r")]))
    status, obj = post(gw, {"model": MODELS["oai"], "input": "read a", "tools": [ns]})
    assert status == 200
    assert sim.last.json["tools"][0]["function"]["name"] == "mcp__files__read"
    item = obj["output"][0]
    assert (item["type"], item["namespace"], item["name"], item["call_id"]) == (
        "function_call", "mcp__files", "read", "call_r")  # fmt: skip
    # the Responses upstream gets the namespace back
    sim.enqueue(Script([Text("ok")]))
    hist = [{"role": "user", "content": "read a"}, item,
            {"type": "function_call_output", "call_id": "call_r", "output": "x"}]  # fmt: skip
    status, obj = post(gw, {"model": MODELS["respx"], "input": hist, "tools": [ns]})
    assert status == 200
    sent = sim.last.json
    assert sent["input"][1]["namespace"] == "mcp__files"
    assert sent["input"][1]["name"] == "read"
    assert sent["tools"] == [ns]


def test_hosted_tool_refused_or_dropped(gw, sim):
    body = {"model": MODELS["oai"], "input": "search", "tools": [WEATHER, {"type": "web_search"}]}
    status, err = post(gw, body)
    assert status == 400
    assert err["error"]["param"] == "tools"
    assert "web_search" in err["error"]["message"]
    sim.enqueue(Script([Text("no search")]))
    status, _ = post(gw, {**body, "model": "oaidrop/sim-gpt"})
    assert status == 200
    assert [t["function"]["name"] for t in sim.last.json["tools"]] == ["get_weather"]
    sim.enqueue(Script([Text("searched")]))
    status, _obj = post(gw, {**body, "model": MODELS["resp"]})
    assert status == 200
    assert sim.last.json["tools"][1] == {"type": "web_search"}


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize("up", UPSTREAMS)
def test_structured_output(gw, sim, up):
    fmt = {"type": "json_schema", "name": "answer", "strict": True,
           "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
                      "additionalProperties": False}}  # fmt: skip
    sim.enqueue(Script([Text('{"n": 42}')]))
    status, obj = post(gw, {"model": MODELS[up], "input": "n?", "text": {"format": fmt, "verbosity": "low"}})
    if up == "ant":
        assert status == 400
        assert obj["error"]["param"] == "text.format"
        assert "text.format" in obj["error"]["message"]
        return
    assert status == 200
    assert summarize(obj)["items"] == [("message", '{"n": 42}')]
    assert obj["text"] == {"format": fmt, "verbosity": "low"}
    sent = sim.last.json
    if up in ("oai", "ds"):
        assert sent["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "answer", "schema": fmt["schema"], "strict": True}}  # fmt: skip
        assert "verbosity" not in json.dumps(sent)
        assert "text" not in sent
    else:
        assert sent["text"] == {"format": fmt, "verbosity": "low"}


@pytest.mark.parametrize("up", UPSTREAMS)
def test_image_input(gw, sim, up):
    sim.enqueue(Script([Text("a pixel")]))
    url = f"data:image/png;base64,{PNG}"
    content = [
        {"type": "input_text", "text": "what is it?"},
        {"type": "input_image", "image_url": url, "detail": "low"},
    ]
    status, obj = post(gw, {"model": MODELS[up], "input": [{"role": "user", "content": content}]})
    assert status == 200, obj
    sent = sim.last.json
    if up in ("oai", "ds"):
        assert sent["messages"][0]["content"][1] == {
            "type": "image_url",
            "image_url": {"url": url, "detail": "low"},
        }
    elif up == "ant":
        assert sent["messages"][0]["content"][1]["source"] == {
            "type": "base64",
            "media_type": "image/png",
            "data": PNG,
        }
    else:
        assert sent["input"][0]["content"][1]["image_url"] == url


@pytest.mark.parametrize("up", UPSTREAMS)
def test_max_tokens_incomplete(gw, sim, up):
    for _ in range(2):
        sim.enqueue(Script([Text("partial ans", split=4)], finish="length"))
    streamed, whole = both(gw, MODELS[up], input="long story", max_output_tokens=16)
    for r in (streamed, whole):
        assert r["status"] == "incomplete"
        assert r["incomplete_details"] == {"reason": "max_output_tokens"}
        assert r["max_output_tokens"] == 16
    sent = sim.last.json
    if up in ("oai", "ds", "ant"):
        assert sent["max_tokens"] == 16
    else:
        assert sent["max_output_tokens"] == 16


def test_refusal(gw, sim):
    sim.enqueue(Script([Refusal("I can't help with that.")]))
    _status, events = post(gw, {"model": MODELS["oai"], "stream": True, "input": "bad"})
    types = [e["type"] for e in events]
    assert "response.refusal.delta" in types
    assert "response.refusal.done" in types
    assert events[-1]["response"]["output"][0]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]


def test_fields_the_upstream_would_reject_are_dropped(gw, sim):
    sim.enqueue(Script([Text("ok")]))
    body = {"model": MODELS["ds"], "input": "hi", "store": False, "prompt_cache_retention": "24h",
            "prompt_cache_key": "k", "service_tier": "flex", "truncation": "auto", "include": ["reasoning.encrypted_content"],
            "safety_identifier": "u1", "client_metadata": {"x": 1}, "metadata": {"a": "b"}, "user": "u",
            "text": {"verbosity": "low"}, "reasoning": {"effort": "high", "summary": "auto"}, "top_p": 0.5}  # fmt: skip
    status, obj = post(gw, body)
    assert status == 200
    sent = sim.last.json
    assert set(sent) <= {"model", "messages", "user", "top_p", "reasoning_effort"}, sent
    assert obj["store"] is False
    assert obj["truncation"] == "auto"
    assert obj["metadata"] == {"a": "b"}


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "bogus"}]}, "input[0].type"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0].type"),
        ({"input": [{"type": "function_call_output", "call_id": "nope", "output": "x"}]}, "input[0].call_id"),
        ({"input": "x", "temperature": "hot"}, "temperature"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ],
)
def test_invalid_requests_name_the_field(gw, body, param):
    status, err = post(gw, {"model": MODELS["oai"], **body})
    assert status == 400, err
    assert err["error"]["param"] == param
    assert err["error"]["type"] == "invalid_request_error"


def test_unknown_model_and_bad_key(gw):
    status, _err = post(gw, {"model": "nope/none", "input": "x"})
    assert status == 404
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gw.url + "/v1", api_key="wrong", max_retries=0).responses.create(
            model=MODELS["oai"], input="x")  # fmt: skip


@pytest.mark.parametrize("up", UPSTREAMS)
def test_upstream_429_keeps_status(gw, sim, up):
    err = openai_error(429, "Rate limit reached", "requests", "rate_limit_exceeded")
    if up == "ant":
        from tests.sim import anthropic_error

        err = anthropic_error(429, "rate_limit_error", "Rate limit reached")
    sim.enqueue(err, err, err)
    status, obj = post(gw, {"model": MODELS[up], "input": "x"})
    assert status == 429
    assert "Rate limit" in obj["error"]["message"]


@pytest.mark.parametrize("up", UPSTREAMS)
def test_upstream_500_is_an_error_in_openai_shape(gw, sim, up):
    for _ in range(3):
        sim.enqueue(openai_error(500, "The server had an error", "server_error"))
    with pytest.raises(openai.APIStatusError) as e:
        client(gw).responses.create(model=MODELS[up], input="x")
    assert e.value.status_code >= 500
    check("ErrorResponse", e.value.body if "error" in (e.value.body or {}) else {"error": e.value.body})


@pytest.mark.parametrize("up", UPSTREAMS)
def test_upstream_drop_mid_stream_ends_with_failed(gw, sim, up):
    sim.enqueue(Script([Text("Hello wor", split=3), Drop()]))
    _status, events = post(gw, {"model": MODELS[up], "stream": True, "input": "x"}, sequence=up != "resp")
    types = [e["type"] for e in events]
    if up == "resp":  # passed through: the upstream's bytes, then the gateway's error and failed events
        assert types[-2:] == ["error", "response.failed"]
        return
    assert types[-2:] == ["error", "response.failed"], types
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert failed["output"]
    assert failed["output"][0]["content"][0]["text"] == "Hello wor"


def test_upstream_error_event_mid_stream(gw, sim):
    sim.enqueue(Script([Text("Hi", split=1), StreamError("Overloaded", "server_error", "server_error")]))
    _status, events = post(gw, {"model": MODELS["respx"], "stream": True, "input": "x"})
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert "Overloaded" in events[-2]["message"]


# ------------------------------------------------------------------------------------------ pass-through


SCRIPTS = {
    "text": lambda: Script([Text("Hello there", split=3)], usage=Usage(9, 2)),
    "reasoning_tool": lambda: Script(
        [
            Reasoning("Think first.", split=4),
            Text("Calling.", split=4),
            ToolCall("get_weather", '{"city":"Oslo"}', id="call_o"),
        ],
        usage=Usage(20, 10, reasoning_tokens=4),
    ),
    "custom": lambda: Script([ToolCall("apply_patch", PATCH, id="call_p")]),
    "length": lambda: Script([Text("cut")], finish="length"),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_pass_through_equals_translated(gw, sim, name, stream):
    body = {"input": "go", "tools": [WEATHER, PATCH_TOOL], "reasoning": {"effort": "low", "summary": "auto"},
            "stream": stream}  # fmt: skip
    results = []
    for up in ("resp", "respx"):
        sim.enqueue(SCRIPTS[name]())
        status, out = post(gw, {"model": MODELS[up], **body})
        assert status == 200
        results.append(summarize(out[-1]["response"] if stream else out))
    assert results[0] == results[1]


@pytest.mark.parametrize("stream", [False, True])
def test_pass_through_is_byte_exact_and_usage_is_sniffed(gw, sim, stream, monkeypatch):
    """A recorded OpenAI answer passes through unchanged; the usage of its terminal event is recorded."""
    records = []
    monkeypatch.setattr(gw.gateway, "usage_sinks", (*gw.gateway.usage_sinks, records.append))
    if stream:
        sim.enqueue(Script.replay("openai/responses-stream-reasoning-function-calls-usage.sse"))
        raw = (FIXTURES / "openai/responses-stream-reasoning-function-calls-usage.sse").read_bytes()
    else:
        sim.enqueue(Script.replay("openai/responses-reasoning-function-call.vercel.json"))
        raw = (FIXTURES / "openai/responses-reasoning-function-call.vercel.json").read_bytes()
    r = request(
        "POST", gw.url + "/v1/responses", {"model": MODELS["resp"], "input": "x", "stream": stream}, AUTH
    )
    assert r.status == 200
    assert r.body == raw
    assert sim.last.json["model"] == "sim-gpt"
    u = records[-1].usage
    if stream:
        assert (u.input_tokens, u.output_tokens, u.reasoning_tokens, u.cache_read_tokens) == (53, 469, 448, 0)
    else:
        assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (865, 163, 128)
    assert records[-1].provider == "resp"


@pytest.mark.parametrize("up", CHAT_UPSTREAMS)
def test_hosted_tool_items_in_history_are_refused_for_other_upstreams(gw, sim, up):
    hist = [{"role": "user", "content": "news?"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
            {"role": "assistant", "content": "Here."}, {"role": "user", "content": "thanks"}]  # fmt: skip
    status, err = post(gw, {"model": MODELS[up], "input": hist})
    assert status == 400
    assert err["error"]["param"] == "input[1]"
    assert "web_search_call" in err["error"]["message"]
    sim.enqueue(Script([Text("ok")]))
    status, _ = post(gw, {"model": MODELS["respx"], "input": hist})
    assert status == 200
    assert sim.last.json["input"][1]["type"] == "web_search_call"
