"""The OpenAI Chat Completions wire format as an upstream: hub -> request body; chunks -> hub events."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, assert_never

import orjson

from ..core.errors import GatewayError, invalid
from ..core.events import Event, Finish, PartDelta, ResponseStart, UsageEvent
from ..core.parts import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    unsupported_server_tool,
)
from ..core.request import ChatRequest, Message
from ..core.response import FinishReason
from ..core.seal import default_sealer, is_sealed
from ..upstream import upstream_message
from ..wire.openai_chat import FINISH_IN, NAME, parse_usage
from .profiles import Profile
from .stream_parser import JsonStreamParser


class ReasoningMemory:
    """Reasoning text of recent tool-call turns, by tool call id, for upstreams that require it back
    (DeepSeek) when a client dropped it from the history."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._d: OrderedDict[str, str] = OrderedDict()

    def put(self, call_ids: list[str], reasoning: str) -> None:
        for cid in call_ids:
            self._d[cid] = reasoning
            self._d.move_to_end(cid)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def get(self, call_id: str) -> str | None:
        return self._d.get(call_id)


def _data_url(p: ImagePart | FilePart) -> str | None:
    if p.data is None:
        return None
    return f"data:{p.media_type or 'application/octet-stream'};base64,{p.data}"


def _user_content(parts: Sequence[Part], field: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return [_content_item(p, f"{field}[{i}]") for i, p in enumerate(parts)]


def _content_item(p: Part, pf: str) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "text", "text": p.text}
    if isinstance(p, ImagePart):
        iu: dict[str, Any] = {"url": p.url or _data_url(p)}
        if p.detail:
            iu["detail"] = p.detail
        return {"type": "image_url", "image_url": iu}
    if isinstance(p, FilePart):
        return _file_item(p, pf)
    if isinstance(p, (ReasoningPart, ToolCallPart, ToolResultPart)):
        raise invalid(f"Content of type {p.kind!r} cannot appear in this message ({pf}).", pf)
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        raise unsupported_server_tool(p, "Chat Completions", pf)
    assert_never(p)


def _file_item(p: FilePart, pf: str) -> dict[str, Any]:
    if p.text is not None:
        return {"type": "text", "text": p.text}
    f: dict[str, Any] = {}
    if p.data is not None:
        f["file_data"] = _data_url(p)
    if p.file_id:
        f["file_id"] = p.file_id
    if p.filename:
        f["filename"] = p.filename
    if not f:
        raise invalid(f"A file in {pf} has no data this upstream can take.", pf)
    return {"type": "file", "file": f}


def _tool_result_text(p: ToolResultPart) -> str | list[dict[str, Any]]:
    """OpenAI has no error flag on tool results: an error result says so in its text."""
    prefix = "Error: " if p.is_error else ""
    if isinstance(p.content, str):
        return prefix + p.content
    texts = [c.text for c in p.content if isinstance(c, TextPart)]
    if len(texts) == len(p.content):
        return prefix + "".join(texts)
    content = _user_content(p.content, "tool_result")
    if prefix and isinstance(content, list):
        content.insert(0, {"type": "text", "text": prefix})
    return content


def reasoning_text(p: ReasoningPart, scope: str | None) -> str:
    """A reasoning part's text; when it carries a signature this gateway sealed for ``scope`` (an Anthropic
    client's thinking block, issued for this provider), the sealed reasoning. Other signatures are never
    sent to an OpenAI-compatible upstream."""
    if scope is not None and is_sealed(p.signature):
        payload = default_sealer().unseal(scope, p.signature or "")
        text = payload.get("t") if isinstance(payload, dict) else None
        if isinstance(text, str):
            return text
    return p.text


