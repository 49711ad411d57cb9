"""Responses request -> hub request: input items, instructions, tools, options.

Fields the hub has no slot for go to ``req.vendor_extra["openai_responses"]`` as the client sent them, so a
Responses upstream gets them back exactly and no other upstream sees them. The raw ``tools``,
``tool_choice``, ``text``, ``reasoning`` and ``instructions`` are kept there too (for that upstream and for
the echo in the response object); keys starting with ``_`` are the gateway's own notes:

* ``_hosted``: names of hosted tools (``web_search`` ...) only a Responses upstream can run;
* ``_custom``: names of ``custom`` tools, which other upstreams get as a function with one string
  parameter (``input``) and which come back as ``custom_tool_call`` items.

Namespaced tools (``{"type": "namespace", "tools": [...]}``) become flat functions ``<namespace>__<name>``
for upstreams without namespaces; the tool's ``provider_details`` keep the parts to map calls back.
"""

from __future__ import annotations

from collections.abc import Callable
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
from ...core.seal import default_sealer, is_sealed
from ...wire.openai_responses import (
    ADDITIONAL_TOOLS,
    COMPACTION,
    CUSTOM_TOOL_CALL,
    CUSTOM_TOOL_CALL_OUTPUT,
    FUNCTION_CALL,
    FUNCTION_CALL_OUTPUT,
    ITEM_REFERENCE,
    MESSAGE,
    NAME,
    REASONING,
    SERVER_TOOL_ITEMS,
    custom_arguments,
)
from .compact import SUMMARY_PREFIX, open_compaction

HUB_FIELDS = frozenset({
    "model", "input", "stream", "max_output_tokens", "temperature", "top_p", "parallel_tool_calls", "metadata",
    "user",
})  # fmt: skip
"""Body fields held by the hub request itself (everything else is kept in ``vendor_extra``)."""

ROLES = ("user", "assistant", "system", "developer")
Resolver = Callable[[str], "dict[str, Any] | None"]
ITEM_TYPES = (
    MESSAGE, FUNCTION_CALL, FUNCTION_CALL_OUTPUT, CUSTOM_TOOL_CALL, CUSTOM_TOOL_CALL_OUTPUT, REASONING,
    ITEM_REFERENCE, ADDITIONAL_TOOLS, COMPACTION, *sorted(SERVER_TOOL_ITEMS),
)  # fmt: skip


def _type(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number" if isinstance(v, (int, float)) else type(v).__name__
    )


def _expect(cond: bool, field: str, what: str, v: Any) -> None:
    if not cond:
        raise invalid(
            f"Invalid type for '{field}': expected {what}, but got {_type(v)}.", field, "invalid_type"
        )


def _missing(field: str) -> GatewayError:
    return invalid(f"Missing required parameter: '{field}'.", field, "missing_required_parameter")


def _str(obj: dict[str, Any], key: str, field: str, required: bool = True) -> str | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise _missing(f"{field}.{key}")
        return None
    _expect(isinstance(v, str), f"{field}.{key}", "a string", v)
    return str(v)


def flat_name(namespace: str | None, name: str) -> str:
    """The one-level name of a namespaced tool for upstreams without namespaces."""
    if not namespace:
        return name
    return namespace + name if namespace.endswith("_") else f"{namespace}__{name}"


def _details(**kw: JSON) -> dict[str, JSON] | None:
    d = {k: v for k, v in kw.items() if v is not None and v is not False}
    return {NAME: d} if d else None


# ------------------------------------------------------------------------------------------ peek


def peek(body: Any) -> tuple[str, bool]:
    """The checks both paths share: an object with a ``model`` string; ``stream`` a boolean."""
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, but got {_type(body)}.", None, "invalid_body")
    model = body.get("model")
    if model is None:
        raise _missing("model")
    _expect(isinstance(model, str), "model", "a string", model)
    if not model:
        raise invalid("'model' must not be empty.", "model", "invalid_value")
    inp = body.get("input")
    if inp is not None:
        _expect(isinstance(inp, (str, list)), "input", "a string or an array of input items", inp)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    _expect(isinstance(stream, bool), "stream", "a boolean", stream)
    return model, stream


# ------------------------------------------------------------------------------------------ content


