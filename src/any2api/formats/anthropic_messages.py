"""Anthropic Messages: the client dialect (request parsing, response/stream rendering, errors, usage).

The wire maps (usage, stop reasons, error types) live in ``wire/anthropic_messages.py``, shared with the
native Anthropic upstream.

Anthropic-only request fields that the hub has no slot for (``context_management``, ``output_config``,
``service_tier``, ``container``, ``mcp_servers``, the raw ``thinking`` object ...) and the client's
``anthropic-beta`` header travel in the hub request's ``vendor_extra`` / ``vendor_headers`` under this wire
format's name, so that only an Anthropic upstream ever sees them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Literal, assert_never

import orjson

from ..core.errors import GatewayError, invalid
from ..core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ..core.parts import (
    JSON,
    FilePart,
    ImagePart,
    OutputPart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ..core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from ..core.response import ChatResponse, FinishReason, Usage
from ..wire.anthropic_messages import (
    NAME,
    anthropic_details,
    error_json,
    error_status,
    message_id,
    stop_reason,
    tool_input_json,
    usage_from_wire,
    usage_to_wire,
)
from .base import Dialect, StreamRenderer, UsageSniffer

# ---------------------------------------------------------------------------------------- request model


# ---------------------------------------------------------------------------------------- request parsing

_TOP = {
    "model", "messages", "system", "max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences",
    "metadata", "tools", "tool_choice", "thinking",
}  # fmt: skip
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_BLOCK_TYPES = "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking' or 'redacted_thinking'"


def _tname(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(v), type(v).__name__)


def _bad(path: str, message: str, code: str = "invalid_value") -> GatewayError:
    return invalid(f"{path}: {message}" if path else message, path or None, code)


def _missing(path: str) -> GatewayError:
    return _bad(path, "Field required", "missing_required_parameter")


def _want(cond: bool, path: str, what: str, v: Any) -> None:
    if not cond:
        raise _bad(path, f"Input should be {what}, got {_tname(v)}", "invalid_type")


def _str(
    obj: dict[str, Any], key: str, path: str, required: bool = True, nonempty: bool = False
) -> str | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise _missing(f"{path}.{key}" if path else key)
        return None
    _want(isinstance(v, str), f"{path}.{key}" if path else key, "a valid string", v)
    if nonempty and not v:
        raise _bad(f"{path}.{key}" if path else key, "String should have at least 1 character")
    return v  # type: ignore[no-any-return]


def _details(obj: dict[str, Any], skip: tuple[str, ...]) -> dict[str, JSON] | None:
    """Keys of a block the hub has no field for (``cache_control``, ``citations`` ...), namespaced."""
    rest = {k: v for k, v in obj.items() if k not in skip}
    return {"anthropic": rest} if rest else None


def _source_media(src: dict[str, Any], path: str) -> str:
    mt = _str(src, "media_type", path)
    assert mt is not None
    return mt


def _image(b: dict[str, Any], path: str) -> ImagePart:
    src = b.get("source")
    if src is None:
        raise _missing(f"{path}.source")
    _want(isinstance(src, dict), f"{path}.source", "a valid dictionary", src)
    st = src.get("type")
    details = _details(b, ("type", "source"))
    if st == "base64":
        data = _str(src, "data", f"{path}.source")
        return ImagePart(data=data, media_type=_source_media(src, f"{path}.source"), provider_details=details)
    if st == "url":
        return ImagePart(url=_str(src, "url", f"{path}.source", nonempty=True), provider_details=details)
    if st is None:
        raise _missing(f"{path}.source.type")
    raise _bad(f"{path}.source.type", f"Image source type {st!r} is not supported here (use 'base64' or 'url')",
               "unsupported_content")  # fmt: skip


def _document(b: dict[str, Any], path: str) -> FilePart:
    src = b.get("source")
    if src is None:
        raise _missing(f"{path}.source")
    _want(isinstance(src, dict), f"{path}.source", "a valid dictionary", src)
    st = src.get("type")
    sp = f"{path}.source"
    title = b.get("title")
    filename = title if isinstance(title, str) else None
    details = _details(b, ("type", "source", "title"))
    if st == "base64":
        return FilePart(data=_str(src, "data", sp), media_type=_source_media(src, sp), filename=filename,
                        provider_details=details)  # fmt: skip
    if st == "text":
        mt = src.get("media_type")
        return FilePart(text=_str(src, "data", sp), media_type=mt if isinstance(mt, str) else "text/plain",
                        filename=filename, provider_details=details)  # fmt: skip
    if st == "url":
        return FilePart(url=_str(src, "url", sp, nonempty=True), filename=filename, provider_details=details)
    if st == "file":
        return FilePart(
            file_id=_str(src, "file_id", sp, nonempty=True), filename=filename, provider_details=details
        )
    if st == "content":
        content = src.get("content")
        if isinstance(content, str):
            return FilePart(
                text=content, media_type="text/plain", filename=filename, provider_details=details
            )
        _want(isinstance(content, list), f"{sp}.content", "a valid string or list", content)
        texts: list[str] = []
        for j, c in enumerate(content):
            cp = f"{sp}.content.{j}"
            _want(isinstance(c, dict), cp, "a valid dictionary", c)
            if c.get("type") != "text":
                raise _bad(f"{cp}.type", "Only 'text' blocks are supported inside a content document source",
                           "unsupported_content")  # fmt: skip
            t = _str(c, "text", cp)
            assert t is not None
            texts.append(t)
        return FilePart(
            text="\n\n".join(texts), media_type="text/plain", filename=filename, provider_details=details
        )
    if st is None:
        raise _missing(f"{sp}.type")
    raise _bad(
        f"{sp}.type", f"Document source type {st!r} is not one of 'base64', 'text', 'url', 'content', 'file'"
    )


def _tool_result_content(v: Any, path: str) -> str | list[Part]:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    _want(isinstance(v, list), path, "a valid string or list", v)
    out: list[Part] = []
    for j, c in enumerate(v):
        cp = f"{path}.{j}"
        _want(isinstance(c, dict), cp, "a valid dictionary", c)
        t = c.get("type")
        if t == "text":
            text = _str(c, "text", cp)
            assert text is not None
            out.append(TextPart(text, provider_details=_details(c, ("type", "text"))))
        elif t == "image":
            out.append(_image(c, cp))
        elif t == "document":
            out.append(_document(c, cp))
        elif t is None:
            raise _missing(f"{cp}.type")
        else:
            raise _bad(f"{cp}.type", f"Input tag {t!r} is not supported in a tool result "
                                     "(expected 'text', 'image' or 'document')", "unsupported_content")  # fmt: skip
    return out


def _block(b: Any, path: str, role: str) -> Part:
    _want(isinstance(b, dict), path, "a valid dictionary", b)
    t = b.get("type")
    if t == "text":
        text = _str(b, "text", path)
        assert text is not None
        return TextPart(text, provider_details=_details(b, ("type", "text")))
    if t == "image":
        return _image(b, path)
    if t == "document":
        return _document(b, path)
    if t == "tool_use":
        tid = _str(b, "id", path, nonempty=True)
        name = _str(b, "name", path, nonempty=True)
        inp = b.get("input")
        if inp is None:
            raise _missing(f"{path}.input")
        _want(isinstance(inp, dict), f"{path}.input", "a valid dictionary", inp)
        assert tid is not None and name is not None
        return ToolCallPart(
            tid,
            name,
            orjson.dumps(inp).decode(),
            provider_details=_details(b, ("type", "id", "name", "input")),
        )
    if t == "tool_result":
        tid = _str(b, "tool_use_id", path, nonempty=True)
        assert tid is not None
        is_error = b.get("is_error", False)
        if is_error is None:
            is_error = False
        _want(isinstance(is_error, bool), f"{path}.is_error", "a valid boolean", is_error)
        return ToolResultPart(
            tid, _tool_result_content(b.get("content"), f"{path}.content"), is_error=is_error,
            provider_details=_details(b, ("type", "tool_use_id", "content", "is_error")),
        )  # fmt: skip
    if t == "thinking":
        thinking = _str(b, "thinking", path)
        sig = _str(b, "signature", path, required=False)
        assert thinking is not None
        return ReasoningPart(
            thinking, signature=sig or None, provider_details=_details(b, ("type", "thinking", "signature"))
        )
    if t == "redacted_thinking":
        data = _str(b, "data", path)
        assert data is not None
        return ReasoningPart("", redacted=data, provider_details=_details(b, ("type", "data")))
    if t is None:
        raise _missing(f"{path}.type")
    raise _bad(f"{path}.type", f"Input tag {t!r} found using 'type' does not match any of the expected tags: "
                               f"{_BLOCK_TYPES}", "unsupported_content")  # fmt: skip


def _content(v: Any, path: str, role: str) -> list[Part]:
    if isinstance(v, str):
        return [TextPart(v)]
    _want(isinstance(v, list), path, "a valid string or list of content blocks", v)
    return [_block(b, f"{path}.{j}", role) for j, b in enumerate(v)]


def _system(v: Any) -> list[Part]:
    if isinstance(v, str):
        return [TextPart(v)] if v else []
    _want(isinstance(v, list), "system", "a valid string or list of text blocks", v)
    out: list[Part] = []
    for j, b in enumerate(v):
        p = f"system.{j}"
        _want(isinstance(b, dict), p, "a valid dictionary", b)
        t = b.get("type")
        if t is None:
            raise _missing(f"{p}.type")
        if t != "text":
            raise _bad(f"{p}.type", f"Input tag {t!r} is not allowed in 'system' (only 'text')")
        text = _str(b, "text", p)
        assert text is not None
        out.append(TextPart(text, provider_details=_details(b, ("type", "text"))))
    return out


def _num(body: dict[str, Any], key: str) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    _want(isinstance(v, (int, float)) and not isinstance(v, bool), key, "a valid number", v)
    return float(v)


def _int(body: dict[str, Any], key: str, path: str | None = None) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    _want(isinstance(v, int) and not isinstance(v, bool), path or key, "a valid integer", v)
    return int(v)


def _tools(v: Any) -> list[ToolDef]:
    _want(isinstance(v, list), "tools", "a valid list", v)
    out: list[ToolDef] = []
    for k, t in enumerate(v):
        p = f"tools.{k}"
        _want(isinstance(t, dict), p, "a valid dictionary", t)
        ttype = t.get("type")
        if ttype not in (None, "custom"):
            raise _bad(f"{p}.type", f"Tool type {ttype!r} is an Anthropic server tool; only custom tools "
                                    "(with 'input_schema') can be translated to this model's upstream",
                       "unsupported_content")  # fmt: skip
        name = _str(t, "name", p, nonempty=True)
        assert name is not None
        schema = t.get("input_schema")
        if schema is None:
            raise _missing(f"{p}.input_schema")
        _want(isinstance(schema, dict), f"{p}.input_schema", "a valid dictionary", schema)
        desc = _str(t, "description", p, required=False)
        strict = t.get("strict")
        out.append(ToolDef(name, desc, schema, strict if isinstance(strict, bool) else None,
                           provider_details=_details(t, ("type", "name", "description", "input_schema", "strict"))))  # fmt: skip
    return out


def _tool_choice(v: Any) -> ToolChoice:
    _want(isinstance(v, dict), "tool_choice", "a valid dictionary", v)
    t = v.get("type")
    if t is None:
        raise _missing("tool_choice.type")
    if t not in _TOOL_CHOICES:
        raise _bad("tool_choice.type", f"Input tag {t!r} does not match any of the expected tags: "
                                       "'auto', 'any', 'tool', 'none'")  # fmt: skip
    dp = v.get("disable_parallel_tool_use")
    if dp is not None:
        _want(isinstance(dp, bool), "tool_choice.disable_parallel_tool_use", "a valid boolean", dp)
    parallel = None if dp is None else not dp
    if t == "tool":
        name = _str(v, "name", "tool_choice", nonempty=True)
        return ToolChoice("tool", name=name, parallel=parallel)
    return ToolChoice({"auto": "auto", "any": "required", "none": "none"}[t], parallel=parallel)  # type: ignore[arg-type]


def _thinking(v: Any, extra: dict[str, Any]) -> ReasoningConfig:
    _want(isinstance(v, dict), "thinking", "a valid dictionary", v)
    t = v.get("type")
    if t is None:
        raise _missing("thinking.type")
    if t == "enabled":
        budget = _int(v, "budget_tokens", "thinking.enabled.budget_tokens")
        if budget is None:
            raise _missing("thinking.enabled.budget_tokens")
        if budget < 1:
            raise _bad("thinking.enabled.budget_tokens", "Input should be greater than or equal to 1")
        if set(v) - {"type", "budget_tokens"}:
            extra["thinking"] = v
        return ReasoningConfig(enabled=True, budget_tokens=budget)
    if t == "disabled":
        return ReasoningConfig(enabled=False)
    if t == "adaptive":
        extra["thinking"] = v
        return ReasoningConfig(enabled=True)
    raise _bad("thinking.type", f"Input tag {t!r} does not match any of the expected tags: 'enabled', 'disabled', "
                                "'adaptive'")  # fmt: skip


def parse_request(
    body: Any, headers: dict[str, str] | None = None, *, count_tokens: bool = False
) -> ChatRequest:
    """A Messages API body -> hub request. ``count_tokens``: the count_tokens body (no ``max_tokens``)."""
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, got {_tname(body)}", None, "invalid_body")
    model = _str(body, "model", "", nonempty=True)
    assert model is not None
    max_tokens = _int(body, "max_tokens")
    if max_tokens is None and not count_tokens:
        raise _missing("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        raise _bad("max_tokens", "Input should be greater than or equal to 1")
    raw_messages = body.get("messages")
    if raw_messages is None:
        raise _missing("messages")
    _want(isinstance(raw_messages, list), "messages", "a valid list", raw_messages)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    _want(isinstance(stream, bool), "stream", "a valid boolean", stream)

    messages: list[Message] = []
    if body.get("system") is not None:
        sys_parts = _system(body["system"])
        if sys_parts:
            messages.append(Message("system", sys_parts))
    for i, m in enumerate(raw_messages):
        p = f"messages.{i}"
        _want(isinstance(m, dict), p, "a valid dictionary", m)
        role = m.get("role")
        if role is None:
            raise _missing(f"{p}.role")
        if role not in ("user", "assistant", "system"):
            raise _bad(f"{p}.role", f"Input should be 'user' or 'assistant', got {role!r}")
        if "content" not in m:
            raise _missing(f"{p}.content")
        parts = _content(m["content"], f"{p}.content", role)
        if role == "system":
            for j, part in enumerate(parts):
                if not isinstance(part, TextPart):
                    raise _bad(f"{p}.content.{j}.type", "A system message may only contain text blocks")
        messages.append(Message(role, parts, provider_details=_details(m, ("role", "content"))))

    req = ChatRequest(model=model, messages=messages, stream=stream, max_tokens=max_tokens, origin=NAME)
    req.include_usage = True
    req.temperature = _num(body, "temperature")
    req.top_p = _num(body, "top_p")
    req.top_k = _int(body, "top_k")
    stop = body.get("stop_sequences")
    if stop is not None:
        _want(isinstance(stop, list) and all(isinstance(s, str) for s in stop), "stop_sequences",
              "a valid list of strings", stop)  # fmt: skip
        req.stop = list(stop) or None
    md = body.get("metadata")
    if md is not None:
        _want(isinstance(md, dict), "metadata", "a valid dictionary", md)
        uid = md.get("user_id")
        if uid is not None:
            _want(isinstance(uid, str), "metadata.user_id", "a valid string", uid)
            req.user = uid
        req.metadata = md
    if body.get("tools") is not None:
        req.tools = _tools(body["tools"]) or None
    if body.get("tool_choice") is not None:
        req.tool_choice = _tool_choice(body["tool_choice"])
    extra = {k: v for k, v in body.items() if k not in _TOP}
    if body.get("thinking") is not None:
        req.reasoning = _thinking(body["thinking"], extra)
    oc = body.get("output_config")
    if isinstance(oc, dict) and isinstance(oc.get("effort"), str):
        if req.reasoning is None:
            req.reasoning = ReasoningConfig()
        req.reasoning.effort = oc["effort"]
    if extra:
        req.vendor_extra[NAME] = extra
    if headers:
        beta = headers.get("anthropic-beta") or headers.get("Anthropic-Beta")
        if beta:
            req.vendor_headers[NAME] = {"anthropic-beta": beta}
    return req


# ------------------------------------------------------------------------------------ response rendering


def block_json(p: OutputPart) -> dict[str, Any] | None:
    """One output part as an Anthropic content block (``None`` for an empty text part)."""
    if isinstance(p, TextPart):
        if not p.text:
            return None
        b: dict[str, Any] = {"type": "text", "text": p.text}
        cit = anthropic_details(p).get("citations")
        if cit is not None:
            b["citations"] = cit
        return b
    if isinstance(p, ReasoningPart):
        if p.redacted:
            return {"type": "redacted_thinking", "data": p.redacted}
        if not p.text and not p.signature:
            return None
        b = {"type": "thinking", "thinking": p.text}
        if p.signature:
            b["signature"] = p.signature
        return b
    if isinstance(p, ToolCallPart):
        return {"type": "tool_use", "id": p.id, "name": p.name, "input": tool_input_json(p.arguments)}
    if isinstance(p, ImagePart):
        if p.data is not None:
            return {"type": "image", "source": {"type": "base64", "media_type": p.media_type or "image/png",
                                                "data": p.data}}  # fmt: skip
        return {"type": "image", "source": {"type": "url", "url": p.url}} if p.url else None
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        # a server tool block goes back as the vendor made it; one from another wire format is left out
        return dict(p.data) if p.wire == NAME else None
    assert_never(p)


def render_response(resp: ChatResponse, req: ChatRequest) -> bytes:
    content = [b for b in (block_json(p) for p in resp.parts) if b is not None]
    body: dict[str, Any] = {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model or req.model,
        "content": content,
        "stop_reason": stop_reason(resp.finish_reason, resp.stop_sequence),
        "stop_sequence": resp.stop_sequence,
        "usage": usage_to_wire(resp.usage or Usage()),
    }
    return orjson.dumps(body)


# --------------------------------------------------------------------------------------- stream rendering

SegKind = Literal["text", "thinking", "redacted", "tool", "whole"]


class _Seg:
    """One Anthropic content block to emit: a hub part (or a later stretch of a text part)."""

    __slots__ = ("buf", "detached", "ended", "hub", "index", "kind", "part", "prefix", "sig")

    def __init__(self, hub: int, kind: SegKind, part: OutputPart) -> None:
        self.hub = hub
        self.kind: SegKind = kind
        self.part = part
        self.buf: list[str] = []
        self.sig = ""
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
            "model": model or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
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
            block: dict[str, Any] = {"type": "text", "text": ""}
        elif seg.kind == "thinking":
            block = {"type": "thinking", "thinking": ""}
        elif seg.kind == "redacted":
            assert isinstance(p, ReasoningPart)
            block = {"type": "redacted_thinking", "data": p.redacted}
        elif seg.kind == "whole":
            whole = block_json(p)
            assert whole is not None
            block = whole
        else:
            assert isinstance(p, ToolCallPart)
            block = {"type": "tool_use", "id": p.id, "name": p.name, "input": {}}
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
        if seg.sig and seg.kind == "thinking":
            out.append(_sse(b"content_block_delta", {"type": "content_block_delta", "index": seg.index,
                                                     "delta": {"type": "signature_delta", "signature": seg.sig}}))  # fmt: skip
            seg.sig = ""

    def _close(self, seg: _Seg, out: list[bytes]) -> None:
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
                return seg.prefix + orjson.dumps(e.delta) + b"}}\n\n" if e.delta else b""
        out: list[bytes] = []
        if isinstance(e, ResponseStart):
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
        delta = {"stop_reason": stop_reason(self._finish, self._stop_seq), "stop_sequence": self._stop_seq}
        usage = usage_to_wire(self._usage)
        if not self._usage.input_tokens:  # unknown: keep message_start's figure rather than send a zero
            usage = {
                "output_tokens": usage["output_tokens"],
                **(
                    {"output_tokens_details": usage["output_tokens_details"]}
                    if "output_tokens_details" in usage
                    else {}
                ),
            }
        out.append(_sse(b"message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        return b"".join(out)

    def heartbeat(self) -> bytes:
        return PING


# -------------------------------------------------------------------------------------- usage sniffing


class AnthropicUsageSniffer(UsageSniffer):
    """Finds usage in passed-through Messages bytes: ``message_start`` (input, cache) and ``message_delta``
    (output, and the final input figures). Only lines that mention ``"usage"`` are decoded.

    Streamed bytes are forwarded at *event* granularity (up to the last blank line): an Anthropic event
    is two lines (``event:`` and ``data:``), and a heartbeat ``ping`` slipped between them would retype
    the event. Nothing is delayed, since a client dispatches an event only on its blank line."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream:
            self._tail += chunk
            return chunk
        data = self._tail + chunk if self._tail else chunk
        end = _event_end(data)
        if end == 0:
            self._tail = data
            return b""
        out, self._tail = (data, b"") if end == len(data) else (data[:end], data[end:])
        if b'"usage"' in out:
            for line in out.splitlines():
                if b'"usage"' in line and line.startswith(b"data:"):
                    self._take(line[5:])
        return out

    def _take(self, data: bytes) -> None:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        u = obj.get("usage")
        if u is None and isinstance(obj.get("message"), dict):
            u = obj["message"].get("usage")
        if not isinstance(u, dict):
            return
        parsed = usage_from_wire(u)
        if obj.get("type") == "message_start":
            parsed.output_tokens = 0  # a placeholder there; the real count comes in message_delta
            parsed.provider_details = None
        if self._usage is None:
            self._usage = parsed
        else:
            self._usage.merge(parsed)

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return usage_from_wire(usage)


