"""OpenAI Chat Completions requests -> hub requests (validation names the field, like OpenAI's own errors)."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.errors import invalid
from ...core.parts import FilePart, ImagePart, Part, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from ...core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from ...wire.openai_chat import NAME as WIRE

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
