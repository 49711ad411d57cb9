"""Gemini clients through the gateway: the official ``google-genai`` SDK (sync, async, stream, function calling
with manual turns and automatic function calling, thinking) over every kind of upstream -- Gemini passed
through, Gemini translated, OpenAI-compatible, DeepSeek thinking, Anthropic, an ``http`` spec -- plus the raw
REST surface (JSON-array streams, keys in every place Google takes them, Google's error shape, model list)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.rawhttp import request
from tests.sim import Parallel, Reasoning, Script, Text, ToolCall, Usage
from tests.sim.answer import made_up_signature

from .gemini_schema import validate_response, validate_stream_chunk

KEY = "sk-gemini-client"
CONFIG = """
server: {{host: 127.0.0.1, port: 0, heartbeat_seconds: 0.3, timeouts: {{connect: 2, first_byte: 3, idle: 3}}}}
auth:
  keys: [{key}]
providers:
  - name: gem
    type: gemini
    base_url: {sim}
    api_keys: [gk]
    models: [gemini-3-flash-preview, gemini-2.5-flash]
  - name: gemx
    type: gemini
    base_url: {sim}
    api_keys: [gk]
    models: [gemini-2.5-flash]
    passthrough: false
  - name: oai
    type: openai
    base_url: {sim}/v1
    api_keys: [ok]
    models: [sim-gpt]
  - name: ds
    type: deepseek
    base_url: {sim}
    api_keys: [dk]
  - name: ant
    type: anthropic
    base_url: {sim}
    api_keys: [ak]
    models: [sim-claude]
  - name: plain
    type: http
    base_url: {sim}
    models: [plain-1]
    request:
      path: /v1/chat/completions
      body: {{model: sim-gpt, messages: "{{{{ messages }}}}"}}
    response:
      format: json
      text: choices.0.message.content
