"""OpenAI Chat Completions on the wire (also DeepSeek and other OpenAI-compatible vendors).

Stream: ``chat.completion.chunk`` objects, a role chunk first, content / reasoning / refusal / tool_calls
deltas, a finish chunk with an empty delta, a ``choices: []`` usage chunk when asked, ``data: [DONE]``.
"""

from __future__ import annotations

import time
from typing import Any

from .answer import Totals, tool_calls, totals
from .dialects import Dialect, RenderContext, register
from .inbound import ChatInput, Invalid, chat_input, require_object
from .script import (
    Comment,
    Delay,
    Drop,
    Fixture,
    Hang,
    Parallel,
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
from .wire import TO_OPENAI, CommentFrame, Event, Op, Reply, dumps, finish_for

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


def usage_object(t: Totals, extra: dict[str, Any]) -> dict[str, Any]:
    u: dict[str, Any] = {
        "prompt_tokens": t.input_tokens,
        "completion_tokens": t.output_tokens,
        "total_tokens": t.input_tokens + t.output_tokens,
        "prompt_tokens_details": {"cached_tokens": t.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": t.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    u.update(extra)
    return u


def error_object(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class _Ids:
    def __init__(self, script: Script, seq: int) -> None:
        self.response = script.id or f"chatcmpl-sim{seq:06d}"
        self.seq = seq

    def call(self, call: ToolCall, index: int) -> str:
        return call.id or f"call_sim{self.seq}_{index}"


class _CallCounter:
    """Numbers the tool calls of one answer (their ``index`` and made-up ids)."""

    def __init__(self, ids: _Ids) -> None:
        self.ids = ids
        self.n = 0

    def deltas(self, call: ToolCall) -> list[dict[str, Any]]:
        out = _call_deltas(call, self.n, self.ids.call(call, self.n))
        self.n += 1
        return out


def _step_ops(s: Any, rfield: str, calls: _CallCounter) -> list[dict[str, Any] | Op]:
    """A stream step as chunk deltas (dicts) and transport operations, in order."""
    if isinstance(s, Text):
        return [{"content": d} for d in s.deltas]
    if isinstance(s, Reasoning):
        return [{rfield: d} for d in s.deltas]
    if isinstance(s, Refusal):
        return [{"refusal": d} for d in s.deltas]
    if isinstance(s, ToolCall):
        return list(calls.deltas(s))
    if isinstance(s, Parallel):
        seqs = [calls.deltas(c) for c in s.calls]
        if not s.interleave:
            return [d for q in seqs for d in q]
        return [q[i] for i in range(max((len(q) for q in seqs), default=0)) for q in seqs if i < len(q)]
    if isinstance(s, Comment):
        return [CommentFrame(s.text)]
    if isinstance(s, (Raw, Delay, Drop, Hang)):
        return [s]
    return []  # Ping: no such event in this dialect


def _call_deltas(call: ToolCall, index: int, call_id: str) -> list[dict[str, Any]]:
    frags = call.argument_fragments()
    first_args = call.arguments if call.args_in_first else ""
    first = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": first_args},
    }
    out: list[dict[str, Any]] = [{"tool_calls": [first]}]
    if not call.args_in_first:
        out.extend({"tool_calls": [{"index": index, "function": {"arguments": f}}]} for f in frags)
    return out


def parse_request(body: Any) -> ChatInput:
    body = require_object(body)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid("you must provide a model parameter", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not messages:
        raise Invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    thinking = body.get("thinking")
    wants = (
        "reasoner" in model
        or body.get("reasoning_effort") not in (None, "none", "minimal")
        or (isinstance(thinking, dict) and thinking.get("type") == "enabled")
    )
    return chat_input("openai", body, model, messages, wants)


def invalid_body(e: Invalid) -> dict[str, Any]:
    return error_object(e.message, "invalid_request_error", e.code, e.param)


def unauthorized_body(api_key: str | None, seq: int) -> dict[str, Any]:
    shown = (api_key or "")[:6]
    return error_object(
        f"Incorrect API key provided: {shown}***. You can find your API key at your account page.",
        "invalid_request_error",
        "invalid_api_key",
    )


def model_object(model: str, now: int) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": now, "owned_by": "sim"}


def model_list(objects: list[dict[str, Any]], models: list[str]) -> dict[str, Any]:
    return {"object": "list", "data": objects}


def model_missing(model: str) -> dict[str, Any]:
    return error_object(
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def render(script: Script, inp: ChatInput, ctx: RenderContext) -> Reply:
    seq, reasoning_field = ctx.seq, ctx.reasoning_field
    rfield = script.reasoning_field or reasoning_field
    ids = _Ids(script, seq)
    model = script.model or inp.model
    created = script.created if script.created is not None else int(time.time())
    t = totals(script, inp)
    has_tools = any(True for _ in tool_calls(script.steps))
    finish = finish_for(TO_OPENAI, script.finish, has_tools, script.stop_sequence)
    for s in script.steps:
        if isinstance(s, RedactedReasoning):
            raise ScriptError("RedactedReasoning has no OpenAI Chat Completions form")
        if isinstance(s, Fixture):
            raise ScriptError("a Fixture step must be the only step of its script")
    if inp.stream:
        return _stream(script, inp, ids, model, created, t, finish, rfield)
    return _whole(script, ids, model, created, t, finish, rfield)


def _whole(script: Script, ids: _Ids, model: str, created: int, t: Totals, finish: str, rfield: str) -> Reply:
    message, before = _message(script, ids, rfield)
    body: dict[str, Any] = {
        "id": ids.response,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    }
    if script.usage_mode != "none":
        body["usage"] = usage_object(t, dict(script.usage_extra))
    if script.system_fingerprint is not None:
        body["system_fingerprint"] = script.system_fingerprint
    headers = {"Content-Type": "application/json", "x-request-id": f"req_sim{ids.seq}", **script.headers}
    return Reply(script.status, headers, body=dumps(body).encode(), before=before)


def _message(script: Script, ids: _Ids, rfield: str) -> tuple[dict[str, Any], list[Delay | Drop | Hang]]:
    """The assistant message of a whole answer, and the script's transport steps (they come before it)."""
    text: list[str] = []
    reasoning: list[str] = []
    refusal: list[str] = []
    calls: list[dict[str, Any]] = []
    before: list[Delay | Drop | Hang] = []
    for s in script.steps:
        if isinstance(s, Text):
            text.append(s.text)
        elif isinstance(s, Reasoning):
            reasoning.append(s.text)
        elif isinstance(s, Refusal):
            refusal.append("".join(s.deltas))
        elif isinstance(s, (ToolCall, Parallel)):
            for c in [s] if isinstance(s, ToolCall) else s.calls:
                call_id = ids.call(c, len(calls))
                calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                )
        elif isinstance(s, (Delay, Drop, Hang)):
            before.append(s)
        elif isinstance(s, StreamError):
            raise ScriptError("StreamError needs a streamed request")
        # Comment / Ping / Raw have no place in a JSON body
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if reasoning:
        message[rfield] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    message["refusal"] = "".join(refusal) if refusal else None
    message["annotations"] = []
    return message, before


def _stream(
    script: Script, inp: ChatInput, ids: _Ids, model: str, created: int, t: Totals, finish: str, rfield: str
) -> Reply:
    mode = script.usage_mode
    usage_null = (mode == "auto" and inp.include_usage) or mode in ("always", "with_finish")

    def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, usage: Any = None) -> Event:
        obj: dict[str, Any] = {
            "id": ids.response,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        if script.system_fingerprint is not None:
            obj["system_fingerprint"] = script.system_fingerprint
        if delta is None:
            obj["choices"] = []
        else:
            obj["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        if usage is not None or usage_null:
            obj["usage"] = usage
        return Event(dumps(obj))

    ops: list[Op] = [chunk({"role": "assistant", "content": "", "refusal": None})]
    calls = _CallCounter(ids)
    for s in script.steps:
        if isinstance(s, StreamError):
            ops.append(Event(dumps(error_object(s.message, s.type, s.code))))
            return Reply(script.status, {**SSE_HEADERS, **script.headers}, ops=ops)
        for op in _step_ops(s, rfield, calls):
            ops.append(chunk(op) if isinstance(op, dict) else op)
    usage = usage_object(t, dict(script.usage_extra))
    ops.append(chunk({}, finish, usage if mode == "with_finish" else None))
    if (mode == "auto" and inp.include_usage) or mode == "always":
        ops.append(chunk(None, None, usage))
    ops.append(Event("[DONE]"))
    headers = {**SSE_HEADERS, "x-request-id": f"req_sim{ids.seq}", **script.headers}
    return Reply(script.status, headers, ops=ops)


DIALECT = register(
    Dialect(
        name="openai",
        chat_paths=("/chat/completions",),
        parse=parse_request,
        render=render,
        invalid=invalid_body,
        unauthorized=unauthorized_body,
        model_object=model_object,
        model_list=model_list,
        model_missing=model_missing,
    )
)
