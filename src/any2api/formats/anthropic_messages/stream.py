"""Hub events -> the Messages SSE sequence (``message_start`` ... ``message_stop``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Literal, assert_never

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
from ...wire.anthropic_messages import delta_usage_to_wire, error_json, message_id, stop_reason, usage_to_wire
from ..base import StreamRenderer
from .render import DIRECT, block_json, issue_signature

SegKind = Literal["text", "thinking", "redacted", "tool", "whole"]


class _Seg:
    """One Anthropic content block to emit: a hub part (or a later stretch of a text part)."""

    __slots__ = (
        "buf",
        "detached",
        "ended",
        "hub",
        "index",
        "kind",
        "part",
        "prefix",
        "sig",
        "signed",
        "thought",
    )

    def __init__(self, hub: int, kind: SegKind, part: OutputPart) -> None:
        self.hub = hub
        self.kind: SegKind = kind
        self.part = part
        self.buf: list[str] = []
        self.sig = ""
        self.signed = False
        """A thinking block got the upstream's own signature (else the gateway issues one at its end)."""
        self.thought: list[str] = []
        """All the text of a thinking block (what an issued signature seals)."""
        self.ended = False
        self.detached = False
        self.index = -1
        """The Anthropic block index once ``content_block_start`` was sent."""
        self.prefix = b""
        """The invariant head of this block's delta events (set when it opens)."""


def _kind(part: OutputPart) -> SegKind:
    if isinstance(part, TextPart):
        return "text"
    if isinstance(part, ReasoningPart):
        return "redacted" if part.redacted else "thinking"
    if isinstance(part, ToolCallPart):
        return "tool"
    if isinstance(part, ImagePart | ServerToolCallPart | ServerToolResultPart):
        return "whole"
    assert_never(part)


def _sse(event: bytes, obj: Any) -> bytes:
    return b"event: " + event + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_DELTA_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_DELTA_FIELDS: dict[SegKind, bytes] = {
    "text": b',"delta":{"type":"text_delta","text":',
    "thinking": b',"delta":{"type":"thinking_delta","thinking":',
    "tool": b',"delta":{"type":"input_json_delta","partial_json":',
    "redacted": b"",  # no deltas: the encrypted data comes whole in content_block_start
}


