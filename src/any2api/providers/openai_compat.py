"""Upstreams that speak OpenAI Chat Completions (OpenAI, DeepSeek, any OpenAI-shaped endpoint)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ..core.errors import GatewayError
from ..core.events import ErrorEvent, Event, PartStart
from ..core.parts import ToolCallPart
from ..core.request import ChatRequest
from ..sse import SSEDecoder
from ..upstream import iter_body, read_body
from .base import Account, ModelInfo, Provider, register
from .openai_wire import ChunkParser, ReasoningMemory, apply_params, build_body, completion_events
from .profiles import profile_for

if TYPE_CHECKING:
    import aiohttp

    from ..config import ProviderConfig
    from ..upstream import Upstream


@register("openai", "deepseek")
class OpenAICompatProvider(Provider):
    dialect = "openai_chat"

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        self.profile = profile_for(config)
        self.url = self.profile.base_url + self.profile.chat_path
        self.memory = ReasoningMemory() if self.profile.echo_reasoning_with_tool_calls else None
        self._base_headers = {"Content-Type": "application/json", **dict(self.profile.headers)}
        self._headers_cache: dict[str | None, dict[str, str]] = {}

    def headers(self, account: Account, stream: bool) -> dict[str, str]:
        key = account.api_key
        h = self._headers_cache.get(key)
        if h is None:
            h = dict(self._base_headers)
            style = self.profile.auth_header.lower()
            if key:
                if style == "bearer":
                    h["Authorization"] = f"Bearer {key}"
                elif style != "none":
                    h[self.profile.auth_header] = key
            if len(self._headers_cache) < 1024:
                self._headers_cache[key] = h
        if stream:
            return {**h, "Accept": "text/event-stream"}
        return h

    @property
    def passthrough(self) -> bool:
        return self.config.passthrough

    def can_forward(self, body: dict[str, Any]) -> bool:
        """Pass-through is exact unless the profile must rewrite history (DeepSeek tool turns)."""
        if self.memory is None:
            return True
        messages = body.get("messages", ())
        return "tools" not in body and not any(
            isinstance(m, dict) and m.get("role") == "tool" for m in messages
        )

    async def _send(self, body: bytes, account: Account, stream: bool) -> aiohttp.ClientResponse:
        return await self.post(self.url, body, self.headers(account, stream), account.proxy)

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        out = dict(body)
        out["model"] = model
        if stream:
            so = out.get("stream_options")
            out["stream_options"] = (
                {**so, "include_usage": True} if isinstance(so, dict) else {"include_usage": True}
            )
        apply_params(out, self.profile)
        return await self._send(orjson.dumps(out), account, stream)

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        body = orjson.dumps(build_body(req, model, self.profile, self.memory))
        resp = await self._send(body, account, req.stream)
        try:
            if not req.stream:
                raw = await read_body(resp, self.timeouts.idle)
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise GatewayError("upstream", f"Upstream sent invalid JSON: {raw[:200]!r}") from None
                events = completion_events(obj, self.profile, model)
                self._remember(events)
                for e in events:
                    yield e
                return
            async for e in self._stream_events(resp, model):
                yield e
        finally:
            resp.release()

    async def _stream_events(self, resp: aiohttp.ClientResponse, model: str) -> AsyncIterator[Event]:
        parser = ChunkParser(self.profile, model)
        decoder = SSEDecoder()
        saw_done = False
        try:
            async for chunk in iter_body(resp, self.timeouts.idle):
                if chunk is None:
                    continue
                for ev in decoder.feed(chunk):
                    data = ev.data
                    if data == "[DONE]":
                        saw_done = True
                        continue
                    if not data:
                        continue
                    try:
                        obj = orjson.loads(data)
                    except orjson.JSONDecodeError:
                        raise GatewayError(
                            "upstream", f"Upstream sent invalid JSON in its stream: {data[:200]!r}"
                        ) from None
                    for e in parser.feed(obj):
                        yield e
                        if isinstance(e, ErrorEvent):
                            return
            for ev in decoder.close():
                if ev.data == "[DONE]":
                    saw_done = True
        except GatewayError as err:
            if not parser.started:
                raise
            for e in parser.close(saw_done=True)[:-1]:
                yield e
            yield ErrorEvent(err)
            return
        for e in parser.close(saw_done):
            yield e
        if self.memory is not None and parser.tool_ids and parser.reasoning_text:
            self.memory.put(parser.tool_ids, "".join(parser.reasoning_text))

    def _remember(self, events: list[Event]) -> None:
        if self.memory is None:
            return
        ids = [e.part.id for e in events if isinstance(e, PartStart) and isinstance(e.part, ToolCallPart)]
        reasoning = "".join(
            e.part.text for e in events if isinstance(e, PartStart) and e.part.kind == "reasoning"
        )
        if ids and reasoning:
            self.memory.put(ids, reasoning)

    async def list_models(self) -> list[ModelInfo]:
        configured = [ModelInfo(m.id, m.display_name) for m in self.config.models]
        if not self.config.discover_models or not self.profile.models_path:
            return configured or [ModelInfo(m) for m in self.profile.models]
        key = self.config.api_keys[0] if self.config.api_keys else None
        account = Account(
            id=f"{self.name}#discover", provider=self.name, api_key=key, proxy=self.config.proxy
        )
        doc = await self.get_json(self.profile.base_url + self.profile.models_path, self.headers(account, False),
                                  account.proxy, "/models")  # fmt: skip
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise GatewayError("upstream", "Upstream /models answer is not an OpenAI model list")
        found = [ModelInfo(str(m["id"]), created=int(m.get("created") or time.time())) for m in data
                 if isinstance(m, dict) and m.get("id")]  # fmt: skip
        known = {m.id for m in found}
        return found + [m for m in configured if m.id not in known]