def _data_url(url: str) -> tuple[str | None, str]:
    head, _, data = url.partition(",")
    return head[5:].split(";")[0] or None, data


def content_part(p: Any, field: str, role: str) -> Part:
    """One content part of a message (or of a tool output)."""
    _expect(isinstance(p, dict), field, "an object", p)
    t = p.get("type")
    if t in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
        text = p.get("text")
        _expect(isinstance(text, str), f"{field}.text", "a string", text)
        return TextPart(str(text))
    if t == "refusal" and role == "assistant":
        return TextPart(str(p.get("refusal") or ""), provider_details={"openai": {"refusal": True}})
    if t == "input_image":
        url = p.get("image_url")
        if url is None:
            if p.get("file_id") is not None:
                raise invalid(f"Images given by file_id ('{field}.file_id') need a Responses upstream; send the "
                              "image as a URL or a data URL.", f"{field}.file_id", "unsupported_value")  # fmt: skip
            raise _missing(f"{field}.image_url")
        _expect(isinstance(url, str) and bool(url), f"{field}.image_url", "a non-empty string", url)
        detail = p.get("detail")
        detail = detail if isinstance(detail, str) and detail != "auto" else None
        if url.startswith("data:"):
            media, data = _data_url(url)
            return ImagePart(url=url, data=data, media_type=media, detail=detail)
        return ImagePart(url=url, detail=detail)
    if t == "input_file":
        data = p.get("file_data")
        filename = p.get("filename")
        media = None
        if isinstance(data, str) and data.startswith("data:"):
            media, data = _data_url(data)
        url = p.get("file_url")
        fid = p.get("file_id")
        if data is None and url is None and fid is None:
            raise invalid(
                f"'{field}' needs 'file_data', 'file_url' or 'file_id'.", field, "missing_required_parameter"
            )
        for k, v in (("file_data", data), ("file_url", url), ("file_id", fid), ("filename", filename)):
            _expect(v is None or isinstance(v, str), f"{field}.{k}", "a string", v)
        return FilePart(data=data, url=url, file_id=fid, filename=filename, media_type=media)
    raise invalid(
        f"Invalid value for '{field}.type': {t!r}. Supported values are: 'input_text', 'input_image', "
        "'input_file', 'output_text' and 'refusal'.", f"{field}.type", "invalid_value",
    )  # fmt: skip


def _content(v: Any, field: str, role: str) -> list[Part]:
    if isinstance(v, str):
        return [TextPart(v)]
    _expect(isinstance(v, list), field, "a string or an array of content parts", v)
    return [content_part(p, f"{field}[{j}]", role) for j, p in enumerate(v)]


def _output(v: Any, field: str) -> str | list[Part]:
    """A tool output: a string, or content parts (text only becomes one string)."""
    if isinstance(v, str):
        return v
    _expect(isinstance(v, list), field, "a string or an array of content parts", v)
    parts = [content_part(p, f"{field}[{j}]", "tool") for j, p in enumerate(v)]
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    return parts


# ------------------------------------------------------------------------------------------ items


