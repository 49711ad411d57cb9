"""Hub events -> the Responses event stream, in the order OpenAI sends it.

``response.created``, ``response.in_progress``; per output item ``response.output_item.added``, its content
events (``content_part.added``, text / refusal / reasoning summary / argument deltas and their ``.done``,
``content_part.done``) and ``response.output_item.done``; then exactly one terminal event
(``response.completed``, ``response.incomplete`` or, after an ``error`` event, ``response.failed``) whose
``response.output`` holds every item and whose ``usage`` is complete. Every event has a ``sequence_number``.

One hub part is one output item (a text part is a ``message`` with one content part). Custom tool calls
reach the hub as JSON arguments ``{"input": ...}``; their input is sent when the call is complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, assert_never

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
from ...core.response import Usage
from ...wire import openai_responses as W
from ...wire.openai_responses import custom_input
from ..base import StreamRenderer
from .render import Shape, details, is_refusal, item_id, output_item, terminal


@dataclass(slots=True)
class _Slot:
    kind: str
    """``text``, ``refusal``, ``reasoning``, ``call``, ``custom``."""
    output_index: int
    item_id: str
    part: OutputPart
    summary_open: bool = False
    delta_head: bytes = b""
    """The bytes of this item's delta event before the sequence number (encoded once)."""
    delta_mid: bytes = b""
    """... between the sequence number and the delta text."""
    delta_tail: bytes = b"}\n\n"


def _copy(p: OutputPart) -> OutputPart:
    if isinstance(p, TextPart):
        return TextPart(p.text, provider_details=p.provider_details)
    if isinstance(p, ReasoningPart):
        return ReasoningPart(p.text, p.signature, p.redacted, p.provider_details)
    if isinstance(p, ToolCallPart):
        return ToolCallPart(p.id, p.name, p.arguments, p.provider_details)
    return p


