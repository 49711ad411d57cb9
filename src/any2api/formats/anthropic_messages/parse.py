"""Anthropic Messages requests -> hub requests; errors name the field the way Anthropic's do
(``messages.0.content.1.source: Field required``).

Anthropic-only request fields that the hub has no slot for (``context_management``, ``output_config``,
``service_tier``, ``container``, ``mcp_servers``, the raw ``thinking`` object ...) and the client's
``anthropic-beta`` header travel in the hub request's ``vendor_extra`` / ``vendor_headers`` under this wire
format's name, so that only an Anthropic upstream ever sees them. Server tool blocks of the history
(``server_tool_use``, ``mcp_tool_use``, ``web_search_tool_result`` and every other ``*_tool_result`` with a
``tool_use_id``) become opaque server tool parts holding the block as sent: an Anthropic upstream gets them
back unchanged, any other refuses them with a 400 that names the block.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...core.errors import GatewayError, invalid
from ...core.parts import (
    JSON,
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ...core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from ...wire.anthropic_messages import NAME

_TOP = {
    "model", "messages", "system", "max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences",
    "metadata", "tools", "tool_choice", "thinking",
}  # fmt: skip
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_BLOCK_TYPES = (
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'server_tool_use', "
    "'mcp_tool_use' or a server tool result ('web_search_tool_result', 'mcp_tool_result', ...)"
)
_SERVER_TOOL_CALLS = ("server_tool_use", "mcp_tool_use")


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
    if t in _SERVER_TOOL_CALLS:
        tid = _str(b, "id", path, nonempty=True)
        name = _str(b, "name", path, nonempty=True)
        assert tid is not None and name is not None
        return ServerToolCallPart(tid, name, NAME, b)
    if isinstance(t, str) and t.endswith("_tool_result"):
        tid = _str(b, "tool_use_id", path, nonempty=True)
        assert tid is not None
        return ServerToolResultPart(tid, NAME, b)
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