class _Items:
    """Input items -> hub messages. Consecutive model-side items (assistant messages, reasoning, calls)
    form one assistant message, as the other wire formats have it."""

    def __init__(self, check_calls: bool = True, resolve: Resolver | None = None) -> None:
        self.check_calls = check_calls
        self.resolve = resolve
        """Stored items by id, for ``item_reference`` (None: no storage)."""
        """Refuse an output whose call_id matches no call sent before it."""
        self.messages: list[Message] = []
        self.calls: dict[str, bool] = {}
        """call_id -> is a custom tool call."""
        self.extra_tools: list[tuple[str, Any]] = []

    def _assistant(self) -> list[Part]:
        last = self.messages[-1] if self.messages else None
        if last is None or last.role != "assistant":
            last = Message("assistant", [])
            self.messages.append(last)
        return last.parts

    def add(self, item: Any, field: str) -> None:
        _expect(isinstance(item, dict), field, "an object", item)
        t = item.get("type")
        if t is None:
            t = MESSAGE if "role" in item else ITEM_REFERENCE if "id" in item else None
        if t == MESSAGE:
            self._message(item, field)
        elif t in (FUNCTION_CALL, CUSTOM_TOOL_CALL):
            self._call(item, field, t == CUSTOM_TOOL_CALL)
        elif t in (FUNCTION_CALL_OUTPUT, CUSTOM_TOOL_CALL_OUTPUT):
            self._result(item, field, t == CUSTOM_TOOL_CALL_OUTPUT)
        elif t == REASONING:
            self._assistant().append(_reasoning(item, field))
        elif t == ITEM_REFERENCE:
            self._reference(item, field)
        elif t == ADDITIONAL_TOOLS:
            tools = item.get("tools")
            _expect(isinstance(tools, list), f"{field}.tools", "an array", tools)
            self.extra_tools.extend((f"{field}.tools[{k}]", tool) for k, tool in enumerate(tools))
        elif t == COMPACTION and is_sealed(item.get("encrypted_content")):
            summary = open_compaction(item["encrypted_content"])
            if summary is not None:  # ours (see compact.py); one that does not open is dropped
                self.messages.append(Message("user", [TextPart(SUMMARY_PREFIX + summary)]))
        elif t == COMPACTION or t in SERVER_TOOL_ITEMS:
            self._server(item, str(t), field)
        else:
            raise invalid(
                f"Invalid value for '{field}.type': {t!r}. Supported values are: "
                + ", ".join(f"'{x}'" for x in ITEM_TYPES) + ".", f"{field}.type", "invalid_value",
            )  # fmt: skip

    def _result(self, item: dict[str, Any], field: str, custom: bool) -> None:
        cid = _str(item, "call_id", field)
        assert cid is not None
        if "output" not in item:
            raise _missing(f"{field}.output")
        out = _output(item["output"], f"{field}.output")
        if cid not in self.calls and self.check_calls:
            raise invalid(f"No tool call found for {'custom tool' if custom else 'function'} call output with "
                          f"call_id {cid}.", f"{field}.call_id", "invalid_value")  # fmt: skip
        self.messages.append(Message("tool", [ToolResultPart(cid, out, provider_details=_details(
            custom=custom, id=item.get("id")))]))  # fmt: skip

    def _reference(self, item: dict[str, Any], field: str) -> None:
        iid = item.get("id")
        found = self.resolve(iid) if self.resolve is not None and isinstance(iid, str) else None
        if found is not None and found.get("type") != ITEM_REFERENCE:
            self.add(found, field)
            return
        if self.resolve is not None:
            raise GatewayError("not_found", f"Item with id '{iid}' not found.", param=f"{field}.id",
                               code="not_found")  # fmt: skip
        raise invalid(f"Item references ('{field}') need stored responses: this gateway keeps none. Send the "
                      "full item instead.", field, "item_reference_not_supported")  # fmt: skip

    def _message(self, item: dict[str, Any], field: str) -> None:
        role = item.get("role")
        if role is None:
            raise _missing(f"{field}.role")
        if role not in ROLES:
            raise invalid(f"Invalid value for '{field}.role': {role!r}. Supported values are: 'user', 'assistant', "
                          "'system' and 'developer'.", f"{field}.role", "invalid_value")  # fmt: skip
        if "content" not in item:
            raise _missing(f"{field}.content")
        parts = _content(item["content"], f"{field}.content", role)
        if role == "assistant":
            phase = item.get("phase")
            if isinstance(phase, str):
                for p in parts:
                    if isinstance(p, TextPart):
                        p.provider_details = {**(p.provider_details or {}), NAME: {"phase": phase}}
            self._assistant().extend(parts)
        else:
            self.messages.append(Message(role, parts))

    def _call(self, item: dict[str, Any], field: str, custom: bool) -> None:
        cid = _str(item, "call_id", field)
        name = _str(item, "name", field)
        assert cid is not None and name is not None
        ns = _str(item, "namespace", field, required=False)
        if custom:
            inp = _str(item, "input", field)
            args = custom_arguments(str(inp))
        else:
            raw = item.get("arguments")
            if isinstance(raw, (dict, list)):
                raw = orjson.dumps(raw).decode()
            if raw is None:
                raise _missing(f"{field}.arguments")
            _expect(isinstance(raw, str), f"{field}.arguments", "a string", raw)
            args = str(raw)
        self.calls[cid] = custom
        details = _details(custom=custom, namespace=ns, name=name if ns else None, id=item.get("id"))
        self._assistant().append(ToolCallPart(cid, flat_name(ns, name), args, provider_details=details))

    def _server(self, item: dict[str, Any], t: str, field: str) -> None:
        iid = str(item.get("id") or item.get("call_id") or "")
        where = {NAME: {"field": field}}
        if t.endswith("_output") or t == "mcp_approval_response":
            cid = str(item.get("call_id") or item.get("approval_request_id") or iid)
            self._assistant().append(ServerToolResultPart(cid, NAME, item, where))
        else:
            self._assistant().append(ServerToolCallPart(iid, t, NAME, item, where))


