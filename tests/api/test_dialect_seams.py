"""The general seams a dialect may use (added for Gemini, usable by any): ``Dialect.variant`` (a twin per
request framing, e.g. ``?alt=sse``), ``Dialect.before_translation`` (refuse what only some upstream wire
formats carry), and a POST route with parameters declared before a chat route that also matches it (the
front door tries them in declaration order). A variant of the toy dialect, through the real app and the
demo provider."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import ClassVar

import orjson
import pytest

from any2api.core.errors import GatewayError, invalid
from any2api.core.events import Event, PartDelta
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.demo import DEMO_YAML
from any2api.formats import registry
from any2api.formats.base import (
    SSE_CONTENT_TYPE,
    Dialect,
    DialectRoute,
    RequestContext,
    StreamRenderer,
    chat_route,
    count_tokens_route,
)
from tests.formats.toy_dialect import ToyDialect, ToyStreamRenderer
from tests.rawhttp import request

KEY = "sk-any2api-demo"


class LinesRenderer(ToyStreamRenderer):
    """The twin's framing: one SSE event per delta."""

    content_type: ClassVar[bytes] = SSE_CONTENT_TYPE

    def start(self) -> bytes:
        return b""

    def event(self, e: Event) -> bytes:
        return b"data: " + orjson.dumps({"delta": e.delta}) + b"\n\n" if isinstance(e, PartDelta) else b""

    def end(self) -> bytes:
        return b"data: [END]\n\n"


class Twin(ToyDialect):
    name: ClassVar[str] = "toy_twin"
    namespaces: ClassVar[tuple[str, ...]] = ("/twin",)

    def __init__(self, lines: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.seen_wires: list[frozenset[str]] = []
        self._lines = self if lines else Twin(lines=True)

    def routes(self) -> Sequence[DialectRoute]:
        return (
            count_tokens_route("/twin/v1/models/{model}:count"),  # before the chat route that matches it too
            chat_route("/twin/v1/models/{model}:{action}"),
        )

    def variant(self, ctx: RequestContext) -> Dialect:
        return self._lines if ctx.query.get("framing") == "lines" else self

    async def before_translation(self, ctx: RequestContext, wires: frozenset[str]) -> None:
        (self if not self.lines else REGISTERED).seen_wires.append(wires)
        if ctx.json.get("toy_only") and wires != {"toy"}:
            raise invalid("'toy_only' needs a toy upstream.", "toy_only", "unsupported_value")

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return LinesRenderer() if self.lines else ToyStreamRenderer()

    def parse_count_request(self, ctx: RequestContext) -> ChatRequest:
        return ChatRequest(
            model=ctx.path_params["model"], messages=[Message("user", [TextPart(ctx.json["prompt"])])]
        )

    def render_token_count(self, n: int) -> bytes:
        return orjson.dumps({"count": n})


REGISTERED = Twin()


@pytest.fixture
def gw(start_gateway, monkeypatch) -> Iterator[object]:
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    registry.register(REGISTERED)
    try:
        yield start_gateway(DEMO_YAML)
    finally:
        registry.unregister(REGISTERED.name)
        REGISTERED.seen_wires.clear()


def test_variant_picks_the_framing_per_request(gw) -> None:
    url = gw.url + "/twin/v1/models/gpt-4o:streamSay"
    r = request("POST", url + f"?key={KEY}", {"prompt": "hi", "limit": 2})
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.body)[-1]["finish"] == "length"
    r = request("POST", url + f"?key={KEY}&framing=lines", {"prompt": "hi", "limit": 2})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.body.endswith(b"data: [END]\n\n")
    assert [json.loads(d)["delta"] for d in r.sse_data() if d != "[END]"] == ["Hello ", "from "]


def test_before_translation_sees_the_upstream_wires_and_may_refuse(gw) -> None:
    url = gw.url + f"/twin/v1/models/gpt-4o:say?key={KEY}"
    assert request("POST", url, {"prompt": "x"}).status == 200
    assert REGISTERED.seen_wires == [frozenset({"demo"})]
    r = request("POST", url, {"prompt": "x", "toy_only": True})
    assert r.status == 400
    assert r.json()["toy_error"] == {"code": "unsupported_value", "message": "'toy_only' needs a toy upstream.",
                                     "field": "toy_only"}  # fmt: skip


def test_a_post_route_declared_before_a_matching_chat_route_wins(gw) -> None:
    r = request("POST", gw.url + f"/twin/v1/models/gpt-4o:count?key={KEY}", {"prompt": "count these words"})
    assert r.status == 200, r.body
    assert r.json()["count"] > 0


def test_hooks_run_only_when_overridden() -> None:
    from any2api.api.chat import ChatEndpoint, Runtime

    plain = ChatEndpoint(Runtime(), registry.get("openai_chat"))
    assert plain._variant is None
    assert plain._translating is None
    twin = ChatEndpoint(Runtime(), REGISTERED)
    assert twin._variant is not None
    assert twin._translating is not None
    ctx = RequestContext("POST", "/", {}, body=b'{"toy_only": true}')
    with pytest.raises(GatewayError):
        asyncio.run(REGISTERED.before_translation(ctx, frozenset({"openai_chat"})))