def build_messages(
    req: ChatRequest, profile: Profile, memory: ReasoningMemory | None, scope: str | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rfield = profile.reasoning_fields[0]
    for i, m in enumerate(req.messages):
        field = f"messages[{i}]"
        if m.role in ("system", "developer"):
            role = profile.developer_role if m.role == "developer" else "system"
            text = "\n\n".join(p.text for p in m.parts if isinstance(p, TextPart))
            if any(not isinstance(p, TextPart) for p in m.parts):
                raise invalid(f"A {m.role} message ({field}) may only contain text.", f"{field}.content")
            out.append({"role": role, "content": text})
        elif m.role == "user":
            results = [p for p in m.parts if isinstance(p, ToolResultPart)]
            rest = [p for p in m.parts if not isinstance(p, ToolResultPart)]
            for r in results:  # Anthropic-style tool results inside a user turn
                out.append({"role": "tool", "tool_call_id": r.tool_call_id, "content": _tool_result_text(r)})
            if rest or not results:
                msg: dict[str, Any] = {"role": "user", "content": _user_content(rest, f"{field}.content")}
                if m.name:
                    msg["name"] = m.name
                out.append(msg)
        elif m.role == "tool":
            for p in m.parts:
                if not isinstance(p, ToolResultPart):
                    raise invalid(f"A tool message ({field}) must carry a tool result.", field)
                out.append({"role": "tool", "tool_call_id": p.tool_call_id, "content": _tool_result_text(p)})
        else:
            out.append(_assistant(m, field, profile, rfield, memory, scope))
    return out


def _assistant(
    m: Message, field: str, profile: Profile, rfield: str, memory: ReasoningMemory | None, scope: str | None
) -> dict[str, Any]:
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for p in m.parts:
        if isinstance(p, TextPart):
            text.append(p.text)
        elif isinstance(p, ReasoningPart):
            reasoning.append(reasoning_text(p, scope))
        elif isinstance(p, ToolCallPart):
            calls.append(
                {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
            )
        elif isinstance(p, (ImagePart, FilePart, ToolResultPart)):
            raise invalid(
                f"An assistant message ({field}) cannot contain {p.kind!r} content.", f"{field}.content"
            )
        elif isinstance(p, ServerToolCallPart | ServerToolResultPart):
            raise unsupported_server_tool(p, "Chat Completions", f"{field}.content")
        else:
            assert_never(p)
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        msg["tool_calls"] = calls
        if profile.echo_reasoning_with_tool_calls:
            r = "".join(reasoning)
            if not r and memory is not None:
                r = memory.get(calls[0]["id"]) or ""
            msg[rfield] = r
    return msg


def build_body(
    req: ChatRequest, model: str, profile: Profile, memory: ReasoningMemory | None, scope: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": build_messages(req, profile, memory, scope)}
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    for k in ("temperature", "top_p", "seed", "user", "response_format"):
        v = getattr(req, k)
        if v is not None:
            body[k] = v
    if req.stop:
        body["stop"] = req.stop
    if req.tools:
        body["tools"] = [
            {"type": "function", "function": {k: v for k, v in (("name", t.name), ("description", t.description),
             ("parameters", t.parameters), ("strict", t.strict)) if v is not None}}
            for t in req.tools
        ]  # fmt: skip
    tc = req.tool_choice
    if tc is not None:
        body["tool_choice"] = (
            {"type": "function", "function": {"name": tc.name}} if tc.mode == "tool" else tc.mode
        )
        if tc.parallel is not None and req.tools:
            body["parallel_tool_calls"] = tc.parallel
    effort = _effort(req, profile)
    if effort:
        body["reasoning_effort"] = effort
    extra = req.extra_for(NAME)
    n = extra.get("n")
    if isinstance(n, int) and n > 1:
        raise invalid("'n' greater than 1 is only supported when the upstream speaks the client's dialect "
                      "(pass-through).", "n", "unsupported_value")  # fmt: skip
    for k, v in extra.items():
        body.setdefault(k, v)
    return apply_params(body, profile)


def _effort(req: ChatRequest, profile: Profile) -> str | None:
    """``reasoning_effort``: as asked, or from a thinking budget where the profile maps one."""
    r = req.reasoning
    if r is None:
        return None
    effort = r.effort
    budget = r.budget_tokens
    if effort is None and profile.thinking_to_effort and r.enabled and budget:
        effort = "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    return effort


def apply_params(body: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The profile's parameter rules: renames, drops, clamps (in place; returns the body)."""
    for src, dst in profile.param_renames:
        if src in body:
            v = body.pop(src)
            body.setdefault(dst, v)
    for k in profile.param_drops:
        body.pop(k, None)
    for k, lo, hi in profile.param_clamps:
        v = body.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if lo is not None and v < lo:
                body[k] = lo
            if hi is not None and v > hi:
                body[k] = hi
    return body


_REFUSAL = "refusal"


class ChunkParser(JsonStreamParser):
    """OpenAI ``chat.completion.chunk`` objects -> hub events (choice 0).

    Reasoning, text and refusal are each one part while they continue; a switch of kind closes the
    open part. Tool calls are keyed by their ``index`` and may interleave; a call becomes a part once its
    name is known (some vendors send an empty first delta). With a ``memory``, the reasoning of a turn
    that called tools is remembered by call id (DeepSeek wants it back)."""

    end_marker = "[DONE]"

    def __init__(self, profile: Profile, model: str, memory: ReasoningMemory | None = None) -> None:
        super().__init__()
        self.model = model
        self.reasoning_fields = profile.reasoning_fields
        self.memory = memory
        self.saw_done = False
        self.finish: FinishReason | None = None
        self.tool_ids: list[str] = []
        self.reasoning_text: list[str] = []

    def marker(self) -> list[Event]:
        self.saw_done = True
        return []

    def _start(self, obj: dict[str, Any]) -> None:
        self.started = True
        self.parts.events.append(ResponseStart(str(obj.get("id") or f"chatcmpl-{uuid.uuid4().hex}"),
                                               str(obj.get("model") or self.model),
                                               int(obj.get("created") or time.time())))  # fmt: skip

    def feed(self, obj: Any) -> list[Event]:
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent a chunk that is not a JSON object: {obj!r:.200}")
        choices = obj.get("choices")
        if not choices and "error" in obj:
            return self._error(obj)
        if not self.started:
            self._start(obj)
        if choices:
            for choice in choices:
                if choice.get("index", 0) == 0:
                    self._choice(choice)
        u = obj.get("usage")
        parts = self.parts
        if u is not None and isinstance(u, dict):
            parts.events.append(UsageEvent(parse_usage(u)))
        out = parts.events
        parts.events = []
        return out

    def _error(self, obj: dict[str, Any]) -> list[Event]:
        if not self.started:
            self._start(obj)
        msg, code = upstream_message(orjson.dumps(obj))
        out = self.parts.take()
        out.append(
            self.fail(GatewayError("upstream", f"Upstream reported an error mid-stream: {msg}", code=code))
        )
        return out

    def _choice(self, choice: dict[str, Any]) -> None:
        parts = self.parts
        delta = choice.get("delta") or choice.get("message") or {}
        for rf in self.reasoning_fields:
            r = delta.get(rf)
            if r and isinstance(r, str):
                self.reasoning_text.append(r)
                parts.reasoning(r)
                break
        c = delta.get("content")
        if c and isinstance(c, str):
            parts.text(c)
        ref = delta.get("refusal")
        if ref and isinstance(ref, str):
            parts.text(ref, _REFUSAL, {"openai": {"refusal": True}} if parts.run != _REFUSAL else None)
        calls = delta.get("tool_calls")
        if calls:
            for tc in calls:
                self._tool_delta(tc)
        fr = choice.get("finish_reason")
        if fr:
            self.finish = FINISH_IN.get(fr, "stop")

    def _tool_delta(self, tc: dict[str, Any]) -> None:
        ti = tc.get("index")
        if ti is None:
            ti = len(self.tool_ids) + len(self.parts.pending_calls)
        fn = tc.get("function") or {}
        args = fn.get("arguments")
        parts = self.parts
        index = parts.keys.get(ti)
        if index is not None:  # the call goes on: more arguments
            if args and isinstance(args, str):
                parts.events.append(PartDelta(index, args))
            return
        started = parts.tool_call(ti, tc.get("id"), fn.get("name"), args if isinstance(args, str) else None)
        if started is not None:
            self.tool_ids.append(started.id)

    def close(self, saw_done: bool | None = None) -> list[Event]:
        """End of the upstream stream: close parts, then ``Finish`` (or an error if it was cut off)."""
        if self.failed:
            return []
        if not self.started:
            raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                               code="upstream_empty")  # fmt: skip
        for ti, pend in self.parts.pending_calls.items():
            raise GatewayError("upstream", f"Upstream sent tool call #{ti} without a name ({pend!r:.100})")
        parts = self.parts
        parts.close()
        if self.finish is None and not (self.saw_done if saw_done is None else saw_done):
            parts.events.append(self.fail(GatewayError("upstream", "Upstream stream ended before the response was "
                                                       "complete", code="upstream_disconnected")))  # fmt: skip
        else:
            self.done = True
            parts.events.append(Finish(self.finish or "stop"))
        if self.memory is not None and self.tool_ids and self.reasoning_text:
            self.memory.put(self.tool_ids, "".join(self.reasoning_text))
        return parts.take()

    def abort(self, error: GatewayError) -> list[Event]:
        """The body broke: close the open parts, then the error."""
        self.parts.close()
        out = self.parts.take()
        out.append(self.fail(error))
        return out


def completion_events(
    obj: Any, profile: Profile, model: str, memory: ReasoningMemory | None = None
) -> list[Event]:
    """A non-streamed ``chat.completion`` as the same event sequence a stream would give."""
    if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    p = ChunkParser(profile, model, memory)
    events = p.feed(obj)
    events += p.close(saw_done=True)
    return events
