"""OpenAI Chat Completions: the client dialect (request parsing, response/stream rendering, errors)."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar, assert_never

import orjson

from ..core.errors import GatewayError, invalid
from ..core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ..core.parts import (
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
from ..core.response import ChatResponse, Usage
from ..wire.openai_chat import FINISH_OUT, error_json, parse_usage, usage_json
from ..wire.openai_chat import NAME as WIRE
from .base import Dialect, StreamRenderer, UsageSniffer

_KNOWN = {
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
    "top_p", "stop", "seed", "user", "tools", "tool_choice", "parallel_tool_calls", "response_format",
    "reasoning_effort", "metadata", "functions", "function_call",
}  # fmt: skip
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _type(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number" if isinstance(v, (int, float)) else type(v).__name__
    )


def _expect(cond: bool, field: str, what: str, v: Any) -> None:
    if not cond:
        raise invalid(
            f"Invalid type for '{field}': expected {what}, but got {_type(v)}.", field, "invalid_type"
        )


def _num(body: dict[str, Any], key: str) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    _expect(isinstance(v, (int, float)) and not isinstance(v, bool), key, "a number", v)
    return float(v)


def _int(body: dict[str, Any], key: str) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    _expect(isinstance(v, int) and not isinstance(v, bool), key, "an integer", v)
    return int(v)


def validate_basics(body: Any) -> tuple[str, bool]:
    """The cheap checks both paths share: a JSON object with a ``model`` string and a ``messages`` array
    of objects with known roles. Returns (model, stream)."""
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, but got {_type(body)}.", None, "invalid_body")
    model = body.get("model")
    if model is None:
        raise invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    _expect(isinstance(model, str), "model", "a string", model)
    if not model:
        raise invalid("'model' must not be empty.", "model", "invalid_value")
    messages = body.get("messages")
    if messages is None:
        raise invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    _expect(isinstance(messages, list), "messages", "an array", messages)
    if not messages:
        raise invalid("'messages' must contain at least one message.", "messages", "empty_array")
    for i, m in enumerate(messages):
        _expect(isinstance(m, dict), f"messages[{i}]", "an object", m)
        role = m.get("role")
        if role is None:
            raise invalid(f"Missing required parameter: 'messages[{i}].role'.", f"messages[{i}].role",
                          "missing_required_parameter")  # fmt: skip
        if role not in _ROLES:
            raise invalid(
                f"Invalid value for 'messages[{i}].role': {role!r}. Supported values are: "
                "'system', 'developer', 'user', 'assistant', 'tool'.", f"messages[{i}].role", "invalid_value",
            )  # fmt: skip
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    _expect(isinstance(stream, bool), "stream", "a boolean", stream)
    return model, stream


def _content_parts(content: Any, field: str, role: str) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    _expect(isinstance(content, list), field, "a string or an array of content parts", content)
    parts: list[Part] = []
    for j, p in enumerate(content):
        pf = f"{field}[{j}]"
        _expect(isinstance(p, dict), pf, "an object", p)
        t = p.get("type")
        if t == "text" or (t is None and "text" in p):
            text = p.get("text")
            _expect(isinstance(text, str), f"{pf}.text", "a string", text)
            parts.append(TextPart(text))
        elif t == "image_url":
            iu = p.get("image_url")
            if isinstance(iu, str):
                iu = {"url": iu}
            _expect(isinstance(iu, dict), f"{pf}.image_url", "an object", iu)
            url = iu.get("url")
            _expect(isinstance(url, str) and bool(url), f"{pf}.image_url.url", "a non-empty string", url)
            parts.append(_image_from_url(url, iu.get("detail")))
        elif t == "file":
            f = p.get("file")
            _expect(isinstance(f, dict), f"{pf}.file", "an object", f)
            data = f.get("file_data")
            media_type = None
            if isinstance(data, str) and data.startswith("data:"):
                head, _, data = data.partition(",")
                media_type = head[5:].split(";")[0] or None
            if data is None and f.get("file_id") is None:
                raise invalid(
                    f"'{pf}.file' needs 'file_data' or 'file_id'.", f"{pf}.file", "missing_required_parameter"
                )
            parts.append(FilePart(data=data, file_id=f.get("file_id"), filename=f.get("filename"),
                                  media_type=media_type))  # fmt: skip
        elif t == "refusal" and role == "assistant":
            parts.append(TextPart(str(p.get("refusal", "")), provider_details={"openai": {"refusal": True}}))
        elif t == "input_audio":
            raise invalid(
                f"Audio input ('{pf}') is not supported by this gateway.", f"{pf}.type", "unsupported_content"
            )
        else:
            raise invalid(
                f"Invalid value for '{pf}.type': {t!r}. Supported values are: 'text', 'image_url' and 'file'.",
                f"{pf}.type", "invalid_value",
            )  # fmt: skip
    return parts


def _image_from_url(url: str, detail: Any) -> ImagePart:
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        media_type = head[5:].split(";")[0] or None
        return ImagePart(url=url, data=data, media_type=media_type, detail=detail)
    return ImagePart(url=url, detail=detail)


def _tool_calls(raw: Any, field: str) -> list[Part]:
    _expect(isinstance(raw, list), field, "an array", raw)
    out: list[Part] = []
    for k, tc in enumerate(raw):
        tf = f"{field}[{k}]"
        _expect(isinstance(tc, dict), tf, "an object", tc)
        fn = tc.get("function")
        _expect(isinstance(fn, dict), f"{tf}.function", "an object", fn)
        name = fn.get("name")
        _expect(isinstance(name, str) and bool(name), f"{tf}.function.name", "a non-empty string", name)
        args = fn.get("arguments", "")
        if isinstance(args, (dict, list)):
            args = orjson.dumps(args).decode()
        _expect(isinstance(args, str), f"{tf}.function.arguments", "a string", args)
        tid = tc.get("id")
        _expect(isinstance(tid, str) and bool(tid), f"{tf}.id", "a non-empty string", tid)
        extra = {k2: v for k2, v in tc.items() if k2 not in ("id", "type", "function", "index")}
        out.append(ToolCallPart(tid, name, args, provider_details={"openai": extra} if extra else None))
    return out


def _reasoning_parts(m: dict[str, Any]) -> list[Part]:
    """DeepSeek-style ``reasoning_content`` and ``reasoning_details`` (signatures) on assistant turns."""
    details = m.get("reasoning_details")
    if isinstance(details, list) and details:
        out: list[Part] = []
        for d in details:
            if not isinstance(d, dict):
                continue
            if d.get("type") == "reasoning.encrypted":
                out.append(ReasoningPart("", redacted=str(d.get("data", ""))))
            else:
                sig = d.get("signature")
                out.append(
                    ReasoningPart(str(d.get("text", "")), signature=sig if isinstance(sig, str) else None)
                )
        return out
    rc = m.get("reasoning_content")
    if rc is None:
        rc = m.get("reasoning")
    if isinstance(rc, str) and rc:
        return [ReasoningPart(rc)]
    return []


def parse_request(body: Any) -> ChatRequest:
    model, stream = validate_basics(body)
    messages: list[Message] = []
    for i, m in enumerate(body["messages"]):
        role = m["role"]
        field = f"messages[{i}]"
        if role in ("tool", "function"):
            tcid = m.get("tool_call_id") if role == "tool" else (m.get("name") or "")
            if role == "tool":
                _expect(
                    isinstance(tcid, str) and bool(tcid), f"{field}.tool_call_id", "a non-empty string", tcid
                )
            content = m.get("content")
            parts = _content_parts(content, f"{field}.content", role)
            result: str | list[Part]
            if all(isinstance(p, TextPart) for p in parts):
                result = (
                    content
                    if isinstance(content, str)
                    else "".join(p.text for p in parts if isinstance(p, TextPart))
                )
            else:
                result = parts
            messages.append(Message("tool", [ToolResultPart(str(tcid), result, name=m.get("name"))]))
            continue
        if role == "assistant":
            parts = _reasoning_parts(m)
            parts += _content_parts(m.get("content"), f"{field}.content", role)
            if m.get("tool_calls") is not None:
                parts += _tool_calls(m["tool_calls"], f"{field}.tool_calls")
            elif isinstance(m.get("function_call"), dict):
                fc = m["function_call"]
                parts.append(
                    ToolCallPart(
                        str(fc.get("name", "")), str(fc.get("name", "")), str(fc.get("arguments", ""))
                    )
                )
        else:
            if "content" not in m:
                raise invalid(f"Missing required parameter: '{field}.content'.", f"{field}.content",
                              "missing_required_parameter")  # fmt: skip
            parts = _content_parts(m.get("content"), f"{field}.content", role)
        name = m.get("name")
        messages.append(Message(role, parts, name=name if isinstance(name, str) else None))

    req = ChatRequest(model=model, messages=messages, stream=stream)
    so = body.get("stream_options")
    if so is not None:
        _expect(isinstance(so, dict), "stream_options", "an object", so)
        req.include_usage = bool(so.get("include_usage"))
    mt = _int(body, "max_completion_tokens")
    req.max_tokens = mt if mt is not None else _int(body, "max_tokens")
    if req.max_tokens is not None and req.max_tokens < 1:
        raise invalid("'max_tokens' must be at least 1.", "max_tokens", "invalid_value")
    req.temperature = _num(body, "temperature")
    req.top_p = _num(body, "top_p")
    req.seed = _int(body, "seed")
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            req.stop = [stop]
        else:
            _expect(isinstance(stop, list) and all(isinstance(s, str) for s in stop), "stop",
                    "a string or an array of strings", stop)  # fmt: skip
            req.stop = list(stop)
    user = body.get("user")
    if user is not None:
        _expect(isinstance(user, str), "user", "a string", user)
        req.user = user
    tools = body.get("tools")
    if tools is None and body.get("functions") is not None:
        tools = (
            [{"type": "function", "function": f} for f in body["functions"]]
            if isinstance(body["functions"], list)
            else body["functions"]
        )
    if tools is not None:
        _expect(isinstance(tools, list), "tools", "an array", tools)
        req.tools = []
        for k, t in enumerate(tools):
            tf = f"tools[{k}]"
            _expect(isinstance(t, dict), tf, "an object", t)
            fn = t.get("function")
            _expect(isinstance(fn, dict), f"{tf}.function", "an object", fn)
            name = fn.get("name")
            _expect(isinstance(name, str) and bool(name), f"{tf}.function.name", "a non-empty string", name)
            params = fn.get("parameters") or {"type": "object", "properties": {}}
            _expect(isinstance(params, dict), f"{tf}.function.parameters", "an object", params)
            desc = fn.get("description")
            strict = fn.get("strict")
            req.tools.append(ToolDef(name, desc if isinstance(desc, str) else None, params,
                                     strict if isinstance(strict, bool) else None))  # fmt: skip
    tc = body.get("tool_choice", body.get("function_call"))
    if tc is not None:
        if isinstance(tc, str):
            if tc not in ("auto", "none", "required"):
                raise invalid(f"Invalid value for 'tool_choice': {tc!r}. Supported values are: 'none', 'auto' and "
                              "'required'.", "tool_choice", "invalid_value")  # fmt: skip
            req.tool_choice = ToolChoice(tc)  # type: ignore[arg-type]
        else:
            _expect(isinstance(tc, dict), "tool_choice", "a string or an object", tc)
            fn = tc.get("function") if "function" in tc else tc
            name = fn.get("name") if isinstance(fn, dict) else None
            _expect(
                isinstance(name, str) and bool(name), "tool_choice.function.name", "a non-empty string", name
            )
            req.tool_choice = ToolChoice("tool", name=name)
    ptc = body.get("parallel_tool_calls")
    if ptc is not None:
        _expect(isinstance(ptc, bool), "parallel_tool_calls", "a boolean", ptc)
        if req.tool_choice is None:
            req.tool_choice = ToolChoice("auto")
        req.tool_choice.parallel = ptc
    rf = body.get("response_format")
    if rf is not None:
        _expect(isinstance(rf, dict), "response_format", "an object", rf)
        req.response_format = rf
    effort = body.get("reasoning_effort")
    if effort is not None:
        _expect(isinstance(effort, str), "reasoning_effort", "a string", effort)
        req.reasoning = ReasoningConfig(enabled=effort != "none", effort=effort)
    md = body.get("metadata")
    if isinstance(md, dict):
        req.metadata = md
    req.origin = WIRE
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    if extra:
        req.vendor_extra[WIRE] = extra
    return req


# ---------------------------------------------------------------- rendering


def _reasoning_details(parts: list[ReasoningPart]) -> list[dict[str, Any]] | None:
    if not any(p.signature or p.redacted for p in parts):
        return None
    out: list[dict[str, Any]] = []
    for i, p in enumerate(parts):
        if p.redacted:
            out.append({"type": "reasoning.encrypted", "data": p.redacted, "index": i})
        else:
            d: dict[str, Any] = {"type": "reasoning.text", "text": p.text, "index": i}
            if p.signature:
                d["signature"] = p.signature
            out.append(d)
    return out


def message_json(parts: list[OutputPart]) -> dict[str, Any]:
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[ReasoningPart] = []
    calls: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if p.provider_details and p.provider_details.get("openai", {}).get("refusal"):
                refusal.append(p.text)
            else:
                text.append(p.text)
        elif isinstance(p, ReasoningPart):
            reasoning.append(p)
        elif isinstance(p, ToolCallPart):
            calls.append(
                {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
            )
        elif isinstance(p, ImagePart | ServerToolCallPart | ServerToolResultPart):
            pass  # not representable in a Chat Completions message: left out
        else:
            assert_never(p)
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if refusal:
        msg["refusal"] = "".join(refusal)
    if reasoning:
        msg["reasoning_content"] = "".join(p.text for p in reasoning)
        details = _reasoning_details(reasoning)
        if details:
            msg["reasoning_details"] = details
    if calls:
        msg["tool_calls"] = calls
    return msg


def render_response(resp: ChatResponse, req: ChatRequest) -> bytes:
    body: dict[str, Any] = {
        "id": resp.id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model or req.model,
        "choices": [
            {
                "index": 0,
                "message": message_json(resp.parts),
                "logprobs": None,
                "finish_reason": FINISH_OUT.get(resp.finish_reason or "stop", "stop"),
            }
        ],
    }
    if resp.usage is not None:
        body["usage"] = usage_json(resp.usage)
    return orjson.dumps(body)


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
        self.model = model or self.model
        head = orjson.dumps({"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                             "model": self.model})  # fmt: skip
        self._prefix = b"data: " + head[:-1] + b',"choices":[{"index":0,"delta":'
        return self._chunk({"role": "assistant", "content": ""})

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
        if not self._started:
            self._begin("", "", 0)
            pre = self._chunk({"role": "assistant", "content": ""})
        else:
            pre = b""
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


class OpenAIUsageSniffer(UsageSniffer):
    """Finds usage in passed-through OpenAI bytes without decoding every chunk.

    Streams are forwarded at line granularity (an unfinished line is held until its end arrives, which
    never delays an event: SSE dispatches on the blank line). Only a line that mentions ``"usage"`` is
    decoded. With ``strip`` set, the usage-only chunk (``"choices":[]``) is removed -- used when the
    gateway asked the upstream for usage but the client did not."""

    __slots__ = ("_drop_blank", "strip")

    def __init__(self, stream: bool, strip: bool = False) -> None:
        super().__init__(stream)
        self.strip = strip
        self._drop_blank = False

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream:
            self._tail += chunk
            return chunk
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n") + 1
        if end == 0:
            self._tail = data
            return b""
        out, self._tail = (data, b"") if end == len(data) else (data[:end], data[end:])
        if not self._drop_blank and b'"usage":{' not in out and b'"usage": {' not in out:
            return out  # most chunks: no usage, or "usage":null
        return self._scan(out)

    def _scan(self, out: bytes) -> bytes:
        """Decode the lines that carry a usage object; drop the usage-only event when stripping."""
        if self._drop_blank:  # the blank line that ended a removed usage event
            self._drop_blank = False
            if out[:1] == b"\n":
                out = out[1:]
            elif out[:2] == b"\r\n":
                out = out[2:]
        kept: list[bytes] = []
        pos = start = 0
        while True:
            a, b = out.find(b'"usage":{', pos), out.find(b'"usage": {', pos)
            i = a if b < 0 or 0 <= a < b else b
            if i < 0:
                break
            ls = out.rfind(b"\n", 0, i) + 1
            le = out.find(b"\n", i) + 1 or len(out)
            pos = le
            line = out[ls:le].rstrip(b"\r\n")
            if not line.startswith(b"data:"):
                continue
            try:
                obj = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            u = obj.get("usage") if isinstance(obj, dict) else None
            if not isinstance(u, dict):
                continue
            self._usage = parse_usage(u)
            if self.strip and obj.get("choices") == []:
                kept.append(out[start:ls])
                start = le
                if out[le : le + 1] == b"\n":
                    start += 1
                elif out[le : le + 2] == b"\r\n":
                    start += 2
                elif le >= len(out):
                    self._drop_blank = True
                pos = start
        if not kept:
            return out
        kept.append(out[start:])
        return b"".join(kept)

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return parse_usage(usage)


class OpenAIChat(Dialect):
    name = "openai_chat"

    def peek(self, body: Any) -> tuple[str, bool]:
        return validate_basics(body)

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        return parse_request(body)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return OpenAIStreamRenderer(req, self.error_json)

    def error_json(self, err: GatewayError) -> Any:
        return error_json(err)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(self.error_json(err))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return OpenAIUsageSniffer(stream, strip)


class ProxyChat(OpenAIChat):
    """``POST /chat`` of the AI Proxy Worker: OpenAI bodies, its own error shape and status set."""

    TYPES: ClassVar[dict[str, str]] = {
        "invalid_request": "invalid_request", "authentication": "unauthorized", "permission": "forbidden",
        "not_found": "not_found", "method_not_allowed": "method_not_allowed",
        "payload_too_large": "payload_too_large", "rate_limit": "rate_limited", "quota_exceeded": "quota_exceeded",
        "upstream": "upstream_error", "overloaded": "upstream_error", "timeout": "timeout",
        "internal": "internal_error",
    }  # fmt: skip

    def error_json(self, err: GatewayError) -> Any:
        from datetime import UTC, datetime

        ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"error": self.TYPES.get(err.kind, "internal_error"), "details": err.message, "timestamp": ts}

    def error_status(self, err: GatewayError) -> int:
        return 502 if err.kind == "overloaded" else err.status


OPENAI_CHAT = OpenAIChat()
PROXY_CHAT = ProxyChat()
