"""Upstreams that speak OpenAI Chat Completions (OpenAI, DeepSeek, any OpenAI-shaped endpoint).

Every profile in ``profiles.BUILTIN`` is a provider type of this class: a vendor is one profile entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ..core.events import Event
from ..core.request import ChatRequest
from ..wire.openai_chat import NAME
from .base import Account, ModelInfo
from .http_json import JsonHttpProvider, WireRequest
from .openai_wire import ChunkParser, ReasoningMemory, apply_params, build_body, completion_events
from .profiles import BUILTIN, profile_for
from .registry import register_provider

if TYPE_CHECKING:
    import aiohttp

    from ..config_types import ProviderConfig
    from ..upstream import Upstream


class OpenAICompatProvider(JsonHttpProvider):
    dialect = NAME

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        self.profile = profile_for(config)
        super().__init__(config, upstream)
        self.auth = self.profile.auth_header
        self.url = self.profile.base_url + self.profile.chat_path
        self.memory = ReasoningMemory() if self.profile.echo_reasoning_with_tool_calls else None
        if self.profile.models_path:
            self.models_url = self.profile.base_url + self.profile.models_path

    def base_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", **dict(self.profile.headers)}

    def can_forward(self, body: dict[str, Any]) -> bool:
        """Pass-through is exact unless the profile must rewrite history (DeepSeek tool turns)."""
        if self.memory is None:
            return True
        messages = body.get("messages", ())
        return "tools" not in body and not any(
            isinstance(m, dict) and m.get("role") == "tool" for m in messages
        )

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
        return await self.send(
            self.url, orjson.dumps(out), self.headers(account, stream), self.proxy(account)
        )

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        body = orjson.dumps(build_body(req, model, self.profile, self.memory, self.name))
        return WireRequest(self.url, body, self.headers(account, req.stream))

    def stream_parser(self, req: ChatRequest, model: str) -> ChunkParser:
        return ChunkParser(self.profile, model, self.memory)

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        return completion_events(obj, self.profile, model, self.memory)

    async def list_models(self) -> list[ModelInfo]:
        if not self.config.discover_models or not self.models_url:
            configured = [ModelInfo(m.id, m.display_name) for m in self.config.models]
            return configured or [ModelInfo(m) for m in self.profile.models]
        return await super().list_models()


for _name in BUILTIN:
    register_provider(_name, OpenAICompatProvider, wire=NAME)
