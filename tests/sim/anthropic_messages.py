"""Anthropic Messages on the wire.

Stream: ``event:`` + ``data:`` pairs -- message_start (input usage), content_block_start / _delta / _stop
per block (text_delta, thinking_delta + signature_delta, input_json_delta), ping after the first block
start, message_delta (stop_reason, stop_sequence, output usage), message_stop. Data JSON is padded with
trailing spaces as Anthropic does (``Script.pad``).
"""

from __future__ import annotations

import json
from typing import Any

from .answer import Totals, made_up_signature, tool_calls, totals
from .inbound import ChatInput
from .script import (
    Comment,
    Delay,
    Drop,
    Fixture,
    Hang,
    Parallel,
    Ping,
    Raw,
    Reasoning,
    RedactedReasoning,
    Refusal,
    Script,
    ScriptError,
    StreamError,
    Text,
    ToolCall,
)
from .wire import CommentFrame, Event, Op, Reply, dumps, finish_for

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


def error_body(type: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _start_usage(t: Totals) -> dict[str, Any]:
    return {
        "input_tokens": t.input_tokens,
        "cache_creation_input_tokens": t.cache_write_tokens,
        "cache_read_input_tokens": t.cache_read_tokens,
        "cache_creation": {"ephemeral_5m_input_tokens": t.cache_write_tokens, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 1,
        "service_tier": "standard",
    }


def _parse_input(call: ToolCall) -> Any:
    try:
        value = json.loads(call.arguments) if call.arguments else {}
    except ValueError:
        raise ScriptError(
            f"ToolCall {call.name!r}: arguments are not JSON; Anthropic has no such tool_use"
        ) from None
    if not isinstance(value, dict):
        raise ScriptError(f"ToolCall {call.name!r}: Anthropic tool input must be a JSON object")
    return value


class _Ids:
    def __init__(self, script: Script, seq: int) -> None:
        self.message = script.id or f"msg_sim{seq:06d}"
        self.seq = seq

    def call(self, call: ToolCall, index: int) -> str:
        return call.id or f"toolu_sim{self.seq}_{index}"


def render(script: Script, inp: ChatInput, seq: int) -> Reply:
    ids = _Ids(script, seq)
    model = script.model or inp.model
    t = totals(script, inp)
    has_tools = any(True for _ in tool_calls(script.steps))
    stop_reason = finish_for("anthropic", script.finish, has_tools, script.stop_sequence)
    stop_sequence = script.stop_sequence if stop_reason == "stop_sequence" else None
    for s in script.steps:
        if isinstance(s, Refusal):
            raise ScriptError("Refusal has no Anthropic form (use finish='refusal' with Text)")
        if isinstance(s, Fixture):
            raise ScriptError("a Fixture step must be the only step of its script")
    if inp.stream:
        return _stream(script, ids, model, t, stop_reason, stop_sequence)
    return _whole(script, ids, model, t, stop_reason, stop_sequence)


def _whole(
    script: Script, ids: _Ids, model: str, t: Totals, stop_reason: str, stop_sequence: str | None
) -> Reply:
    content: list[dict[str, Any]] = []
    before: list[Delay | Drop | Hang] = []
    n_calls = 0
    for s in script.steps:
        if isinstance(s, Text):
            content.append({"type": "text", "text": s.text})
        elif isinstance(s, Reasoning):
            sig = made_up_signature(s.text) if s.signature is None else s.signature
            content.append({"type": "thinking", "thinking": s.text, "signature": sig})
        elif isinstance(s, RedactedReasoning):
            content.append({"type": "redacted_thinking", "data": s.data})
        elif isinstance(s, (ToolCall, Parallel)):
            for c in [s] if isinstance(s, ToolCall) else s.calls:
                content.append(
                    {"type": "tool_use", "id": ids.call(c, n_calls), "name": c.name, "input": _parse_input(c)}
                )
                n_calls += 1
        elif isinstance(s, (Delay, Drop, Hang)):
            before.append(s)
        elif isinstance(s, StreamError):
            raise ScriptError("StreamError needs a streamed request")
    usage = _start_usage(t)
    usage["output_tokens"] = t.output_tokens
    usage.update(script.usage_extra)
    body = {
        "model": model,
        "id": ids.message,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
    headers = {"Content-Type": "application/json", "request-id": f"req_sim{ids.seq}", **script.headers}
    return Reply(script.status, headers, body=dumps(body).encode(), before=before)


def _stream(
    script: Script, ids: _Ids, model: str, t: Totals, stop_reason: str, stop_sequence: str | None
) -> Reply:
    n_events = 0

    def ev(obj: dict[str, Any]) -> Event:
        nonlocal n_events
        n_events += 1
        data = dumps(obj)
        if script.pad:
            data += " " * ((len(data) * 7 + n_events * 3) % 17)
        return Event(data, obj["type"])

    ping = Event('{"type": "ping"}', "ping")
    ops: list[Op] = []
    message: dict[str, Any] = {
        "model": model,
        "id": ids.message,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _start_usage(t),
    }
    ops.append(ev({"type": "message_start", "message": message}))
    index = 0
    n_calls = 0
    pinged = not script.ping

    def start(block: dict[str, Any]) -> None:
        nonlocal pinged
        ops.append(ev({"type": "content_block_start", "index": index, "content_block": block}))
        if not pinged:
            ops.append(ping)
            pinged = True

    def delta(i: int, d: dict[str, Any]) -> Event:
        return ev({"type": "content_block_delta", "index": i, "delta": d})

    def stop(i: int) -> Event:
        return ev({"type": "content_block_stop", "index": i})

    def call_deltas(c: ToolCall, i: int) -> list[Event]:
        if c.args_in_first:
            return [delta(i, {"type": "input_json_delta", "partial_json": c.arguments})]
        frags = ["", *c.argument_fragments()]
        return [delta(i, {"type": "input_json_delta", "partial_json": f}) for f in frags]

    for s in script.steps:
        if isinstance(s, Text):
            start({"type": "text", "text": ""})
            ops.extend(delta(index, {"type": "text_delta", "text": d}) for d in s.deltas)
            ops.append(stop(index))
            index += 1
        elif isinstance(s, Reasoning):
            start({"type": "thinking", "thinking": "", "signature": ""})
            ops.extend(delta(index, {"type": "thinking_delta", "thinking": d}) for d in s.deltas)
            sig = made_up_signature(s.text) if s.signature is None else s.signature
            if sig:
                ops.append(delta(index, {"type": "signature_delta", "signature": sig}))
            ops.append(stop(index))
            index += 1
        elif isinstance(s, RedactedReasoning):
            start({"type": "redacted_thinking", "data": s.data})
            ops.append(stop(index))
            index += 1
        elif isinstance(s, ToolCall):
            start({"type": "tool_use", "id": ids.call(s, n_calls), "name": s.name, "input": {}})
            ops.extend(call_deltas(s, index))
            ops.append(stop(index))
            index += 1
            n_calls += 1
        elif isinstance(s, Parallel):
            if not s.interleave:
                for c in s.calls:
                    start({"type": "tool_use", "id": ids.call(c, n_calls), "name": c.name, "input": {}})
                    ops.extend(call_deltas(c, index))
                    ops.append(stop(index))
                    index += 1
                    n_calls += 1
                continue
            first = index
            seqs = []
            for c in s.calls:
                start({"type": "tool_use", "id": ids.call(c, n_calls), "name": c.name, "input": {}})
                seqs.append(call_deltas(c, index))
                index += 1
                n_calls += 1
            for i in range(max((len(q) for q in seqs), default=0)):
                ops.extend(q[i] for q in seqs if i < len(q))
            ops.extend(stop(i) for i in range(first, index))
        elif isinstance(s, Ping):
            ops.append(ping)
        elif isinstance(s, Comment):
            ops.append(CommentFrame(s.text))
        elif isinstance(s, (Raw, Delay, Drop, Hang)):
            ops.append(s)
        elif isinstance(s, StreamError):
            ops.append(Event(dumps(error_body(s.type, s.message)), "error"))
            return Reply(script.status, {**SSE_HEADERS, **script.headers}, ops=ops)
    end_usage = {
        "input_tokens": t.input_tokens,
        "cache_creation_input_tokens": t.cache_write_tokens,
        "cache_read_input_tokens": t.cache_read_tokens,
        "output_tokens": t.output_tokens,
    }
    end_usage.update(script.usage_extra)
    ops.append(
        ev(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": end_usage,
            }
        )
    )
    ops.append(ev({"type": "message_stop"}))
    headers = {**SSE_HEADERS, "request-id": f"req_sim{ids.seq}", **script.headers}
    return Reply(script.status, headers, ops=ops)
