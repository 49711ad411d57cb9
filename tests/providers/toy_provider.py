"""A toy upstream wire format, written the way the recipe "Add an upstream" says (nothing in src/ changes).

The "toy chat" API: ``POST {base_url}/v1/toy`` with ``{"model", "persona", "stream", "turns": [{"who",
"say"}]}`` and the key in ``X-Toy-Key``. A streamed answer is NDJSON: ``{"thought": ...}`` and ``{"piece":
...}`` lines, then ``{"end": "stop" | "length", "tokens": [in, out]}``; a whole answer is one object
``{"thought", "reply", "end", "tokens"}``. Errors mid-stream: ``{"oops": "message"}``.

Registered at run time (one call): ``register_provider("toy", ToyProvider, wire=NAME, options=toy_options)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from any2api.config import ConfigPath, ProviderConfig
from any2api.core.errors import GatewayError, invalid
from any2api.core.events import Event, Finish, ResponseStart, UsageEvent
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest
from any2api.core.response import FinishReason, Usage
from any2api.providers.base import Account
from any2api.providers.http_json import JsonHttpProvider, WireRequest
from any2api.providers.stream_parser import JsonStreamParser
from any2api.upstream import Upstream

NAME = "toy_chat"
"""The wire format's name (no client dialect speaks it, so requests are always translated)."""

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


# -- 1. options: validated at config load (errors name the key and its line) and by the constructor


@dataclass(frozen=True, slots=True)
class ToyOptions:
    persona: str = "plain"


def toy_options(config: ProviderConfig, where: ConfigPath) -> ToyOptions:
    for k in config.options:
        if k != "persona":
            raise where.error(f"options.{k}", "unknown option (a toy provider takes: persona)")
    persona = config.options.get("persona", "plain")
    if not isinstance(persona, str) or not persona:
        raise where.error("options.persona", "must be a non-empty string")
    return ToyOptions(persona)


# -- 2. the response parser: decoded JSON frames -> hub events, parts built by the parts manager


class ToyParser(JsonStreamParser):
    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.finish: FinishReason = "stop"
        self.usage: Usage | None = None

    def feed(self, obj: Any) -> list[Event]:
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Toy sent something that is not an object: {obj!r:.100}")
        parts = self.parts
        if "oops" in obj:
            if not self.started:  # before the answer started: raised, so the gateway may retry elsewhere
                raise GatewayError("upstream", f"Toy error: {obj['oops']}")
            out = parts.take()
            out.append(self.fail(GatewayError("upstream", f"Toy error: {obj['oops']}")))
            return out
        if not self.started:
            self.started = True
            parts.events.append(ResponseStart(str(obj.get("id") or "toy-1"), self.model, 0))
        if obj.get("thought"):
            parts.reasoning(str(obj["thought"]))
        if obj.get("piece"):
            parts.text(str(obj["piece"]))
        if "end" in obj:
            self.finish = _FINISH.get(str(obj["end"]), "stop")
            tokens = obj.get("tokens")
            if isinstance(tokens, list) and len(tokens) == 2:
                self.usage = Usage(int(tokens[0]), int(tokens[1]))
            self.done = True  # nothing more to read
        return parts.take()

    def close(self) -> list[Event]:
        if self.failed:
            return []
        if not self.started:
            raise GatewayError("upstream", "Toy closed the stream without an answer", code="upstream_empty")
        parts = self.parts
        if not self.done:
            out = parts.take()
            out.append(
                self.fail(GatewayError("upstream", "Toy stream ended early", code="upstream_disconnected"))
            )
            return out
        parts.close()
        if self.usage is not None:
            parts.events.append(UsageEvent(self.usage))
        parts.events.append(Finish(self.finish))
        return parts.take()


# -- 3. the provider: the request, which parser, a whole answer; the base sends, decodes, feeds, closes


class ToyProvider(JsonHttpProvider):
    auth_style = "X-Toy-Key"
    stream_framing = "ndjson"

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        self.options = toy_options(config, ConfigPath(f"providers.{config.name}"))
        self.url = config.base_url + "/v1/toy"

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        if req.tools:
            raise invalid("The toy upstream has no tools.", "tools")
        turns = []
        for i, m in enumerate(req.messages):
            if not all(isinstance(p, TextPart) for p in m.parts):
                raise invalid(f"The toy upstream takes text only (messages[{i}]).", f"messages[{i}]")
            turns.append({"who": m.role, "say": "".join(p.text for p in m.parts if isinstance(p, TextPart))})
        body = {"model": model, "persona": self.options.persona, "stream": req.stream, "turns": turns}
        return WireRequest(self.url, orjson.dumps(body), self.headers(account, req.stream))

    def stream_parser(self, req: ChatRequest, model: str) -> ToyParser:
        return ToyParser(model)

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        if not isinstance(obj, dict) or "reply" not in obj:
            raise GatewayError("upstream", f"Toy sent an unexpected answer: {str(obj)[:200]}")
        p = ToyParser(model)
        events = p.feed({"thought": obj.get("thought"), "piece": obj["reply"], "id": obj.get("id")})
        events += p.feed({"end": obj.get("end", "stop"), "tokens": obj.get("tokens")})
        return events + p.close()
