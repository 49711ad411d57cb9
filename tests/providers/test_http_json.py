"""The JSON-over-HTTP provider base (providers/http_json.py) against a small aiohttp upstream: auth header
styles, a streamed JSON array read element by element, errors before and after the response started,
the non-streamed path, model listing and the pass-through send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from any2api.config import ProviderConfig, Timeouts
from any2api.core.accumulator import accumulate
from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Event, Finish, ResponseStart
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.providers.base import Account
from any2api.providers.http_json import JsonHttpProvider, WireRequest
from any2api.providers.stream_parser import JsonStreamParser
from any2api.upstream import Upstream

pytestmark = pytest.mark.anyio


class ArrayParser(JsonStreamParser):
    """``[{"text": ...}, ..., {"done": true}]`` -> one text part."""

    def feed(self, obj: Any) -> list[Event]:
        if not self.started:
            self.started = True
            self.parts.events.append(ResponseStart("r1", "m", 0))
        if obj.get("text"):
            self.parts.text(obj["text"])
        if obj.get("done"):
            self.done = True
        return self.parts.take()

    def close(self) -> list[Event]:
        if not self.started:
            raise GatewayError("upstream", "nothing", code="upstream_empty")
        if not self.done:
            return [self.fail(GatewayError("upstream", "cut off", code="upstream_disconnected"))]
        self.parts.close()
        self.parts.events.append(Finish("stop"))
        return self.parts.take()


class ArrayProvider(JsonHttpProvider):
    stream_framing = "json-array"

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        body = orjson.dumps({"model": model, "say": req.messages[-1].parts[0].text})  # type: ignore[union-attr]
        return WireRequest(self.config.base_url + "/gen", body, self.headers(account, req.stream))

    def stream_parser(self, req: ChatRequest, model: str) -> ArrayParser:
        return ArrayParser()

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        p = ArrayParser()
        return p.feed({**obj, "done": True}) + p.close()


class Upstreamish:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[Any] = []
        self.gate = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/gen", self.gen)
        app.router.add_get("/models", self.models)
        return app

    async def gen(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        body = await request.json()
        self.bodies.append(body)
        say = body.get("say", "")
        if say == "denied":
            return web.json_response({"error": {"message": "bad key", "type": "auth"}}, status=401)
        if body.get("plain") or say.startswith("plain"):
            return web.json_response({"text": say})
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        if say == "empty-break":
            await resp.write(b"[")
            request.transport.close()  # type: ignore[union-attr]
            return resp
        await resp.write(b'[{"text": "one "}')
        await self.gate.wait()  # the first element must reach the client before the rest is sent
        await resp.write(b',\r\n{"text": "two"}')
        if say == "break":
            request.transport.close()  # type: ignore[union-attr]
            return resp
        await resp.write(b',{"done": true}]')
        await resp.write_eof()
        return resp

    async def models(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        return web.json_response({"data": [{"id": "m1", "created": 5}, {"id": "m2"}]})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstreamish, str]]:
    up = Upstreamish()
    runner = web.AppRunner(up.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield up, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _provider(base: str, **kw: Any) -> ArrayProvider:
    cfg = ProviderConfig(name="arr", type="arr", base_url=base, models=[], **kw)
    return ArrayProvider(cfg, Upstream(Timeouts(connect=5, first_byte=5, idle=5)))


def _req(text: str, stream: bool = True) -> ChatRequest:
    return ChatRequest(model="x", messages=[Message("user", [TextPart(text)])], stream=stream)


ACCT = Account(id="arr#0", provider="arr", api_key="sk-1")


async def test_a_streamed_json_array_is_read_element_by_element(upstream: tuple[Upstreamish, str]) -> None:
    up, base = upstream
    prov = _provider(base)
    events: list[Event] = []
    try:
        async for e in prov.stream(_req("hi"), "m", ACCT):
            events.append(e)
            if len(events) == 2:  # ResponseStart, then the first part: before the rest was sent
                up.gate.set()
    finally:
        await prov.upstream.close()
    resp = accumulate(events)
    assert resp.text() == "one two"
    assert resp.finish_reason == "stop"
    assert up.headers[0]["Authorization"] == "Bearer sk-1"
    assert up.headers[0]["Accept"] == "application/json"
    assert up.bodies[0] == {"model": "m", "say": "hi"}


async def test_a_break_after_the_start_is_an_error_event(upstream: tuple[Upstreamish, str]) -> None:
    up, base = upstream
    up.gate.set()
    prov = _provider(base)
    try:
        events = [e async for e in prov.stream(_req("break"), "m", ACCT)]
    finally:
        await prov.upstream.close()
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].error.code == "upstream_disconnected"
    assert accumulate(events[:-1]).text() == "one two"


async def test_failures_before_the_start_are_raised(upstream: tuple[Upstreamish, str]) -> None:
    _, base = upstream
    prov = _provider(base)
    try:
        with pytest.raises(GatewayError) as e:
            [e async for e in prov.stream(_req("denied"), "m", ACCT)]
        assert e.value.code == "upstream_auth_failed"
        assert e.value.upstream_status == 401
        with pytest.raises(GatewayError) as e:
            [e async for e in prov.stream(_req("empty-break"), "m", ACCT)]
        assert e.value.code in ("upstream_empty", "upstream_disconnected")
    finally:
        await prov.upstream.close()


async def test_not_streamed_and_trace(upstream: tuple[Upstreamish, str]) -> None:
    up, base = upstream
    prov = _provider(base)
    seen: list[str] = []
    prov.trace = lambda kind, value: seen.append(kind)
    req = _req("plain answer", stream=False)
    try:
        resp = accumulate([e async for e in prov.stream(req, "m", ACCT)])
    finally:
        await prov.upstream.close()
    assert resp.text() == "plain answer"
    assert seen == ["request", "response", "chunk"]
    assert up.headers[0]["Accept"] == "*/*"  # aiohttp's default: nothing of ours when not streaming


@pytest.mark.parametrize(
    ("style", "header", "value"),
    [(None, "Authorization", "Bearer sk-1"), ("bearer", "Authorization", "Bearer sk-1"),
     ("x-api-key", "x-api-key", "sk-1"), ("X-Goog-Api-Key", "X-Goog-Api-Key", "sk-1"), ("none", None, None)],
)  # fmt: skip
def test_auth_header_styles(style: str | None, header: str | None, value: str | None) -> None:
    prov = _provider("http://up.test", auth_header=style, headers={"X-Extra": "1"})
    h = prov.headers(ACCT, stream=False)
    assert h["Content-Type"] == "application/json"
    assert h["X-Extra"] == "1"
    if header is None:
        assert not any(k.lower() in ("authorization", "x-api-key") for k in h)
    else:
        assert h[header] == value
    assert prov.headers(ACCT, stream=False) is h  # cached per key
    assert prov.headers(ACCT, stream=True)["Accept"] == "application/json"
    assert "Accept" not in h


async def test_model_listing_and_pass_through_send(upstream: tuple[Upstreamish, str]) -> None:
    up, base = upstream
    up.gate.set()
    prov = _provider(base, discover_models=True, api_keys=["sk-9"])
    prov.models_url = base + "/models"
    try:
        models = await prov.list_models()
        assert (models[0].id, models[0].created, models[1].id) == ("m1", 5, "m2")
        assert up.headers[-1]["Authorization"] == "Bearer sk-9"
        resp = await prov.send(
            base + "/gen", orjson.dumps({"say": "raw", "plain": True}), prov.headers(ACCT, False), None
        )
        try:
            assert await resp.json() == {"text": "raw"}
        finally:
            resp.release()
    finally:
        await prov.upstream.close()