"""
UPSTREAMS = {
    "gemini": "gem/gemini-2.5-flash",
    "gemini-translated": "gemx/gemini-2.5-flash",
    "openai": "sim-gpt",
    "deepseek": "ds/deepseek-chat",
    "anthropic": "sim-claude",
}
ALL = {**UPSTREAMS, "http": "plain-1"}


@pytest.fixture
def gw(start_gateway, sim, monkeypatch):
    models = [
        "gemini-3-flash-preview",
        "gemini-2.5-flash",
        "sim-gpt",
        "sim-claude",
        "deepseek-chat",
        "deepseek-reasoner",
    ]
    monkeypatch.setattr(sim, "models", models)  # the session's simulator: restored after
    return start_gateway(CONFIG.format(key=KEY, sim=sim.url))


_CLIENTS: list[genai.Client] = []


def client(gw: Any, **http: Any) -> genai.Client:
    """A google-genai client for the gateway, kept alive (a collected Client closes its HTTP client, even
    under a ``models`` object still in use)."""
    c = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=gw.url, **http))
    _CLIENTS.append(c)
    del _CLIENTS[:-8]
    return c


def weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


WEATHER_DECL = types.FunctionDeclaration(
    name="weather",
    description="Get the current weather for a city.",
    parameters=types.Schema(
        type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]
    ),
)


def check(resp: types.GenerateContentResponse) -> None:
    validate_response(resp.model_dump(mode="json", by_alias=True, exclude_none=True))


@pytest.mark.parametrize("upstream", list(ALL))
def test_sync_text(gw, sim, upstream: str) -> None:
    r = client(gw).models.generate_content(model=ALL[upstream], contents="hello there")
    assert r.text == "echo: hello there"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert r.usage_metadata is not None
    assert r.usage_metadata.prompt_token_count or upstream == "http"  # the http spec reports no usage
    check(r)


@pytest.mark.parametrize("upstream", list(ALL))
def test_stream_text(gw, sim, upstream: str) -> None:
    chunks = list(client(gw).models.generate_content_stream(model=ALL[upstream], contents="stream me please"))
    assert "".join(c.text or "" for c in chunks) == "echo: stream me please"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert chunks[-1].usage_metadata is not None
    for c in chunks:
        validate_stream_chunk(c.model_dump(mode="json", by_alias=True, exclude_none=True))


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_async_text_and_stream(gw, sim, upstream: str) -> None:
    async def run() -> tuple[str, str]:
        c = client(gw).aio
        r = await c.models.generate_content(model=UPSTREAMS[upstream], contents="async hi")
        parts = [ch.text or "" async for ch in await c.models.generate_content_stream(
            model=UPSTREAMS[upstream], contents="async stream")]  # fmt: skip
        return r.text or "", "".join(parts)

    text, streamed = asyncio.run(run())
    assert (text, streamed) == ("echo: async hi", "echo: async stream")


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
@pytest.mark.parametrize("stream", [False, True])
def test_manual_function_calling_turns(gw, sim, upstream: str, stream: bool) -> None:
    sim.enqueue(
        Script([Parallel([ToolCall("weather", '{"city":"Paris"}'), ToolCall("weather", '{"city":"Rome"}')])]),
        Script([Text("Paris and Rome are sunny.", split=6)]),
    )
    c = client(gw)
    cfg = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER_DECL])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="Weather in Paris and Rome?")])]

    def ask() -> types.Content:
        if not stream:
            r = c.models.generate_content(model=UPSTREAMS[upstream], contents=contents, config=cfg)
            check(r)
            return r.candidates[0].content  # type: ignore[index,return-value]
        parts: list[types.Part] = []
        for ch in c.models.generate_content_stream(model=UPSTREAMS[upstream], contents=contents, config=cfg):
            validate_stream_chunk(ch.model_dump(mode="json", by_alias=True, exclude_none=True))
            if ch.candidates and ch.candidates[0].content and ch.candidates[0].content.parts:
                parts.extend(ch.candidates[0].content.parts)
        return types.Content(role="model", parts=parts)

    turn = ask()
    calls = [p.function_call for p in turn.parts or () if p.function_call]
    assert [(fc.name, fc.args) for fc in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    contents.append(turn)
    contents.append(types.Content(role="user", parts=[
        types.Part.from_function_response(name=fc.name, response={"result": weather(fc.args["city"])})  # type: ignore[index]
        for fc in calls]))  # fmt: skip
    final = ask()
    assert "".join(p.text or "" for p in final.parts or ()) == "Paris and Rome are sunny."
    sent = json.dumps(sim.last.json)
    assert "sunny in Paris" in sent
    assert "sunny in Rome" in sent


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
def test_automatic_function_calling(gw, sim, upstream: str) -> None:
    sim.enqueue(Script([ToolCall("weather", '{"city":"Oslo"}')]), Script([Text("Oslo is sunny.")]))
    chat = client(gw).chats.create(
        model=UPSTREAMS[upstream], config=types.GenerateContentConfig(tools=[weather])
    )
    r = chat.send_message("What is the weather in Oslo?")
    assert r.text == "Oslo is sunny."
    assert "sunny in Oslo" in json.dumps(sim.last.json)
    r2 = chat.send_message("thanks")
    assert r2.text == "echo: thanks"


def test_automatic_function_calling_on_gemini_3_keeps_signatures(gw, sim) -> None:
    sim.enqueue(Script([ToolCall("weather", '{"city":"Oslo"}')]), Script([ToolCall("weather", '{"city":"Bergen"}')]),
                Script([Text("Both sunny.")]))  # fmt: skip
    chat = client(gw).chats.create(model="gemini-3-flash-preview",
                                   config=types.GenerateContentConfig(tools=[weather]))  # fmt: skip
    assert chat.send_message("Oslo and Bergen?").text == "Both sunny."
    calls = [p for c in sim.last.json["contents"] for p in c["parts"] if "functionCall" in p]
    assert len(calls) == 2
    assert all(p["thoughtSignature"] for p in calls)


@pytest.mark.parametrize("upstream", ["gemini", "gemini-translated", "deepseek", "anthropic"])
def test_thinking(gw, sim, upstream: str) -> None:
    model = {"deepseek": "ds/deepseek-reasoner"}.get(upstream, UPSTREAMS[upstream])
    if upstream.startswith("gemini"):
        sim.enqueue(Script([Reasoning("Thinking about it."), Text("Answer.")]))
    cfg = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=2048)
    )
    r = client(gw).models.generate_content(model=model, contents="think first", config=cfg)
    check(r)
    parts = r.candidates[0].content.parts  # type: ignore[index,union-attr]
    thoughts = [p.text for p in parts if p.thought]  # type: ignore[union-attr]
    answer = "".join(p.text or "" for p in parts if not p.thought)  # type: ignore[union-attr]
    assert thoughts
    assert all(thoughts)
    assert answer in ("Answer.", "echo: think first")
    # without includeThoughts the thoughts stay hidden
    if upstream.startswith("gemini"):
        sim.enqueue(Script([Reasoning("hidden"), Text("Answer.")]))
    r2 = client(gw).models.generate_content(model=model, contents="think first",
                                            config=types.GenerateContentConfig(
                                                thinking_config=types.ThinkingConfig(thinking_budget=1024)))  # fmt: skip
    assert not any(p.thought for p in r2.candidates[0].content.parts)  # type: ignore[index,union-attr]


def test_anthropic_thinking_signature_survives_a_gemini_client(gw, sim) -> None:
    chat = client(gw).chats.create(model="sim-claude", config=types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=2048)))  # fmt: skip
    r = chat.send_message("first")
    thought = next(p for p in r.candidates[0].content.parts if p.thought)  # type: ignore[index,union-attr]
    assert thought.thought_signature
    chat.send_message("second")
    sent = sim.last.json["messages"][1]["content"]
    thinking = [b for b in sent if b["type"] == "thinking"]
    assert thinking
    assert thinking[0]["signature"] == made_up_signature(thinking[0]["thinking"])


def test_passthrough_and_translation_give_the_same_answer(gw, sim) -> None:
    c = client(gw)
    script = Script([Reasoning("why not"), Text("Same ", split=2), ToolCall("weather", '{"city":"X"}')],
                    usage=Usage(input_tokens=11, output_tokens=7, reasoning_tokens=3))  # fmt: skip
    cfg = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER_DECL])],
                                      thinking_config=types.ThinkingConfig(include_thoughts=True),
                                      automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))  # fmt: skip
    out = {}
    for name in ("gem/gemini-2.5-flash", "gemx/gemini-2.5-flash"):
        sim.enqueue(script)
        r = c.models.generate_content(model=name, contents="go", config=cfg)
        cand = r.candidates[0]  # type: ignore[index]
        out[name] = (
            [(p.text, p.thought, p.function_call.name if p.function_call else None,
              p.function_call.args if p.function_call else None, bool(p.thought_signature))
             for p in cand.content.parts],  # type: ignore[union-attr]
            cand.finish_reason, r.usage_metadata.model_dump(exclude_none=True),  # type: ignore[union-attr]
        )  # fmt: skip
    assert out["gem/gemini-2.5-flash"] == out["gemx/gemini-2.5-flash"]


@pytest.mark.parametrize("model", ["gem/gemini-2.5-flash", "gemx/gemini-2.5-flash", "sim-gpt"])
def test_json_array_stream_without_alt(gw, sim, model: str) -> None:
    sim.enqueue(Script([Text("one two three", split=4)]))
    rep = request("POST", f"{gw.url}/v1beta/models/{model}:streamGenerateContent",
                  {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY})  # fmt: skip
    assert rep.status == 200
    assert rep.headers["content-type"].startswith("application/json")
    assert rep.body.startswith(b"[")
    assert rep.body.rstrip().endswith(b"]")
    arr = json.loads(rep.body)
    assert "".join(
        p.get("text", "") for o in arr for p in o["candidates"][0].get("content", {}).get("parts", [])
    ) == ("one two three")
    assert arr[-1]["candidates"][0]["finishReason"] == "STOP"
    for o in arr:
        validate_stream_chunk(o)


def test_sse_stream_frames_and_heartbeat_are_sdk_safe(gw, sim) -> None:
    from tests.sim import Delay

    sim.enqueue(Script([Text("a"), Delay(0.8), Text("b")]))
    rep = request("POST", f"{gw.url}/v1beta/models/sim-gpt:streamGenerateContent?alt=sse&key={KEY}",
                  {"contents": [{"parts": [{"text": "hi"}]}]})  # fmt: skip
    assert rep.status == 200
    assert rep.headers["content-type"].startswith("text/event-stream")
    assert b": " not in rep.body.replace(b"data: ", b"")  # no SSE comments: google clients read them as JSON
    objs = [json.loads(d) for d in rep.sse_data()]
    assert (
        "".join(p.get("text", "") for o in objs for p in o["candidates"][0]["content"].get("parts", []))
        == "ab"
    )


@pytest.mark.parametrize("where", ["header", "query", "bearer"])
def test_keys_in_every_place_google_takes_them(gw, sim, where: str) -> None:
    body = {"contents": [{"parts": [{"text": "k"}]}]}
    path = "/v1/models/sim-gpt:generateContent"
    headers = {"header": {"x-goog-api-key": KEY}, "query": {}, "bearer": {"Authorization": f"Bearer {KEY}"}}[
        where
    ]
    if where == "query":
        path += f"?key={KEY}"
    rep = request("POST", gw.url + path, body, headers=headers)
    assert rep.status == 200, rep.body
    validate_response(rep.json())


def test_errors_in_google_shape(gw, sim) -> None:
    body = {"contents": [{"parts": [{"text": "k"}]}]}
    rep = request(
        "POST", f"{gw.url}/v1beta/models/sim-gpt:generateContent", body, headers={"x-goog-api-key": "bad"}
    )
    assert rep.status == 401
    assert rep.json()["error"]["status"] == "UNAUTHENTICATED"
    rep = request(
        "POST", f"{gw.url}/v1beta/models/nope:generateContent", body, headers={"x-goog-api-key": KEY}
    )
    assert rep.status == 404
    assert rep.json()["error"]["status"] == "NOT_FOUND"
    rep = request("POST", f"{gw.url}/v1beta/models/sim-gpt:generateContent", {"contents": []},
                  headers={"x-goog-api-key": KEY})  # fmt: skip
    assert rep.status == 400
    assert rep.json()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(genai_errors.ClientError) as ei:
        client(gw).models.generate_content(model="nope", contents="x")
    assert ei.value.code == 404
    rep = request("POST", f"{gw.url}/v1beta/models/sim-gpt:generateContent",
                  {**body, "cachedContent": "cachedContents/abc"}, headers={"x-goog-api-key": KEY})  # fmt: skip
    assert rep.status == 400
    assert "cachedContent" in rep.json()["error"]["message"]
    sim.enqueue(Script.fail(429, {"error": {"code": 429, "message": "slow down", "type": "rate_limit_error"}}),
                Script.fail(429, {"error": {"code": 429, "message": "slow down", "type": "rate_limit_error"}}))  # fmt: skip
    rep = request(
        "POST", f"{gw.url}/v1beta/models/oai/sim-gpt:generateContent", body, headers={"x-goog-api-key": KEY}
    )
    assert rep.status == 429
    assert rep.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    for r in (rep,):
        from .gemini_schema import validate_error

        validate_error(r.json())


def test_safety_finish_reaches_gemini_clients(gw, sim) -> None:
    sim.enqueue(Script([], finish="content_filter"))
    r = client(gw).models.generate_content(model="sim-gpt", contents="bad")
    assert r.candidates[0].finish_reason == types.FinishReason.SAFETY  # type: ignore[index]
    check(r)


def test_model_list_and_model_in_google_shape(gw, sim) -> None:
    c = client(gw)
    names = [m.name for m in c.models.list()]
    assert "models/sim-gpt" in names
    assert "models/gemini-2.5-flash" in names
    m = c.models.get(model="gemini-2.5-flash")
    assert m.input_token_limit == 1_048_576
    assert "generateContent" in (m.supported_actions or [])
    rep = request("GET", f"{gw.url}/v1beta/models/sim-gpt?key={KEY}")
    assert rep.status == 200
    assert rep.json()["name"] == "models/sim-gpt"
    # OpenAI clients keep their own model list on /v1/models
    rep = request("GET", f"{gw.url}/v1/models", headers={"Authorization": f"Bearer {KEY}"})
    assert rep.json()["object"] == "list"
    rep = request("GET", f"{gw.url}/v1/models/sim-gpt", headers={"Authorization": f"Bearer {KEY}"})
    assert rep.json()["object"] == "model"


def test_post_on_v1_models_is_not_swallowed_by_the_model_get_route(gw, sim) -> None:
    rep = request("POST", f"{gw.url}/v1/models/gemini-2.5-flash:generateContent",
                  {"contents": [{"parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY})  # fmt: skip
    assert rep.status == 200
    assert rep.json()["candidates"][0]["content"]["parts"][0]["text"] == "echo: hi"
    rep = request("POST", f"{gw.url}/gemini/v1beta/models/models%2Fsim-gpt:generateContent",
                  {"contents": [{"parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY})  # fmt: skip
    assert rep.status in (200, 404)


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "sim-gpt", "sim-claude"])
def test_count_tokens(gw, sim, model: str) -> None:
    n = client(gw).models.count_tokens(model=model, contents="count these few tokens").total_tokens
    assert isinstance(n, int)
    assert n > 0


REPLAYS = [
    "streamGenerateContent-sse-function-call-thoughtSignature.sse",
    "streamGenerateContent-sse-thoughts-text.sse",
]
ARRAYS = ["streamGenerateContent-json-array-thought-then-function-call.json",
          "streamGenerateContent-json-array-thought-then-text.json"]  # fmt: skip


@pytest.mark.parametrize("name", REPLAYS + ARRAYS)
def test_recorded_streams_pass_through_byte_for_byte(gw, sim, name: str) -> None:
    from tests.sim import FIXTURES_DIR

    sim.enqueue(Script.replay(f"google/{name}"))
    sse = name.endswith(".sse")
    path = "/v1beta/models/gem/gemini-2.5-flash:streamGenerateContent" + ("?alt=sse" if sse else "")
    rep = request(
        "POST", gw.url + path, {"contents": [{"parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY}
    )
    assert rep.status == 200
    assert rep.body.replace(b"\r\n", b"") == (FIXTURES_DIR / "google" / name).read_bytes().replace(
        b"\r\n", b""
    )
    objs = [json.loads(d) for d in rep.sse_data()] if sse else json.loads(rep.body)
    for o in objs:
        validate_stream_chunk(o)


@pytest.mark.parametrize("model", ["gem/gemini-2.5-flash", "gemx/gemini-2.5-flash"])
@pytest.mark.parametrize("sse", [False, True])
def test_upstream_drop_mid_stream_ends_with_a_google_error(gw, sim, model: str, sse: bool) -> None:
    from tests.sim import Drop

    sim.enqueue(Script([Text("a"), Text("b"), Drop()]))
    path = f"/v1beta/models/{model}:streamGenerateContent" + ("?alt=sse" if sse else "")
    rep = request(
        "POST", gw.url + path, {"contents": [{"parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY}
    )
    assert rep.status == 200
    objs = [json.loads(d) for d in rep.sse_data()] if sse else json.loads(rep.body)
    assert objs[-1]["error"]["status"] in ("INTERNAL", "UNAVAILABLE")
    assert "".join(p["text"] for o in objs[:-1] for p in o["candidates"][0]["content"]["parts"]) == "ab"
    for o in objs:
        validate_stream_chunk(o)