def _reasoning(item: dict[str, Any], field: str) -> ReasoningPart:
    """A reasoning item. Its text is the summary (and any raw reasoning text); ``encrypted_content`` stays
    in ``provider_details`` until the route is known (see :func:`restore_reasoning`)."""
    texts: list[str] = []
    for key in ("summary", "content"):
        v = item.get(key)
        if v is None:
            continue
        _expect(isinstance(v, list), f"{field}.{key}", "an array", v)
        for j, s in enumerate(v):
            _expect(isinstance(s, dict) and isinstance(s.get("text"), str), f"{field}.{key}[{j}]",
                    "an object with a 'text' string", s)  # fmt: skip
            texts.append(s["text"])
    enc = item.get("encrypted_content")
    _expect(enc is None or isinstance(enc, str), f"{field}.encrypted_content", "a string", enc)
    summary = item.get("summary") if isinstance(item.get("summary"), list) else []
    return ReasoningPart("\n\n".join(texts), provider_details=_details(
        id=item.get("id"), encrypted_content=enc, summary=summary or None))  # fmt: skip


# ------------------------------------------------------------------------------------------ tools


def _custom_params(t: dict[str, Any]) -> dict[str, JSON]:
    desc = "The raw input of the tool: free-form text, not JSON."
    fmt = t.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        desc += f" It must follow this {fmt.get('syntax') or ''} grammar:\n{fmt.get('definition') or ''}"
    return {"type": "object", "properties": {"input": {"type": "string", "description": desc}},
            "required": ["input"], "additionalProperties": False}  # fmt: skip


class _Tools:
    def __init__(self) -> None:
        self.defs: list[ToolDef] = []
        self.hosted: list[str] = []
        self.custom: list[str] = []

    def add(self, t: Any, field: str, namespace: dict[str, Any] | None = None) -> None:
        _expect(isinstance(t, dict), field, "an object", t)
        kind = t.get("type")
        if kind in ("function", "custom"):
            name = _str(t, "name", field)
            assert name is not None
            desc = t.get("description")
            desc = desc if isinstance(desc, str) else None
            ns = namespace.get("name") if namespace else None
            flat = flat_name(ns if isinstance(ns, str) else None, name)
            pd: dict[str, JSON] = {}
            if namespace:
                pd.update(namespace=ns, name=name, namespace_description=namespace.get("description"))
            if kind == "custom":
                pd["custom"] = {k: v for k, v in t.items() if k in ("format",)}
                self.custom.append(flat)
                self.defs.append(ToolDef(flat, desc, _custom_params(t), None, {NAME: pd}))
                return
            params = t.get("parameters") or {"type": "object", "properties": {}}
            _expect(isinstance(params, dict), f"{field}.parameters", "an object", params)
            strict = t.get("strict")
            self.defs.append(ToolDef(flat, desc, params, strict if isinstance(strict, bool) else None,
                                     {NAME: pd} if pd else None))  # fmt: skip
        elif kind == "namespace" and namespace is None:
            _str(t, "name", field)
            inner = t.get("tools")
            _expect(isinstance(inner, list), f"{field}.tools", "an array", inner)
            for k, it in enumerate(inner):
                self.add(it, f"{field}.tools[{k}]", t)
        elif isinstance(kind, str) and namespace is None:
            self.hosted.append(kind)
        else:
            raise invalid(f"Invalid value for '{field}.type': {kind!r}.", f"{field}.type", "invalid_value")


