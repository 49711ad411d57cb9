"""The official openai SDK against the real server (built-in demo provider): sync, async, stream or not."""

from __future__ import annotations

import asyncio

import openai
import pytest

from any2api.demo import DEMO_YAML

KEY = "sk-any2api-demo"


@pytest.fixture
def demo(start_gateway, monkeypatch):
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    return start_gateway(DEMO_YAML)


def test_sync_non_stream(demo):
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key=KEY)
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "ping pong"}]
    )
    assert r.choices[0].message.content.endswith("You said: ping pong")
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_sync_stream_with_usage_and_reasoning(demo):
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key=KEY)
    stream = client.chat.completions.create(
        model="deepseek-reasoner",
        messages=[{"role": "user", "content": "why"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, reasoning, usage, finish = "", "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            reasoning += getattr(c.delta, "reasoning_content", None) or ""
            finish = c.finish_reason or finish
    assert "You said: why" in text
    assert "The user said" in reasoning
    assert finish == "stop"
    assert usage is not None
    assert usage.completion_tokens > 0


def test_async_stream_tool_call(demo):
    async def run():
        client = openai.AsyncOpenAI(base_url=demo.url + "/v1", api_key=KEY)
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ]
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "get_weather for Paris"}],
            tools=tools,
            stream=True,
        )
        calls: dict[int, dict] = {}
        finish = None
        async for chunk in stream:
            for c in chunk.choices:
                for tc in c.delta.tool_calls or []:
                    d = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                    if tc.id:
                        d["id"] = tc.id
                    if tc.function and tc.function.name:
                        d["name"] = tc.function.name
                    if tc.function and tc.function.arguments:
                        d["args"] += tc.function.arguments
                finish = c.finish_reason or finish
        await client.close()
        return calls, finish

    calls, finish = asyncio.run(run())
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["args"] == '{"city":"demo"}'


def test_async_non_stream_max_tokens(demo):
    async def run():
        async with openai.AsyncOpenAI(base_url=demo.url + "/v1", api_key=KEY) as client:
            return await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello"}], max_tokens=2
            )

    r = asyncio.run(run())
    assert r.choices[0].finish_reason == "length"
    assert r.choices[0].message.content == "Hello from "


def test_models_list_and_get(demo):
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key=KEY)
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids
    assert "demo/demo-reasoner" in ids
    assert client.models.retrieve("deepseek-reasoner").id == "deepseek-reasoner"
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("no-such-model")
    assert e.value.code == "model_not_found"


def test_bad_key_is_401_authentication_error(demo):
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 401
    assert "sk-wrong" not in str(e.value)
