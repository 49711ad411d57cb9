"""OpenAI Responses on the wire (``POST …/responses``), as OpenAI sends it.

Stream: ``response.created``, ``response.in_progress``, per output item ``response.output_item.added``, its
content events and ``response.output_item.done``, then ``response.completed`` (``response.incomplete`` for a
``length`` / ``content_filter`` finish); every event with ``event:`` and a ``sequence_number``; no
``[DONE]``. A ``StreamError`` step is an ``error`` event followed by ``response.failed``.

Script steps: ``Text`` -> a ``message`` item; ``Reasoning`` -> a ``reasoning`` item whose summary is the text
(its ``encrypted_content``, when the request includes ``reasoning.encrypted_content``, is a made-up blob in
OpenAI's ``gAAAAA`` form); ``Refusal`` -> a message with a ``refusal`` part; ``ToolCall`` -> a
``function_call``, or a ``custom_tool_call`` when the request declares a ``custom`` tool of that name (its
``arguments`` are then the raw input).

Like the real API, a request is refused (400) when a reasoning item carries ``encrypted_content`` this
upstream did not make, or a ``function_call_output`` answers no call of the request.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from .answer import Totals, totals
from .dialects import Dialect, RenderContext, register
from .inbound import ChatInput, Invalid, collect_text
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
from .wire import CommentFrame, Event, Op, Reply, dumps

SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
BLOB_PREFIX = "gAAAAAB"


def made_up_blob(text: str) -> str:
    """A deterministic stand-in for OpenAI's encrypted reasoning (Fernet-looking)."""
    digest = hashlib.sha256(text.encode()).digest()
    return BLOB_PREFIX + base64.urlsafe_b64encode(digest * 2).decode()


# ------------------------------------------------------------------------------------------ inbound


def _texts(items: Any, out: list[str]) -> None:
    if isinstance(items, str):
        out.append(items)
        return
    for it in items if isinstance(items, list) else ():
        if isinstance(it, dict):
            collect_text(it.get("content"), out)
            for k in ("output", "arguments", "input"):
                if isinstance(it.get(k), str):
                    out.append(it[k])
            for s in it.get("summary") or ():
                if isinstance(s, dict) and isinstance(s.get("text"), str):
                    out.append(s["text"])


def _last_user_text(items: Any) -> str:
    if isinstance(items, str):
        return items
    for it in reversed(items if isinstance(items, list) else []):
        if isinstance(it, dict) and it.get("role") == "user":
            out: list[str] = []
            collect_text(it.get("content"), out)
            return "\n".join(out)
    return ""


