"""Hub events -> Gemini's streamed ``GenerateContentResponse`` chunks, in either framing Google uses.

* ``alt=sse``: one ``data: {chunk}`` event per chunk. The keep-alive is a blank line: Google's SDKs read any
  other non-``data:`` line as JSON, so an SSE comment would break them.
* without ``alt``: ONE JSON array written as it grows, ``[`` (:meth:`start`), the first chunk, ``,\\r\\n`` + each
  next chunk, ``]`` at the end (no keep-alive bytes: nothing else is legal there). On the pass-through path
  the upstream opened the array and sent its chunks (``start`` is not called), so a terminal error is the
  next element, after a comma, and closes the array.

Text and thought text stream as they come; a function call is sent whole when its part ends (Gemini streams
whole calls). The last chunk carries ``finishReason`` and ``usageMetadata``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, assert_never

import orjson

from ...core.errors import GatewayError
from ...core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ...core.parts import (
    ImagePart,
    OutputPart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
)
from ...core.request import ChatRequest
from ...core.response import FinishReason, Usage
from ...wire.gemini import NAME, error_json, usage_to_wire
from ..base import StreamRenderer
from .render import call_part, candidate, finish_reason, part_json, reasoning_signature

SSE_CONTENT_TYPE = b"text/event-stream"
JSON_CONTENT_TYPE = b"application/json; charset=UTF-8"


class GeminiStreamRenderer(StreamRenderer):
    content_type: ClassVar[bytes] = JSON_CONTENT_TYPE

    def __init__(self, req: ChatRequest, *, sse: bool, thoughts: bool) -> None:
        self.sse = sse
        self.thoughts = thoughts
        self.model = req.model
        self.rid = ""
        self._tail = b""
        """The invariant end of every chunk (``modelVersion``, ``responseId``), encoded once."""
        self._started = False
        self._opened = False
        """``start`` was called: this renderer wrote the array's ``[`` (not so on the pass-through path)."""
        self._elements = 0
        self._kinds: dict[int, str] = {}
        self._calls: dict[int, ToolCallPart] = {}
        self._reasoning: dict[int, ReasoningPart] = {}
        self._usage = Usage()
        self._finish: FinishReason | None = None
        self._done = False

    # -- framing

    def start(self) -> bytes:
        if self.sse:
            return b""
        self._opened = True
        return b"["

    def _begin(self, rid: str, model: str) -> None:
        self._started = True
        self.rid = rid or uuid.uuid4().hex
        self.model = model or self.model
        self._tail = (
            b',"modelVersion":' + orjson.dumps(self.model) + b',"responseId":' + orjson.dumps(self.rid) + b"}"
        )

    def _frame(self, obj_bytes: bytes) -> bytes:
        if self.sse:
            return b"data: " + obj_bytes + b"\r\n\r\n"
        lead = b"" if self._elements == 0 and self._opened else b",\r\n"
        self._elements += 1
        return lead + obj_bytes

    def _chunk(self, parts: list[dict[str, Any]], reason: str | None = None, usage: bool = False) -> bytes:
        head: dict[str, Any] = {"candidates": [candidate(parts, reason)]}
        if usage:
            head["usageMetadata"] = usage_to_wire(self._usage)
        return self._frame(orjson.dumps(head)[:-1] + self._tail)

    # -- events

    def event(self, e: Event) -> bytes:
        if isinstance(e, ResponseStart):
            self._begin(e.id, e.model)
            if e.usage is not None:
                self._usage.merge(e.usage)
            return b""
        if not self._started:
            self._begin("", "")
        if isinstance(e, PartStart):
            return self._start(e.index, e.part)
        if isinstance(e, PartDelta):
            return self._delta(e)
        if isinstance(e, PartEnd):
            return self._end(e.index, e.provider_details)
        if isinstance(e, UsageEvent):
            self._usage.merge(e.usage)
            return b""
        if isinstance(e, Finish):
            self._finish = e.reason
            return b""
        if isinstance(e, ErrorEvent):
            return self.error(e.error)
        assert_never(e)

    def _delta(self, e: PartDelta) -> bytes:
        kind = self._kinds.get(e.index)
        if kind == "text":
            return self._chunk([{"text": e.delta}]) if e.delta else b""
        if kind == "thought":
            rp = self._reasoning[e.index]
            rp.text += e.delta
            if e.signature:
                rp.signature = (rp.signature or "") + e.signature
            return self._chunk([{"text": e.delta, "thought": True}]) if e.delta and self.thoughts else b""
        if kind == "call":
            self._calls[e.index].arguments += e.delta
        return b""

    def _start(self, index: int, p: OutputPart) -> bytes:
        if isinstance(p, TextPart):
            self._kinds[index] = "text"
            return self._chunk([{"text": p.text}]) if p.text else b""
        if isinstance(p, ReasoningPart):
            self._kinds[index] = "thought"
            self._reasoning[index] = ReasoningPart(p.text, signature=p.signature, redacted=p.redacted,
                                                   provider_details=p.provider_details)  # fmt: skip
            return self._chunk([{"text": p.text, "thought": True}]) if p.text and self.thoughts else b""
        if isinstance(p, ToolCallPart):
            self._kinds[index] = "call"
            self._calls[index] = ToolCallPart(p.id, p.name, p.arguments, provider_details=p.provider_details)
            return b""
        if isinstance(p, ImagePart | ServerToolCallPart | ServerToolResultPart):
            self._kinds[index] = "whole"
            j = part_json(p, self.thoughts)
            return self._chunk([j]) if j is not None else b""
        assert_never(p)

    def _end(self, index: int, details: dict[str, Any] | None) -> bytes:
        kind = self._kinds.get(index)
        own = details.get(NAME) if details else None
        sig = own.get("thoughtSignature") if isinstance(own, dict) else None
        if kind == "call":
            call = self._calls.pop(index)
            if details:
                call.provider_details = {**(call.provider_details or {}), **details}
            return self._chunk([call_part(call)])
        if kind == "thought":
            rp = self._reasoning.pop(index)
            if details:
                rp.provider_details = {**(rp.provider_details or {}), **details}
            rsig = reasoning_signature(rp)
            if rsig and self.thoughts:
                return self._chunk([{"text": "", "thought": True, "thoughtSignature": rsig}])
            if isinstance(sig, str) and sig:  # Gemini's own signature even when thoughts are not shown
                return self._chunk([{"text": "", "thoughtSignature": sig}])
            return b""
        if kind == "text" and isinstance(sig, str) and sig:
            return self._chunk([{"text": "", "thoughtSignature": sig}])
        return b""

    def error(self, err: GatewayError) -> bytes:
        body = orjson.dumps(error_json(err))
        if self.sse:
            return b"data: " + body + b"\r\n\r\n"
        out = self._frame(body)
        self._done = True
        return out + b"]"

    def end(self) -> bytes:
        if not self._started:
            self._begin("", "")
        out = self._chunk([{"text": ""}], finish_reason(self._finish), usage=True)
        if not self.sse and not self._done:
            out += b"]"
        return out

    def heartbeat(self) -> bytes:
        return b"\r\n" if self.sse else b""


class GeminiSSERenderer(GeminiStreamRenderer):
    """The ``alt=sse`` framing."""

    content_type: ClassVar[bytes] = SSE_CONTENT_TYPE


def stream_renderer(req: ChatRequest, *, sse: bool, thoughts: bool) -> GeminiStreamRenderer:
    """A renderer in the framing the client asked for (``alt=sse`` or a JSON array)."""
    return (GeminiSSERenderer if sse else GeminiStreamRenderer)(req, sse=sse, thoughts=thoughts)