class ResponsesStreamRenderer(StreamRenderer):
    """One per streamed response."""

    def __init__(self, req: ChatRequest, shape: Shape | None = None) -> None:
        self.shape = shape or Shape(req)
        self.model = req.model
        self.seq = 0
        self.rid = ""
        self.created = 0
        self.provider: str | None = None
        self.started = False
        self.finished = False
        self.slots: dict[int, _Slot] = {}
        self.output: list[dict[str, Any] | None] = []
        self.full: list[dict[str, Any] | None] = []
        """The items as stored (reasoning sealed even when the client did not ask for it)."""
        self.usage: Usage | None = None

    # ------------------------------------------------------------------------------------- framing

    def _ev(self, out: list[bytes], etype: str, fields: dict[str, Any]) -> None:
        obj = {"type": etype, "sequence_number": self.seq, **fields}
        self.seq += 1
        out.append(b"event: " + etype.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n")

    def _response(self, status: str, **kw: Any) -> dict[str, Any]:
        items = [i for i in self.output if i is not None]
        return self.shape.response(self.rid, self.created, self.model, status, items, self.usage, **kw)

    def _store(self, resp: dict[str, Any]) -> None:
        if self.shape.record is not None:
            self.shape.record.keep(resp, [i for i in self.full if i is not None])

    def _start(self, out: list[bytes], rid: str, model: str, created: int) -> None:
        self.started = True
        self.rid = self.shape.response_id(rid)
        self.model = self.model or model  # the name the client asked for, not the upstream's
        self.created = created or int(time.time())
        shell = self.shape.response(self.rid, self.created, self.model, "in_progress", [], None)
        self._ev(out, W.CREATED, {"response": shell})
        self._ev(out, W.IN_PROGRESS, {"response": shell})

    # ------------------------------------------------------------------------------------- events

    def event(self, e: Event) -> bytes:
        if type(e) is PartDelta and self.started:  # the hot path
            slot = self.slots.get(e.index)
            if slot is None:
                return b""  # a part left out (or already closed)
            out: list[bytes] = []
            self._delta(out, slot, e)
            return out[0] if len(out) == 1 else b"".join(out)
        out = []
        if isinstance(e, ResponseStart):
            self._response_start(out, e)
            return b"".join(out)
        if not self.started:
            self._start(out, "", "", 0)
        if isinstance(e, PartStart):
            self._part_start(out, e.index, e.part)
        elif isinstance(e, PartDelta):
            slot = self.slots.get(e.index)
            if slot is not None:
                self._delta(out, slot, e)
        elif isinstance(e, PartEnd):
            self._part_end(out, e)
        elif isinstance(e, UsageEvent):
            self._merge(e.usage)
        elif isinstance(e, Finish):
            self._finish(out, e)
        elif isinstance(e, ErrorEvent):
            out.append(self.error(e.error))
        else:
            assert_never(e)
        return b"".join(out)

    def _response_start(self, out: list[bytes], e: ResponseStart) -> None:
        self.provider = e.provider
        if e.usage is not None:
            self._merge(e.usage)
        self._start(out, e.id, e.model, e.created)

    def _part_end(self, out: list[bytes], e: PartEnd) -> None:
        slot = self.slots.pop(e.index, None)
        if slot is not None:
            if e.provider_details:
                slot.part.provider_details = {**(slot.part.provider_details or {}), **e.provider_details}
            self._close(out, slot, "completed")

    def _finish(self, out: list[bytes], e: Finish) -> None:
        status, incomplete, error = terminal(e.reason)
        for idx in sorted(self.slots):
            self._close(out, self.slots.pop(idx), "incomplete" if incomplete else "completed")
        self.finished = True
        etype = {"completed": W.COMPLETED, "incomplete": W.INCOMPLETE}.get(status, W.FAILED)
        resp = self._response(status, incomplete=incomplete, error=error)
        if "usage" not in resp:
            resp["usage"] = W.usage_to_wire(Usage())
        self._ev(out, etype, {"response": resp})
        self._store(resp)

    def _merge(self, u: Usage) -> None:
        if self.usage is None:
            self.usage = Usage()
        self.usage.merge(u)

    def _part_start(self, out: list[bytes], index: int, p: OutputPart) -> None:
        oi = len(self.output)
        if isinstance(p, (ImagePart, ServerToolCallPart | ServerToolResultPart)):
            item = output_item(p, item_id(p), self.shape, self.provider, "completed")
            if item is None:
                return  # another wire format's server tool: left out
            self.full.append(item)
            self.output.append(item)
            self._ev(out, W.ITEM_ADDED, {"output_index": oi, "item": item})
            self._ev(out, W.ITEM_DONE, {"output_index": oi, "item": item})
            return
        part = _copy(p)
        iid = item_id(p)
        self.output.append(None)
        self.full.append(None)
        if isinstance(part, TextPart):
            refusal = is_refusal(part)
            slot = self.slots[index] = _Slot("refusal" if refusal else "text", oi, iid, part)
            added: dict[str, Any] = {"id": iid, "type": "message", "status": "in_progress", "role": "assistant",
                                     "content": []}  # fmt: skip
            phase = details(part).get("phase")
            if isinstance(phase, str):
                added["phase"] = phase
            self._ev(out, W.ITEM_ADDED, {"output_index": oi, "item": added})
            empty = {"type": "refusal", "refusal": ""} if refusal else {
                "type": "output_text", "text": "", "annotations": [], "logprobs": []}  # fmt: skip
            self._ev(
                out, W.PART_ADDED, {"item_id": iid, "output_index": oi, "content_index": 0, "part": empty}
            )
            if part.text:
                self._text_delta(out, slot, part.text)
        elif isinstance(part, ReasoningPart):
            slot = self.slots[index] = _Slot("reasoning", oi, iid, part)
            self._ev(
                out,
                W.ITEM_ADDED,
                {"output_index": oi, "item": {"id": iid, "type": "reasoning", "summary": []}},
            )
            if part.text:
                self._summary_delta(out, slot, part.text)
        elif isinstance(part, ToolCallPart):
            custom, ns, name = self.shape.tool_info(part)
            if custom:
                iid = iid if details(p).get("id") else W.new_id("ctc")
                slot = self.slots[index] = _Slot("custom", oi, iid, part)
                added = {"id": iid, "type": "custom_tool_call", "call_id": part.id, "name": name, "input": ""}
            else:
                slot = self.slots[index] = _Slot("call", oi, iid, part)
                added = {"id": iid, "type": "function_call", "status": "in_progress", "arguments": "",
                         "call_id": part.id, "name": name}  # fmt: skip
            if ns:
                added["namespace"] = ns
            self._ev(out, W.ITEM_ADDED, {"output_index": oi, "item": added})
            if part.arguments and not custom:
                self._ev(out, W.ARGS_DELTA, {"item_id": iid, "output_index": oi, "delta": part.arguments})

    def _fast_delta(self, out: list[bytes], slot: _Slot, etype: str, index_key: str | None, delta: str,
                    tail: bytes = b"}\n\n") -> None:  # fmt: skip
        """A delta event, its invariant bytes encoded once per item (the hot path of a stream)."""
        if not slot.delta_head:
            slot.delta_head = (
                b"event: " + etype.encode() + b'\ndata: {"type":"' + etype.encode() + b'","sequence_number":'
            )
            ix = f',"{index_key}":0' if index_key else ""
            slot.delta_mid = (f',"item_id":{orjson.dumps(slot.item_id).decode()},"output_index":{slot.output_index}'
                              f'{ix},"delta":').encode()  # fmt: skip
            slot.delta_tail = tail
        out.append(
            slot.delta_head + str(self.seq).encode() + slot.delta_mid + orjson.dumps(delta) + slot.delta_tail
        )
        self.seq += 1

    def _text_delta(self, out: list[bytes], slot: _Slot, delta: str) -> None:
        if slot.kind == "refusal":
            self._fast_delta(out, slot, W.REFUSAL_DELTA, "content_index", delta)
        else:
            self._fast_delta(out, slot, W.TEXT_DELTA, "content_index", delta, b',"logprobs":[]}\n\n')

    def _summary_delta(self, out: list[bytes], slot: _Slot, delta: str) -> None:
        if not slot.summary_open:
            slot.summary_open = True
            self._ev(out, W.SUMMARY_PART_ADDED, {"item_id": slot.item_id, "output_index": slot.output_index,
                                                 "summary_index": 0, "part": {"type": "summary_text", "text": ""}})  # fmt: skip
        self._fast_delta(out, slot, W.SUMMARY_DELTA, "summary_index", delta)

    def _delta(self, out: list[bytes], slot: _Slot, e: PartDelta) -> None:
        p = slot.part
        kind = slot.kind
        if kind in ("text", "refusal"):
            if e.delta:
                assert isinstance(p, TextPart)
                p.text += e.delta
                self._text_delta(out, slot, e.delta)
        elif kind == "reasoning":
            assert isinstance(p, ReasoningPart)
            if e.signature:
                p.signature = (p.signature or "") + e.signature
            if e.delta:
                p.text += e.delta
                self._summary_delta(out, slot, e.delta)
        elif e.delta:
            assert isinstance(p, ToolCallPart)
            p.arguments += e.delta
            if kind == "call":
                self._fast_delta(out, slot, W.ARGS_DELTA, None, e.delta)

    def _close(self, out: list[bytes], slot: _Slot, status: str) -> None:
        p = slot.part
        oi, iid = slot.output_index, slot.item_id
        if isinstance(p, TextPart):
            if slot.kind == "refusal":
                self._ev(out, W.REFUSAL_DONE, {"item_id": iid, "output_index": oi, "content_index": 0,
                                               "refusal": p.text})  # fmt: skip
                done_part: dict[str, Any] = {"type": "refusal", "refusal": p.text}
            else:
                self._ev(out, W.TEXT_DONE, {"item_id": iid, "output_index": oi, "content_index": 0, "text": p.text,
                                            "logprobs": []})  # fmt: skip
                done_part = {"type": "output_text", "text": p.text,
                             "annotations": details(p).get("annotations") or [], "logprobs": []}  # fmt: skip
            self._ev(
                out, W.PART_DONE, {"item_id": iid, "output_index": oi, "content_index": 0, "part": done_part}
            )
        elif isinstance(p, ReasoningPart):
            if slot.summary_open:
                self._ev(out, W.SUMMARY_DONE, {"item_id": iid, "output_index": oi, "summary_index": 0,
                                               "text": p.text})  # fmt: skip
                self._ev(out, W.SUMMARY_PART_DONE, {"item_id": iid, "output_index": oi, "summary_index": 0,
                                                    "part": {"type": "summary_text", "text": p.text}})  # fmt: skip
        elif isinstance(p, ToolCallPart):
            if slot.kind == "custom":
                inp = custom_input(p.arguments)
                if inp:
                    self._ev(out, W.CUSTOM_INPUT_DELTA, {"item_id": iid, "output_index": oi, "delta": inp})
                self._ev(out, W.CUSTOM_INPUT_DONE, {"item_id": iid, "output_index": oi, "input": inp})
            else:
                _, _, name = self.shape.tool_info(p)
                self._ev(out, W.ARGS_DONE, {"item_id": iid, "output_index": oi, "name": name,
                                            "arguments": p.arguments})  # fmt: skip
        full = output_item(p, iid, self.shape, self.provider, status)
        item = self.shape.client_view(full) if full is not None else None
        self.full[oi] = full
        self.output[oi] = item
        self._ev(out, W.ITEM_DONE, {"output_index": oi, "item": item})

    # ------------------------------------------------------------------------------------- end

    def error(self, err: GatewayError) -> bytes:
        if self.finished:
            return b""
        out: list[bytes] = []
        if not self.started:
            self._start(out, "", "", 0)
        for idx in sorted(self.slots):  # what was sent so far, closed as incomplete
            self._close(out, self.slots.pop(idx), "incomplete")
        self.finished = True
        self._ev(
            out,
            W.ERROR,
            {k: v for k, v in W.error_event(err, 0).items() if k not in ("type", "sequence_number")},
        )
        resp = self._response("failed", error=W.failed_error(err))
        self._ev(out, W.FAILED, {"response": resp})
        self._store(resp)
        return b"".join(out)

    def end(self) -> bytes:
        if self.finished:
            return b""
        return self.error(GatewayError("upstream", "Upstream stream ended before the response was complete",
                                       code="upstream_disconnected"))  # fmt: skip
