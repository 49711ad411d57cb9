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
from .dialects import Dialect, RenderContext, register
from .inbound import ChatInput, Invalid, chat_input, require_object
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
from .wire import TO_ANTHROPIC, CommentFrame, Event, Op, Reply, count_tokens, dumps, finish_for

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


def parse_request(body: Any) -> ChatInput:
    body = require_object(body)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid("model: Field required", "model")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise Invalid("messages: Field required", "messages")
    mt = body.get("max_tokens")
    if not isinstance(mt, int) or isinstance(mt, bool):
        raise Invalid("max_tokens: Field required", "max_tokens")
    if not messages:
        raise Invalid("messages: at least one message is required", "messages")
    thinking = body.get("thinking")
    wants = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    return chat_input("anthropic", body, model, messages, wants)


def invalid_body(e: Invalid) -> dict[str, Any]:
    return error_body("invalid_request_error", e.message, "req_sim_invalid")


def unauthorized_body(api_key: str | None, seq: int) -> dict[str, Any]:
    return error_body("authentication_error", "invalid x-api-key", f"req_sim{seq}")


def count_tokens_route(rec: Any) -> tuple[int, dict[str, Any]]:
    """``POST …/messages/count_tokens``: the request checked like a message (without max_tokens)."""
    try:
        inp = parse_request({**(rec.json or {}), "max_tokens": 1})
    except Invalid as e:
        return 400, invalid_body(e)
    except TypeError as e:
        return 400, invalid_body(Invalid(str(e)))
    return 200, {"input_tokens": max(1, count_tokens(inp.prompt_text))}


def model_object(model: str, now: int) -> dict[str, Any]:
    return {"type": "model", "id": model, "display_name": model, "created_at": "2025-01-01T00:00:00Z"}


def model_list(objects: list[dict[str, Any]], models: list[str]) -> dict[str, Any]:
    return {
        "data": objects,
        "has_more": False,
        "first_id": models[0] if models else None,
        "last_id": models[-1] if models else None,
    }


def model_missing(model: str) -> dict[str, Any]:
    return error_body("not_found_error", f"model: {model}", "req_sim_404")


def render(script: Script, inp: ChatInput, ctx: RenderContext) -> Reply:
    seq = ctx.seq
    ids = _Ids(script, seq)
    model = script.model or inp.model
    t = totals(script, inp)
    has_tools = any(True for _ in tool_calls(script.steps))
    stop_reason = finish_for(TO_ANTHROPIC, script.finish, has_tools, script.stop_sequence)
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


class _Stream:
    """The event stream of one streamed answer, built step by step."""

    def __init__(self, script: Script, ids: _Ids) -> None:
        self.script = script
        self.ids = ids
        self.ops: list[Op] = []
        self.n_events = 0
        self.index = 0
        self.n_calls = 0
        self.pinged = not script.ping

    def ev(self, obj: dict[str, Any]) -> Event:
        self.n_events += 1
        data = dumps(obj)
        if self.script.pad:
            data += " " * ((len(data) * 7 + self.n_events * 3) % 17)
        return Event(data, obj["type"])

    def start(self, block: dict[str, Any]) -> int:
        """Open the next block; its index."""
        self.ops.append(self.ev({"type": "content_block_start", "index": self.index, "content_block": block}))
        if not self.pinged:
            self.ops.append(_PING)
            self.pinged = True
        self.index += 1
        return self.index - 1

    def delta(self, i: int, d: dict[str, Any]) -> Event:
        return self.ev({"type": "content_block_delta", "index": i, "delta": d})

    def stop(self, i: int) -> Event:
        return self.ev({"type": "content_block_stop", "index": i})

    def block(self, start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        """A whole block: start, deltas, stop."""
        i = self.start(start)
        self.ops.extend(self.delta(i, d) for d in deltas)
        self.ops.append(self.stop(i))

    def start_call(self, c: ToolCall) -> int:
        i = self.start(
            {"type": "tool_use", "id": self.ids.call(c, self.n_calls), "name": c.name, "input": {}}
        )
        self.n_calls += 1
        return i

    def call_deltas(self, c: ToolCall, i: int) -> list[Event]:
        frags = [c.arguments] if c.args_in_first else ["", *c.argument_fragments()]
        return [self.delta(i, {"type": "input_json_delta", "partial_json": f}) for f in frags]

    def call(self, c: ToolCall) -> None:
        i = self.start_call(c)
        self.ops.extend(self.call_deltas(c, i))
        self.ops.append(self.stop(i))

    def parallel(self, p: Parallel) -> None:
        if not p.interleave:
            for c in p.calls:
                self.call(c)
            return
        first = self.index
        seqs = [self.call_deltas(c, self.start_call(c)) for c in p.calls]
        for i in range(max((len(q) for q in seqs), default=0)):
            self.ops.extend(q[i] for q in seqs if i < len(q))
        self.ops.extend(self.stop(i) for i in range(first, self.index))

    def step(self, s: Any) -> None:
        if isinstance(s, Text):
            self.block({"type": "text", "text": ""}, [{"type": "text_delta", "text": d} for d in s.deltas])
        elif isinstance(s, Reasoning):
            deltas = [{"type": "thinking_delta", "thinking": d} for d in s.deltas]
            sig = made_up_signature(s.text) if s.signature is None else s.signature
            if sig:
                deltas.append({"type": "signature_delta", "signature": sig})
            self.block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        elif isinstance(s, RedactedReasoning):
            self.block({"type": "redacted_thinking", "data": s.data}, [])
        elif isinstance(s, ToolCall):
            self.call(s)
        elif isinstance(s, Parallel):
            self.parallel(s)
        elif isinstance(s, Ping):
            self.ops.append(_PING)
        elif isinstance(s, Comment):
            self.ops.append(CommentFrame(s.text))
        elif isinstance(s, (Raw, Delay, Drop, Hang)):
            self.ops.append(s)


_PING = Event('{"type": "ping"}', "ping")


def _stream(
    script: Script, ids: _Ids, model: str, t: Totals, stop_reason: str, stop_sequence: str | None
) -> Reply:
    st = _Stream(script, ids)
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
    st.ops.append(st.ev({"type": "message_start", "message": message}))
    for s in script.steps:
        if isinstance(s, StreamError):
            st.ops.append(Event(dumps(error_body(s.type, s.message)), "error"))
            return Reply(script.status, {**SSE_HEADERS, **script.headers}, ops=st.ops)
        st.step(s)
    end_usage = {
        "input_tokens": t.input_tokens,
        "cache_creation_input_tokens": t.cache_write_tokens,
        "cache_read_input_tokens": t.cache_read_tokens,
        "output_tokens": t.output_tokens,
    }
    end_usage.update(script.usage_extra)
    delta = {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
    st.ops.append(st.ev({"type": "message_delta", "delta": delta, "usage": end_usage}))
    st.ops.append(st.ev({"type": "message_stop"}))
    headers = {**SSE_HEADERS, "request-id": f"req_sim{ids.seq}", **script.headers}
    return Reply(script.status, headers, ops=st.ops)


DIALECT = register(
    Dialect(
        name="anthropic",
        chat_paths=("/messages",),
        parse=parse_request,
        render=render,
        invalid=invalid_body,
        unauthorized=unauthorized_body,
        routes={("POST", "/messages/count_tokens"): count_tokens_route},
        models_wanted=lambda rec: "anthropic-version" in rec.headers,
        model_object=model_object,
        model_list=model_list,
        model_missing=model_missing,
    )
)