def parse(body: Any) -> ChatInput:
    """A Responses request as the real API checks it."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    items = body.get("input")
    calls: set[str] = set()
    for i, it in enumerate(items if isinstance(items, list) else []):
        if not isinstance(it, dict):
            raise Invalid(
                f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]", "invalid_type"
            )
        t = it.get("type")
        if t in ("function_call", "custom_tool_call"):
            calls.add(str(it.get("call_id")))
        elif t in ("function_call_output", "custom_tool_call_output") and it.get("call_id") not in calls:
            raise Invalid(f"No tool call found for function call output with call_id {it.get('call_id')}.",
                          f"input[{i}].call_id", "invalid_value")  # fmt: skip
        elif t == "reasoning":
            enc = it.get("encrypted_content")
            if enc is not None and not (isinstance(enc, str) and enc.startswith(BLOB_PREFIX)):
                raise Invalid("The encrypted content for item could not be verified. Reason: Encrypted content "
                              "could not be decrypted or parsed.", f"input[{i}].encrypted_content",
                              "invalid_encrypted_content")  # fmt: skip
    texts: list[str] = []
    if isinstance(body.get("instructions"), str):
        texts.append(body["instructions"])
    _texts(items, texts)
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return ChatInput(
        dialect="responses",
        body=body,
        model=model,
        stream=body.get("stream") is True,
        include_usage=True,
        prompt_text="\n".join(texts),
        last_user_text=_last_user_text(items),
        wants_reasoning="reasoner" in model or effort not in (None, "none", "minimal"),
    )


def error_object(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# ------------------------------------------------------------------------------------------ rendering


def usage_object(t: Totals) -> dict[str, Any]:
    return {
        "input_tokens": t.input_tokens,
        "input_tokens_details": {
            "cached_tokens": t.cache_read_tokens,
            "cache_write_tokens": t.cache_write_tokens,
        },
        "output_tokens": t.output_tokens,
        "output_tokens_details": {"reasoning_tokens": t.reasoning_tokens},
        "total_tokens": t.input_tokens + t.output_tokens,
    }


def _custom_names(body: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for t in body.get("tools") or ():
        if isinstance(t, dict):
            if t.get("type") == "custom":
                out.add(str(t.get("name")))
            for inner in t.get("tools") or () if t.get("type") == "namespace" else ():
                if isinstance(inner, dict) and inner.get("type") == "custom":
                    out.add(str(inner.get("name")))
    return out


class _Render:
    def __init__(self, script: Script, inp: ChatInput, seq: int) -> None:
        self.script = script
        self.inp = inp
        self.seq = seq
        self.n = 0
        self.rid = script.id or f"resp_sim{seq:06d}"
        self.model = script.model or inp.model
        self.created = script.created if script.created is not None else int(time.time())
        self.custom = _custom_names(inp.body)
        include = inp.body.get("include") or ()
        self.encrypted = "reasoning.encrypted_content" in include
        self.output: list[dict[str, Any]] = []
        self.calls = 0

    def response(self, status: str, usage: Any, **kw: Any) -> dict[str, Any]:
        b = self.inp.body
        reasoning = b.get("reasoning") if isinstance(b.get("reasoning"), dict) else {}
        body = {
            "id": self.rid, "object": "response", "created_at": self.created, "status": status,
            "background": False, "error": kw.get("error"), "incomplete_details": kw.get("incomplete"),
            "instructions": b.get("instructions"), "max_output_tokens": b.get("max_output_tokens"),
            "max_tool_calls": None, "model": self.model, "output": list(self.output),
            "parallel_tool_calls": b.get("parallel_tool_calls", True), "previous_response_id": None,
            "prompt_cache_key": b.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "safety_identifier": None, "service_tier": "default", "store": b.get("store", True),
            "temperature": b.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium", **(b.get("text") or {})}, "tool_choice": b.get("tool_choice", "auto"),
            "tools": b.get("tools") or [], "top_logprobs": 0, "top_p": b.get("top_p", 1.0),
            "truncation": "disabled", "usage": usage, "metadata": b.get("metadata") or {},
        }  # fmt: skip
        if usage is None:  # OpenAI sends null until the end; the reference allows no null (nor a null user)
            del body["usage"]
        return body

    def ev(self, etype: str, **fields: Any) -> Event:
        obj = {"type": etype, "sequence_number": self.n, **fields}
        self.n += 1
        return Event(dumps(obj), etype)

    def item_id(self, prefix: str) -> str:
        return f"{prefix}_sim{self.seq}_{len(self.output)}"

    # items, whole
    def reasoning_item(self, s: Reasoning) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.item_id("rs"), "type": "reasoning",
                                "summary": [{"type": "summary_text", "text": s.text}]}  # fmt: skip
        if self.encrypted:
            item["encrypted_content"] = made_up_blob(s.text)
        return item

    def message_item(self, text: str, refusal: bool = False) -> dict[str, Any]:
        part = ({"type": "refusal", "refusal": text} if refusal else
                {"type": "output_text", "annotations": [], "logprobs": [], "text": text})  # fmt: skip
        return {"id": self.item_id("msg"), "type": "message", "status": "completed", "content": [part],
                "role": "assistant"}  # fmt: skip

    def call_item(self, c: ToolCall) -> dict[str, Any]:
        call_id = c.id or f"call_sim{self.seq}_{self.calls}"
        self.calls += 1
        if c.name in self.custom:
            return {"id": self.item_id("ctc"), "type": "custom_tool_call", "status": "completed", "call_id": call_id,
                    "input": c.arguments, "name": c.name}  # fmt: skip
        return {"id": self.item_id("fc"), "type": "function_call", "status": "completed", "arguments": c.arguments,
                "call_id": call_id, "name": c.name}  # fmt: skip

    def terminal(self) -> tuple[str, dict[str, Any] | None]:
        f = self.script.finish
        if f in ("length", "max_tokens"):
            return "incomplete", {"reason": "max_output_tokens"}
        if f in ("content_filter", "refusal"):
            return "incomplete", {"reason": "content_filter"}
        return "completed", None


def render(script: Script, inp: ChatInput, seq: int) -> Reply:
    for s in script.steps:
        if isinstance(s, RedactedReasoning):
            raise ScriptError("RedactedReasoning has no OpenAI Responses form")
        if isinstance(s, Fixture):
            raise ScriptError("a Fixture step must be the only step of its script")
    r = _Render(script, inp, seq)
    t = totals(script, inp)
    usage = usage_object(t) if script.usage_mode != "none" else None
    if inp.stream:
        return _stream(r, usage)
    before: list[Delay | Drop | Hang] = []
    for s in script.steps:
        if isinstance(s, Text):
            r.output.append(r.message_item(s.text))
        elif isinstance(s, Refusal):
            r.output.append(r.message_item("".join(s.deltas), refusal=True))
        elif isinstance(s, Reasoning):
            r.output.append(r.reasoning_item(s))
        elif isinstance(s, ToolCall | Parallel):
            for c in [s] if isinstance(s, ToolCall) else s.calls:
                r.output.append(r.call_item(c))
        elif isinstance(s, Delay | Drop | Hang):
            before.append(s)
        elif isinstance(s, StreamError):
            raise ScriptError("StreamError needs a streamed request")
    status, incomplete = r.terminal()
    body = r.response(status, usage, incomplete=incomplete)
    headers = {"Content-Type": "application/json", "x-request-id": f"req_sim{seq}", **script.headers}
    return Reply(script.status, headers, body=dumps(body).encode(), before=before)


def _stream(r: _Render, usage: Any) -> Reply:
    script = r.script
    ops: list[Op] = [r.ev("response.created", response=r.response("in_progress", None)),
                     r.ev("response.in_progress", response=r.response("in_progress", None))]  # fmt: skip
    for s in script.steps:
        if isinstance(s, Text | Refusal):
            refusal = isinstance(s, Refusal)
            item = r.message_item("".join(s.deltas), refusal)
            oi = len(r.output)
            iid = item["id"]
            ops.append(r.ev("response.output_item.added", output_index=oi,
                            item={**item, "status": "in_progress", "content": []}))  # fmt: skip
            empty = {"type": "refusal", "refusal": ""} if refusal else {
                "type": "output_text", "annotations": [], "logprobs": [], "text": ""}  # fmt: skip
            ops.append(
                r.ev("response.content_part.added", item_id=iid, output_index=oi, content_index=0, part=empty)
            )
            kind = "refusal" if refusal else "output_text"
            for d in s.deltas:
                extra = {} if refusal else {"logprobs": []}
                ops.append(r.ev(f"response.{kind}.delta", item_id=iid, output_index=oi, content_index=0, delta=d,
                                **extra))  # fmt: skip
            whole = "".join(s.deltas)
            done = {"refusal": whole} if refusal else {"text": whole, "logprobs": []}
            ops.append(r.ev(f"response.{kind}.done", item_id=iid, output_index=oi, content_index=0, **done))
            ops.append(r.ev("response.content_part.done", item_id=iid, output_index=oi, content_index=0,
                            part=item["content"][0]))  # fmt: skip
            r.output.append(item)
            ops.append(r.ev("response.output_item.done", output_index=oi, item=item))
        elif isinstance(s, Reasoning):
            item = r.reasoning_item(s)
            oi = len(r.output)
            iid = item["id"]
            ops.append(r.ev("response.output_item.added", output_index=oi, item={**item, "summary": []}))
            ops.append(r.ev("response.reasoning_summary_part.added", item_id=iid, output_index=oi, summary_index=0,
                            part={"type": "summary_text", "text": ""}))  # fmt: skip
            for d in s.deltas:
                ops.append(r.ev("response.reasoning_summary_text.delta", item_id=iid, output_index=oi,
                                summary_index=0, delta=d))  # fmt: skip
            ops.append(r.ev("response.reasoning_summary_text.done", item_id=iid, output_index=oi, summary_index=0,
                            text=s.text))  # fmt: skip
            ops.append(r.ev("response.reasoning_summary_part.done", item_id=iid, output_index=oi, summary_index=0,
                            part={"type": "summary_text", "text": s.text}))  # fmt: skip
            r.output.append(item)
            ops.append(r.ev("response.output_item.done", output_index=oi, item=item))
        elif isinstance(s, ToolCall | Parallel):
            for c in [s] if isinstance(s, ToolCall) else s.calls:
                item = r.call_item(c)
                oi = len(r.output)
                iid = item["id"]
                custom = item["type"] == "custom_tool_call"
                start = (
                    {**item, "input": ""} if custom else {**item, "status": "in_progress", "arguments": ""}
                )
                ops.append(r.ev("response.output_item.added", output_index=oi, item=start))
                kind = "custom_tool_call_input" if custom else "function_call_arguments"
                for f in c.argument_fragments():
                    ops.append(r.ev(f"response.{kind}.delta", item_id=iid, output_index=oi, delta=f))
                done = {"input": c.arguments} if custom else {"name": c.name, "arguments": c.arguments}
                ops.append(r.ev(f"response.{kind}.done", item_id=iid, output_index=oi, **done))
                r.output.append(item)
                ops.append(r.ev("response.output_item.done", output_index=oi, item=item))
        elif isinstance(s, Comment):
            ops.append(CommentFrame(s.text))
        elif isinstance(s, Raw | Delay | Drop | Hang):
            ops.append(s)
        elif isinstance(s, StreamError):
            ops.append(r.ev("error", code=s.code or s.type, message=s.message, param=None))
            failed = r.response(
                "failed", None, error={"code": s.code or "server_error", "message": s.message}
            )
            ops.append(r.ev("response.failed", response=failed))
            return Reply(script.status, {**SSE_HEADERS, **script.headers}, ops=ops)
        elif isinstance(s, Ping):
            pass
    status, incomplete = r.terminal()
    ops.append(r.ev(f"response.{status}", response=r.response(status, usage, incomplete=incomplete)))
    headers = {**SSE_HEADERS, "x-request-id": f"req_sim{r.seq}", **script.headers}
    return Reply(script.status, headers, ops=ops)


def _render(script: Script, inp: ChatInput, ctx: RenderContext) -> Reply:
    return render(script, inp, ctx.seq)


def invalid_body(e: Invalid) -> dict[str, Any]:
    return error_object(e.message, "invalid_request_error", e.code, e.param)


def unauthorized_body(api_key: str | None, seq: int) -> dict[str, Any]:
    shown = (api_key or "")[:6]
    return error_object(
        f"Incorrect API key provided: {shown}***. You can find your API key at your account page.",
        "invalid_request_error",
        "invalid_api_key",
    )


DIALECT = register(
    Dialect(
        name="responses",
        chat_paths=("/responses",),
        parse=parse,
        render=_render,
        invalid=invalid_body,
        unauthorized=unauthorized_body,
    )
)