def _tool_choice(tc: Any) -> ToolChoice:
    if isinstance(tc, str):
        if tc not in ("auto", "none", "required"):
            raise invalid(f"Invalid value for 'tool_choice': {tc!r}. Supported values are: 'none', 'auto' and "
                          "'required'.", "tool_choice", "invalid_value")  # fmt: skip
        return ToolChoice(tc)  # type: ignore[arg-type]
    _expect(isinstance(tc, dict), "tool_choice", "a string or an object", tc)
    t = tc.get("type")
    if t in ("function", "custom"):
        name = tc.get("name")
        _expect(isinstance(name, str) and bool(name), "tool_choice.name", "a non-empty string", name)
        ns = tc.get("namespace")
        return ToolChoice("tool", name=flat_name(ns if isinstance(ns, str) else None, name))
    if t == "allowed_tools":
        mode = tc.get("mode")
        return ToolChoice("required" if mode == "required" else "auto")
    return ToolChoice("auto")  # a hosted tool: only a Responses upstream can force it (raw choice kept)


def _response_format(fmt: Any) -> dict[str, JSON] | None:
    _expect(isinstance(fmt, dict), "text.format", "an object", fmt)
    t = fmt.get("type")
    if t == "text":
        return None
    if t == "json_object":
        return {"type": "json_object"}
    if t == "json_schema":
        name = fmt.get("name")
        _expect(isinstance(name, str) and bool(name), "text.format.name", "a non-empty string", name)
        schema = fmt.get("schema")
        _expect(isinstance(schema, dict), "text.format.schema", "an object", schema)
        js = {k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}
        return {"type": "json_schema", "json_schema": js}
    raise invalid(f"Invalid value for 'text.format.type': {t!r}. Supported values are: 'text', 'json_object' and "
                  "'json_schema'.", "text.format.type", "invalid_value")  # fmt: skip


# ------------------------------------------------------------------------------------------ request


def _num(body: dict[str, Any], key: str) -> float | None:
    v = body.get(key)
    if v is None:
        return None
    _expect(isinstance(v, (int, float)) and not isinstance(v, bool), key, "a number", v)
    return float(v)


def _messages(body: dict[str, Any], resolve: Resolver | None) -> _Items:
    """``instructions`` and ``input`` as hub messages."""
    # with an upstream's previous_response_id the calls may be in its stored conversation
    items = _Items(check_calls=body.get("previous_response_id") is None, resolve=resolve)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            items.messages.append(Message("system", [TextPart(instructions)],
                                          provider_details={NAME: {"instructions": True}}))  # fmt: skip
    elif instructions is not None:
        _expect(isinstance(instructions, list), "instructions", "a string or an array of input items",
                instructions)  # fmt: skip
        for i, it in enumerate(instructions):
            items.add(it, f"instructions[{i}]")
    inp = body.get("input")
    if isinstance(inp, str):
        items.messages.append(Message("user", [TextPart(inp)]))
    elif isinstance(inp, list):
        for i, it in enumerate(inp):
            items.add(it, f"input[{i}]")
    return items


def _tools(body: dict[str, Any], items: _Items, req: ChatRequest, extra: dict[str, Any]) -> None:
    """``tools`` (and tools added by ``additional_tools`` items), ``tool_choice``, ``parallel_tool_calls``."""
    tools = _Tools()
    raw_tools = body.get("tools")
    if raw_tools is not None:
        _expect(isinstance(raw_tools, list), "tools", "an array", raw_tools)
        for k, t in enumerate(raw_tools):
            tools.add(t, f"tools[{k}]")
    for field, t in items.extra_tools:
        tools.add(t, field)
    if tools.defs:
        req.tools = tools.defs
    if tools.hosted:
        extra["_hosted"] = tools.hosted
    if tools.custom:
        extra["_custom"] = tools.custom
    tc = body.get("tool_choice")
    if tc is not None:
        req.tool_choice = _tool_choice(tc)
    ptc = body.get("parallel_tool_calls")
    if ptc is not None:
        _expect(isinstance(ptc, bool), "parallel_tool_calls", "a boolean", ptc)
        if req.tool_choice is None:
            req.tool_choice = ToolChoice("auto")
        req.tool_choice.parallel = ptc


