"""Hub events -> ``chat.completion.chunk`` SSE."""

from __future__ import annotations

import time
import uuid
from typing import Any, assert_never

import orjson

from ...core.errors import GatewayError
from ...core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ...core.parts import (
    ImagePart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
)
from ...core.request import ChatRequest
from ...core.response import Usage
from ...wire.openai_chat import FINISH_OUT, error_json, usage_json
from ..base import StreamRenderer


class OpenAIStreamRenderer(StreamRenderer):
    """Hub events -> ``chat.completion.chunk`` SSE. The invariant part of every chunk is encoded once."""

    def __init__(self, req: ChatRequest, error_body: Any = error_json) -> None:
        self.include_usage = req.include_usage
        self.model = req.model
        self._error_body = error_body
        self._prefix = b""
        self._tool_index: dict[int, int] = {}
        self._reasoning_index: dict[int, int] = {}
        self._kinds: dict[int, str] = {}
        self._usage: Usage | None = None
        self._finished = False
        self._started = False
        self._id = ""
        self._created = 0

    def _begin(self, rid: str, model: str, created: int) -> bytes:
        self._started = True
        self._id, self._created = rid or f"chatcmpl-{uuid.uuid4().hex}", created or int(time.time())
        self.model = self.model or model  # the name the client asked for, not the upstream's
        head = orjson.dumps({"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                             "model": self.model})  # fmt: skip
        self._prefix = b"data: " + head[:-1] + b',"choices":[{"index":0,"delta":'
        return self._chunk({"role": "assistant", "content": "", "refusal": None})

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        tail = b',"logprobs":null,"finish_reason":null}]}\n\n' if finish is None else (
            b',"logprobs":null,"finish_reason":"' + finish.encode() + b'"}]}\n\n')  # fmt: skip
        return self._prefix + orjson.dumps(delta) + tail

    def event(self, e: Event) -> bytes:
        if isinstance(e, ResponseStart):
            if e.usage is not None:
                self._usage = Usage()
                self._usage.merge(e.usage)
            return self._begin(e.id, e.model, e.created)
        pre = self._begin("", "", 0) if not self._started else b""
        if isinstance(e, PartStart):
            p = e.part
            if isinstance(p, ToolCallPart):
                ti = self._tool_index[e.index] = len(self._tool_index)
                self._kinds[e.index] = "tool"
                fn = {"name": p.name, "arguments": p.arguments}
                return pre + self._chunk(
                    {"tool_calls": [{"index": ti, "id": p.id, "type": "function", "function": fn}]}
                )
            if isinstance(p, ReasoningPart):
                self._kinds[e.index] = "reasoning"
                ri = self._reasoning_index[e.index] = len(self._reasoning_index)
                if p.redacted:
                    return pre + self._chunk({"reasoning_details": [
                        {"type": "reasoning.encrypted", "data": p.redacted, "index": ri}]})  # fmt: skip
                out = self._chunk({"reasoning_content": p.text}) if p.text else b""
                if p.signature:
                    out += self._signature(ri, p.signature)
                return pre + out
            if isinstance(p, TextPart):
                refusal = bool(p.provider_details and p.provider_details.get("openai", {}).get("refusal"))
                self._kinds[e.index] = "refusal" if refusal else "text"
                if p.text:
                    return pre + self._chunk({"refusal" if refusal else "content": p.text})
                return pre
            if isinstance(p, ImagePart | ServerToolCallPart | ServerToolResultPart):
                self._kinds[e.index] = "skip"  # not representable in Chat Completions: left out
                return pre
            assert_never(p)
        if isinstance(e, PartDelta):
            kind = self._kinds.get(e.index)
            if kind == "text":
                return pre + (self._chunk({"content": e.delta}) if e.delta else b"")
            if kind == "reasoning":
                out = self._chunk({"reasoning_content": e.delta}) if e.delta else b""
                if e.signature:
                    out += self._signature(self._reasoning_index[e.index], e.signature)
                return pre + out
            if kind == "tool":
                if not e.delta:
                    return pre
                return pre + self._chunk({"tool_calls": [{"index": self._tool_index[e.index],
                                                          "function": {"arguments": e.delta}}]})  # fmt: skip
            if kind == "refusal":
                return pre + self._chunk({"refusal": e.delta})
            raise ValueError(f"delta for unknown part index {e.index}")
        if isinstance(e, PartEnd):
            return pre
        if isinstance(e, UsageEvent):
            if self._usage is None:
                self._usage = Usage()
            self._usage.merge(e.usage)
            return pre
        if isinstance(e, Finish):
            self._finished = True
            return pre + self._chunk({}, FINISH_OUT.get(e.reason, "stop"))
        if isinstance(e, ErrorEvent):
            return pre + self.error(e.error)
        assert_never(e)

    def _signature(self, ri: int, signature: str) -> bytes:
        """A reasoning signature as OpenRouter-style ``reasoning_details`` (clients send it back as is)."""
        return self._chunk({"reasoning_details": [
            {"type": "reasoning.text", "text": "", "signature": signature, "index": ri}]})  # fmt: skip

    def _usage_chunk(self) -> bytes:
        if not self.include_usage or self._usage is None:
            return b""
        body = {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self.model,
                "choices": [], "usage": usage_json(self._usage)}  # fmt: skip
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def error(self, err: GatewayError) -> bytes:
        return b"data: " + orjson.dumps(self._error_body(err)) + b"\n\ndata: [DONE]\n\n"

    def end(self) -> bytes:
        return self._usage_chunk() + b"data: [DONE]\n\n"
