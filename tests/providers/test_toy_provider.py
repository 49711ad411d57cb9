"""A toy upstream added without touching src/: its own module (``toy_provider.py``), one registration call,
a YAML config, the real gateway on loopback, the official openai SDK (stream and not)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from aiohttp import web

from any2api.config import ConfigError, parse_config
from any2api.providers.registry import provider_types, register_provider, unregister_provider

from .toy_provider import NAME, ToyProvider, toy_options

CLIENT_KEY = "sk-toy-client"


class ToyUpstream:
    """The toy chat API in a background thread: echoes the last turn, in the persona it was asked for."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def toy(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        if request.headers.get("X-Toy-Key") != "toy-secret":
            return web.json_response({"oops": "who are you?"}, status=401)
        say = body["turns"][-1]["say"]
        words = [f"{body['persona']}:", *say.split()]
        thought = f"they said {len(words) - 1} words"
        tokens = [len(body["turns"]), len(words)]
        if not body["stream"]:
            return web.json_response({"id": "toy-9", "thought": thought, "reply": " ".join(words), "end": "stop",
                                      "tokens": tokens})  # fmt: skip
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        await resp.write(json.dumps({"id": "toy-9", "thought": thought}).encode() + b"\n")
        for i, w in enumerate(words):
            line = json.dumps({"piece": w if i == 0 else " " + w}).encode() + b"\n"
            await resp.write(line[:5])  # split anywhere: the NDJSON framing copes
            await resp.write(line[5:])
        await resp.write(json.dumps({"end": "stop", "tokens": tokens}).encode() + b"\n")
        await resp.write_eof()
        return resp

    def start(self) -> ToyUpstream:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/v1/toy", self.toy)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            started.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert started.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


@pytest.fixture
def toy_type() -> Iterator[None]:
    register_provider("toy", ToyProvider, wire=NAME, options=toy_options)  # the one registration line
    yield
    unregister_provider("toy")


@pytest.fixture
def toy_upstream() -> Iterator[ToyUpstream]:
    up = ToyUpstream().start()
    yield up
    up.stop()


def _config(port: int, persona: str = "pirate") -> str:
    return f"""
auth:
  keys: [{CLIENT_KEY}]
providers:
  - name: toyland
    type: toy
    base_url: http://127.0.0.1:{port}
    api_keys: [toy-secret]
    models: [toy-1]
    options:
      persona: {persona}
models:
  gpt-toy: toyland/toy-1
"""


def test_the_toy_type_is_known_to_the_config_with_its_own_option_errors(toy_type: None) -> None:
    assert "toy" in provider_types()
    with pytest.raises(ConfigError) as e:
        parse_config(_config(1).replace("persona: pirate", "persona: pirate\n      colour: red"))
    assert (e.value.path, e.value.line) == ("providers[0].options.colour", 12)


def test_the_openai_sdk_through_the_gateway_to_the_toy_upstream(
    toy_type: None, toy_upstream: ToyUpstream, start_gateway: Any
) -> None:
    gw = start_gateway(_config(toy_upstream.port))
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=CLIENT_KEY)

    r = client.chat.completions.create(
        model="gpt-toy",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "ahoy there"}],
    )
    assert r.choices[0].message.content == "pirate: ahoy there"
    assert getattr(r.choices[0].message, "reasoning_content", None) == "they said 2 words"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (2, 3)
    headers, body = toy_upstream.requests[-1]
    assert headers["X-Toy-Key"] == "toy-secret"
    assert body == {
        "model": "toy-1",
        "persona": "pirate",
        "stream": False,
        "turns": [{"who": "system", "say": "be brief"}, {"who": "user", "say": "ahoy there"}],
    }

    stream = client.chat.completions.create(
        model="toyland/toy-1",
        messages=[{"role": "user", "content": "stream me a tale"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, reasoning, finish, usage = "", "", None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for c in chunk.choices:
            text += c.delta.content or ""
            reasoning += getattr(c.delta, "reasoning_content", None) or ""
            finish = c.finish_reason or finish
    assert text == "pirate: stream me a tale"
    assert reasoning == "they said 4 words"
    assert finish == "stop"
    assert usage is not None
    assert usage.completion_tokens == 5
    assert toy_upstream.requests[-1][1]["stream"] is True
    assert toy_upstream.requests[-1][0]["Accept"] == "application/x-ndjson"


def test_content_the_toy_cannot_take_is_a_clear_400(
    toy_type: None, toy_upstream: ToyUpstream, start_gateway: Any
) -> None:
    gw = start_gateway(_config(toy_upstream.port))
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gpt-toy",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        )
    assert "no tools" in str(e.value)
