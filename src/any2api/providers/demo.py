"""A built-in simulated upstream for ``any2api serve --demo``: no network, deterministic answers.

It streams like a real model: reasoning first for models named ``*reasoner*``, then text; when the
request carries tools and the last user text mentions one of them, it calls that tool."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator

import orjson

from ..core.events import Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ..core.parts import ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from ..core.request import ChatRequest
from ..core.response import Usage
from .base import Account, ModelInfo, Provider, register


def _words(text: str) -> list[str]:
    out: list[str] = []
    for w in text.split(" "):
        out.append(w + " ")
    if out:
        out[-1] = out[-1][:-1]
    return out


@register("demo")
class DemoProvider(Provider):
    dialect = "demo"

    @property
    def passthrough(self) -> bool:
        return False

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        delay = float(self.config.options.get("delay", 0.01 if req.stream else 0.0))
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
        tool = None
        if req.tools and last_tool is None and (req.tool_choice is None or req.tool_choice.mode != "none"):
            for t in req.tools:
                if t.name.lower() in last_user.lower() or (
                    req.tool_choice and req.tool_choice.mode != "auto"
                ):
                    tool = t
                    break
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
        yield Finish(finish)  # type: ignore[arg-type]

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(m.id, m.display_name) for m in self.config.models]