def _event_end(data: bytes) -> int:
    """Offset just past the last complete SSE event in ``data`` (0 when there is none)."""
    best = 0
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        i = data.rfind(sep)
        if i >= 0 and i + len(sep) > best:
            best = i + len(sep)
    return best


# -------------------------------------------------------------------------------------------- dialect


def _estimate_input(req: ChatRequest) -> int:
    from ..tokens import estimate_request_tokens

    return estimate_request_tokens(req)


def peek(body: Any) -> tuple[str, bool]:
    """The cheap checks both paths share: a JSON object with ``model``, ``max_tokens`` and a ``messages``
    list of objects with known roles. Returns (model, stream)."""
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, got {_tname(body)}", None, "invalid_body")
    model = _str(body, "model", "", nonempty=True)
    assert model is not None
    mt = _int(body, "max_tokens")
    if mt is None:
        raise _missing("max_tokens")
    msgs = body.get("messages")
    if msgs is None:
        raise _missing("messages")
    _want(isinstance(msgs, list), "messages", "a valid list", msgs)
    for i, m in enumerate(msgs):
        _want(isinstance(m, dict), f"messages.{i}", "a valid dictionary", m)
        role = m.get("role")
        if role is None:
            raise _missing(f"messages.{i}.role")
        if role not in ("user", "assistant", "system"):
            raise _bad(f"messages.{i}.role", f"Input should be 'user' or 'assistant', got {role!r}")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    _want(isinstance(stream, bool), "stream", "a valid boolean", stream)
    return model, stream


class AnthropicMessages(Dialect):
    name: ClassVar[str] = NAME

    def peek(self, body: Any) -> tuple[str, bool]:
        return peek(body)

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        return parse_request(body, headers)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return AnthropicStreamRenderer(req, _estimate_input)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_json(err))

    def error_status(self, err: GatewayError) -> int:
        return error_status(err)

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return AnthropicUsageSniffer(stream)


ANTHROPIC_MESSAGES = AnthropicMessages()
DIALECT = ANTHROPIC_MESSAGES
