"""A built-in simulated upstream for ``any2api serve --demo``: no network, deterministic answers.

It streams like a real model: reasoning first for models named ``*reasoner*``, then text; when the
request carries tools and the last user text mentions one of them, it calls that tool."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import orjson

from ..config_types import ConfigPath, ProviderConfig
from ..core.events import Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ..core.parts import ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from ..core.request import ChatRequest, ToolDef
from ..core.response import FinishReason, Usage
from .base import Account, ModelInfo, Provider
from .registry import register_provider

if TYPE_CHECKING:
    from ..upstream import Upstream


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in text.split(" "):
        out.append(w + " ")
    if out:
        out[-1] = out[-1][:-1]
    return out


def demo_options(config: ProviderConfig, where: ConfigPath) -> float | None:
    """``options.delay``: seconds between streamed pieces (default 0.01 streaming, 0 otherwise)."""
    for k in config.options:
        if k != "delay":
            raise where.error(f"options.{k}", "unknown option (a demo provider takes: delay)")
    delay = config.options.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
        raise where.error("options.delay", "must be a number of seconds")
    return float(delay) if delay is not None else None


def _last_turn(req: ChatRequest) -> tuple[str, ToolResultPart | None]:
    """The last user text, and the tool result the last message answers with (if it does)."""
    last_user = ""
    last_tool: ToolResultPart | None = None
    for m in req.messages:
        for p in m.parts:
            if isinstance(p, TextPart) and m.role == "user":
                last_user = p.text
            elif isinstance(p, ToolResultPart):
                last_tool = p
    if (
        req.messages
        and req.messages[-1].role not in ("tool",)
        and not any(isinstance(p, ToolResultPart) for p in req.messages[-1].parts)
    ):
        last_tool = None
    return last_user, last_tool


def _tool_to_call(req: ChatRequest, last_user: str, last_tool: ToolResultPart | None) -> ToolDef | None:
    if (
        not req.tools
        or last_tool is not None
        or (req.tool_choice is not None and req.tool_choice.mode == "none")
    ):
        return None
    for t in req.tools:
        if t.name.lower() in last_user.lower() or (req.tool_choice and req.tool_choice.mode != "auto"):
            return t
    return None


class DemoProvider(Provider):
    dialect = "demo"

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        self.delay = demo_options(config, ConfigPath(f"providers.{config.name}"))

    @property
    def passthrough(self) -> bool:
        return False

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        delay = self.delay if self.delay is not None else (0.01 if req.stream else 0.0)
        last_user, last_tool = _last_turn(req)
        yield ResponseStart(f"chatcmpl-demo-{uuid.uuid4().hex[:16]}", model, int(time.time()))
        idx = 0
        out_tokens = 0
        if "reasoner" in model:
            thought = f"The user said: {last_user[:80]!r}. A short, friendly answer will do."
            yield PartStart(idx, ReasoningPart(""))
            for w in _words(thought):
                out_tokens += 1
                yield PartDelta(idx, w)
                await asyncio.sleep(delay)
            yield PartEnd(idx)
            idx += 1
        tool = _tool_to_call(req, last_user, last_tool)
        finish: FinishReason
        if tool is not None:
            args = orjson.dumps({k: "demo" for k in (tool.parameters.get("properties") or {})}).decode()
            yield PartStart(idx, ToolCallPart(f"call_{uuid.uuid4().hex[:24]}", tool.name, ""))
            for i in range(0, len(args), 8):
                yield PartDelta(idx, args[i : i + 8])
                await asyncio.sleep(delay)
            yield PartEnd(idx)
            finish = "tool_calls"
            out_tokens += len(args) // 4 + 1
        else:
            if last_tool is not None:
                content = last_tool.content if isinstance(last_tool.content, str) else "(structured result)"
                answer = f"The tool returned: {content}"
            else:
                answer = f"Hello from the any2api demo model {model}. You said: {last_user}"
            words = _words(answer)
            limit = req.max_tokens if req.max_tokens is not None else len(words)
            yield PartStart(idx, TextPart(""))
            for w in words[:limit]:
                out_tokens += 1
                yield PartDelta(idx, w)
                await asyncio.sleep(delay)
            yield PartEnd(idx)
            finish = "length" if limit < len(words) else "stop"
        in_tokens = sum(len(p.text.split()) for m in req.messages for p in m.parts if isinstance(p, TextPart))
        yield UsageEvent(Usage(in_tokens + 5, out_tokens))
        yield Finish(finish)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(m.id, m.display_name) for m in self.config.models]


register_provider("demo", DemoProvider, wire="demo", options=demo_options)