class AnthropicStreamRenderer(StreamRenderer):
    """Hub events -> the Messages SSE sequence, with contiguous block indices.

    Anthropic blocks are strictly sequential while hub parts may interleave (parallel OpenAI tool calls):
    the first unfinished part streams live, later ones are buffered and emitted whole when it ends. When
    a new part starts while a *text* part is still open, the text block is closed at once (text may be
    split into several blocks; a later stretch of it becomes a new block); thinking and tool-use blocks
    are never split. A text or thinking block is opened only once it has content, so an upstream's
    empty text never becomes an empty text block. A thinking block carries a ``signature_delta`` only
    when the upstream gave a signature."""

    def __init__(self, req: ChatRequest, estimate_input: Callable[[ChatRequest], int] | None = None) -> None:
        self.req = req
        self.model = req.model
        self.provider: str | None = None
        self._estimate = estimate_input
        self._queue: deque[_Seg] = deque()
        self._seg: dict[int, _Seg] = {}
        self._next = 0
        self._usage = Usage()
        self._finish: FinishReason | None = None
        self._stop_seq: str | None = None
        self._started = False
        self._drained = False
        self._skipped: set[int] = set()

    # -- message start

    def _message_start(self, rid: str, model: str, usage: Usage | None) -> bytes:
        self._started = True
        if usage is not None:
            self._usage.merge(usage)
        start_usage = Usage()
        if usage is not None and usage.input_tokens:
            start_usage.merge(usage)
            start_usage.output_tokens = 0
        elif self._estimate is not None:
            start_usage.input_tokens = self._estimate(self.req)
        msg: dict[str, Any] = {
            "id": message_id(rid),
            "type": "message",
            "role": "assistant",
            "model": self.model or model,  # the name the client asked for, not the upstream's
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "stop_details": None,
            "container": None,
            "usage": usage_to_wire(start_usage),
        }
        return _sse(b"message_start", {"type": "message_start", "message": msg}) + PING

    # -- blocks

    def _open(self, seg: _Seg, out: list[bytes]) -> None:
        seg.index = self._next
        self._next += 1
        if seg.kind not in ("redacted", "whole"):
            seg.prefix = _DELTA_HEAD + str(seg.index).encode() + _DELTA_FIELDS[seg.kind]
        p = seg.part
        if seg.kind == "text":
            block: dict[str, Any] = {"type": "text", "text": "", "citations": None}
        elif seg.kind == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif seg.kind == "redacted":
            assert isinstance(p, ReasoningPart)
            block = {"type": "redacted_thinking", "data": p.redacted}
        elif seg.kind == "whole":
            whole = block_json(p)
            assert whole is not None
            block = whole
        else:
            assert isinstance(p, ToolCallPart)
            block = {"type": "tool_use", "id": p.id, "name": p.name, "input": {}, "caller": DIRECT}
        out.append(_sse(b"content_block_start", {"type": "content_block_start", "index": seg.index,
                                                 "content_block": block}))  # fmt: skip

    def _flush(self, seg: _Seg, out: list[bytes]) -> None:
        """Send what the head segment holds (opening its block when it first has something to show)."""
        if seg.index < 0:
            has = bool(seg.buf) or bool(seg.sig) or seg.kind in ("tool", "redacted", "whole")
            if not has:
                return
            self._open(seg, out)
        if seg.buf:
            text = seg.buf[0] if len(seg.buf) == 1 else "".join(seg.buf)
            seg.buf.clear()
            if text and seg.prefix:
                out.append(seg.prefix + orjson.dumps(text) + b"}}\n\n")
                if seg.kind == "thinking":
                    seg.thought.append(text)
        if seg.sig and seg.kind == "thinking":
            seg.signed = True
            out.append(_sse(b"content_block_delta", {"type": "content_block_delta", "index": seg.index,
                                                     "delta": {"type": "signature_delta", "signature": seg.sig}}))  # fmt: skip
            seg.sig = ""

    def _close(self, seg: _Seg, out: list[bytes]) -> None:
        if seg.index >= 0 and seg.kind == "thinking" and not seg.signed:
            sig = issue_signature(self.provider, "".join(seg.thought))
            out.append(_sse(b"content_block_delta", {"type": "content_block_delta", "index": seg.index,
                                                     "delta": {"type": "signature_delta", "signature": sig}}))  # fmt: skip
        if seg.index >= 0:
            out.append(b'event: content_block_stop\ndata: {"type":"content_block_stop","index":'
                       + str(seg.index).encode() + b"}\n\n")  # fmt: skip

    def _pump(self, out: list[bytes]) -> None:
        q = self._queue
        while q:
            seg = q[0]
            self._flush(seg, out)
            if not seg.ended:
                return
            self._close(seg, out)
            q.popleft()

    def _add(self, hub: int, kind: SegKind, part: OutputPart) -> _Seg:
        seg = _Seg(hub, kind, part)
        self._seg[hub] = seg
        self._queue.append(seg)
        return seg

    # -- events

    def event(self, e: Event) -> bytes:
        if type(e) is PartDelta and not e.signature:
            # the hot path: more of the block that is streaming live
            seg = self._seg.get(e.index)
            if (
                seg is not None
                and seg.prefix
                and not seg.detached
                and not seg.buf
                and self._queue
                and self._queue[0] is seg
            ):
                if not e.delta:
                    return b""
                if seg.kind == "thinking":
                    seg.thought.append(e.delta)
                return seg.prefix + orjson.dumps(e.delta) + b"}}\n\n"
        out: list[bytes] = []
        if isinstance(e, ResponseStart):
            self.provider = e.provider
            return self._message_start(e.id, e.model, e.usage)
        if not self._started:
            out.append(self._message_start("", "", None))
        if isinstance(e, PartStart):
            q = self._queue
            if len(q) == 1 and q[0].kind == "text" and not q[0].ended:
                head = q.popleft()  # the upstream moved on: close the text block now
                self._flush(head, out)
                self._close(head, out)
                head.detached = True
            if e.index in self._seg and not self._seg[e.index].detached:
                raise ValueError(f"part index {e.index} started twice")
            part = e.part
            kind = _kind(part)
            if kind == "whole" and block_json(part) is None:
                self._skipped.add(e.index)  # a block this client cannot be shown (see block_json)
                return b"".join(out)
            seg = self._add(e.index, kind, part)
            if isinstance(part, (TextPart, ReasoningPart)):
                if part.text:
                    seg.buf.append(part.text)
                if isinstance(part, ReasoningPart) and part.signature and not part.redacted:
                    seg.sig = part.signature
            elif isinstance(part, ToolCallPart):
                if part.arguments:
                    seg.buf.append(part.arguments)
            elif not isinstance(part, ImagePart | ServerToolCallPart | ServerToolResultPart):
                assert_never(part)
            if q[0] is seg:
                self._pump(out)
        elif isinstance(e, PartDelta):
            seg_or_none = self._seg.get(e.index)
            if seg_or_none is None:
                raise ValueError(f"delta for part index {e.index} that was never started")
            seg = seg_or_none
            if seg.detached:
                if not e.delta and not e.signature:
                    return b"".join(out)
                seg = self._add(e.index, seg.kind, seg.part)
            if e.delta:
                seg.buf.append(e.delta)
            if e.signature:
                seg.sig += e.signature
            if self._queue and self._queue[0] is seg:
                self._pump(out)
        elif isinstance(e, PartEnd):
            seg_or_none = self._seg.get(e.index)
            if seg_or_none is None and e.index in self._skipped:
                return b"".join(out)
            if seg_or_none is None:
                raise ValueError(f"end of part index {e.index} that was never started")
            seg_or_none.ended = True
            if self._queue and self._queue[0] is seg_or_none:
                self._pump(out)
        elif isinstance(e, UsageEvent):
            self._usage.merge(e.usage)
        elif isinstance(e, Finish):
            self._finish = e.reason
            self._stop_seq = e.stop_sequence
            self._drain(out)
        elif isinstance(e, ErrorEvent):
            out.append(self.error(e.error))
        else:
            assert_never(e)
        return b"".join(out)

    def _drain(self, out: list[bytes]) -> None:
        for seg in self._queue:
            seg.ended = True
        self._pump(out)
        self._drained = True

    def error(self, err: GatewayError) -> bytes:
        return _sse(b"error", error_json(err))

    def end(self) -> bytes:
        out: list[bytes] = []
        if not self._started:
            out.append(self._message_start("", "", None))
        if not self._drained:
            self._drain(out)
        delta = {"stop_reason": stop_reason(self._finish, self._stop_seq), "stop_sequence": self._stop_seq,
                 "stop_details": None, "container": None}  # fmt: skip
        # input unknown: null keeps message_start's figure rather than sending a zero
        usage = delta_usage_to_wire(self._usage, bool(self._usage.input_tokens))
        out.append(_sse(b"message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        return b"".join(out)

    def heartbeat(self) -> bytes:
        return PING