def _options(body: dict[str, Any], req: ChatRequest) -> None:
    """``max_output_tokens``, sampling, ``user``, ``metadata``."""
    mt = body.get("max_output_tokens")
    if mt is not None:
        _expect(isinstance(mt, int) and not isinstance(mt, bool), "max_output_tokens", "an integer", mt)
        if mt < 1:
            raise invalid("'max_output_tokens' must be at least 1.", "max_output_tokens", "invalid_value")
        req.max_tokens = mt
    req.temperature = _num(body, "temperature")
    req.top_p = _num(body, "top_p")
    user = body.get("user")
    if user is not None:
        _expect(isinstance(user, str), "user", "a string", user)
        req.user = user
    md = body.get("metadata")
    if md is not None:
        _expect(isinstance(md, dict), "metadata", "an object", md)
        req.metadata = md


def _output_options(body: dict[str, Any], req: ChatRequest) -> None:
    """``reasoning``, ``text`` (its format), ``include``."""
    reasoning = body.get("reasoning")
    if reasoning is not None:
        _expect(isinstance(reasoning, dict), "reasoning", "an object", reasoning)
        effort = reasoning.get("effort")
        if effort is not None:
            _expect(isinstance(effort, str), "reasoning.effort", "a string", effort)
            req.reasoning = ReasoningConfig(enabled=effort != "none", effort=effort)
    text = body.get("text")
    if text is not None:
        _expect(isinstance(text, dict), "text", "an object", text)
        if text.get("format") is not None:
            req.response_format = _response_format(text["format"])
    include = body.get("include")
    if include is not None:
        _expect(isinstance(include, list) and all(isinstance(x, str) for x in include), "include",
                "an array of strings", include)  # fmt: skip


def parse_request(body: Any, resolve: Resolver | None = None) -> ChatRequest:
    """``resolve``: stored items by id (for ``item_reference``); None where nothing is stored."""
    model, stream = peek(body)
    items = _messages(body, resolve)
    req = ChatRequest(model=model, messages=items.messages, stream=stream, origin=NAME)
    extra = {k: v for k, v in body.items() if k not in HUB_FIELDS}
    _tools(body, items, req, extra)
    _options(body, req)
    _output_options(body, req)
    req.vendor_extra[NAME] = extra
    return req


# ------------------------------------------------------------------------------------------ carried state


def restore_reasoning(req: ChatRequest, provider: str) -> None:
    """Open the reasoning this gateway sealed (``encrypted_content``) for ``provider``, the upstream the
    request goes to, back into the hub parts (text, signature, redacted data). A sealed blob that does not
    open (made for another provider, by another gateway, or altered) is dropped, never forwarded; the
    item's readable text stays. Blobs a Responses upstream made itself are left for that upstream."""
    sealer = default_sealer()
    for m in req.messages:
        if m.role != "assistant":
            continue
        for p in m.parts:
            if not isinstance(p, ReasoningPart) or not p.provider_details:
                continue
            d = p.provider_details.get(NAME)
            if not isinstance(d, dict) or not is_sealed(d.get("encrypted_content")):
                continue
            payload = sealer.unseal(provider, d["encrypted_content"])
            rest = {k: v for k, v in d.items() if k != "encrypted_content"}
            p.provider_details = {**p.provider_details, NAME: rest}
            if isinstance(payload, dict):
                t, s, r = payload.get("t"), payload.get("s"), payload.get("r")
                p.text = t if isinstance(t, str) else p.text
                p.signature = s if isinstance(s, str) else None
                p.redacted = r if isinstance(r, str) else None


def foreign_items(req: ChatRequest) -> list[tuple[str, str]]:
    """(field, item type) of input items only a Responses upstream can take (hosted tool calls, compaction)."""
    out: list[tuple[str, str]] = []
    for m in req.messages:
        for p in m.parts:
            if isinstance(p, ServerToolCallPart | ServerToolResultPart) and p.wire == NAME:
                d = p.provider_details.get(NAME) if p.provider_details else None
                out.append((str((d or {}).get("field") or "input"), str(p.data.get("type"))))
    return out


def hosted_tools(req: ChatRequest) -> list[str]:
    """Hosted tools (``web_search`` ...) of the request: only a Responses upstream can run them."""
    return list(req.extra_for(NAME).get("_hosted") or ())
