"""A Gemini ``generateContent`` request -> hub request.

Both spellings Google accepts are read (``systemInstruction`` / ``system_instruction``, ``inlineData`` /
``inline_data`` ...). Gemini-only fields (``safetySettings``, ``cachedContent``, the raw ``generationConfig`` and
``toolConfig``) travel in ``vendor_extra["gemini"]``, so only a Gemini upstream sees them; a Gemini part's
``thoughtSignature`` and a function call's own ``id`` stay in the part's ``provider_details["gemini"]``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import orjson

from ...core.errors import GatewayError, invalid
from ...core.parts import FilePart, ImagePart, Part, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from ...core.request import ChatRequest, Message, ReasoningConfig, ToolChoice, ToolDef
from ...core.seal import PREFIX as SEAL_PREFIX
from ...core.seal import default_sealer
from ...wire.gemini import NAME, from_gemini_schema
from ...wire.openai_chat import NAME as OPENAI_CHAT

REASONING_SCOPE = "gemini-client/reasoning"
"""Seal scope of another upstream's reasoning signature carried in a Gemini client's ``thoughtSignature``."""

_SERVER_TOOLS = ("googleSearch", "google_search", "googleSearchRetrieval", "google_search_retrieval",
                 "codeExecution", "code_execution", "urlContext", "url_context", "computerUse", "fileSearch",
                 "googleMaps", "retrieval", "mcpServers")  # fmt: skip


def _tname(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), "number" if isinstance(v, (int, float)) else type(v).__name__
    )


def _get(obj: dict[str, Any], camel: str) -> Any:
    """A field by its camelCase name or the snake_case one Google accepts too."""
    v = obj.get(camel)
    if v is None:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
        v = obj.get(snake)
    return v


def _want(cond: bool, field: str, what: str, v: Any) -> None:
    if not cond:
        raise invalid(f"Invalid value at '{field}': expected {what}, got {_tname(v)}.", field, "invalid_type")


def peek(body: Any) -> None:
    """The cheap checks both paths share: a JSON object with a non-empty ``contents`` list of objects."""
    if not isinstance(body, dict):
        raise invalid(f"Request body must be a JSON object, got {_tname(body)}.", None, "invalid_body")
    contents = body.get("contents")
    if contents is None:
        raise invalid("* GenerateContentRequest.contents: contents is not specified", "contents",
                      "missing_required_parameter")  # fmt: skip
    _want(isinstance(contents, list), "contents", "a list", contents)
    if not contents:
        raise invalid(
            "* GenerateContentRequest.contents: contents is not specified", "contents", "empty_array"
        )
    for i, c in enumerate(contents):
        _want(isinstance(c, dict), f"contents[{i}]", "an object", c)
        role = c.get("role")
        if role not in (None, "", "user", "model", "function"):
            raise invalid(f"Please use a valid role: user, model. (contents[{i}].role: {role!r})",
                          f"contents[{i}].role", "invalid_value")  # fmt: skip


def _media(blob: Any, field: str, is_file: bool) -> Part:
    _want(isinstance(blob, dict), field, "an object", blob)
    mime = _get(blob, "mimeType")
    if is_file:
        uri = _get(blob, "fileUri")
        _want(isinstance(uri, str) and bool(uri), f"{field}.fileUri", "a non-empty string", uri)
        if isinstance(mime, str) and mime.startswith("image/"):
            return ImagePart(url=uri, media_type=mime)
        return FilePart(url=uri, media_type=mime if isinstance(mime, str) else None)
    data = blob.get("data")
    _want(isinstance(data, str), f"{field}.data", "a base64 string", data)
    if isinstance(mime, str) and mime.startswith("image/"):
        return ImagePart(data=data, media_type=mime)
    if isinstance(mime, str) and mime.startswith("text/"):
        return FilePart(data=data, media_type=mime)
    return FilePart(data=data, media_type=mime if isinstance(mime, str) else None)


def _result_text(response: Any) -> str:
    """A function response's object as the text other upstreams get: the value of a lone ``result`` /
    ``output`` / ``content`` key when it is text, else the object's JSON."""
    if isinstance(response, dict) and len(response) == 1:
        ((k, v),) = response.items()
        if k in ("result", "output", "content") and isinstance(v, str):
            return v
    return orjson.dumps(response).decode()


class _Pending:
    """Calls of the last model turn, to give id-less function responses the id of their call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def take(self, name: str) -> str | None:
        for i, (n, cid) in enumerate(self.calls):
            if n == name:
                del self.calls[i]
                return cid
        return None


def _sealed_token(sig: str) -> str | None:
    """The sealed text inside a ``thoughtSignature`` made by ``render.reasoning_signature`` (base64 in either
    alphabet: clients re-encode the bytes they hold), or None for a signature Gemini made."""
    if len(sig) < 8:
        return None
    try:
        raw = base64.b64decode(sig.replace("-", "+").replace("_", "/") + "=" * (-len(sig) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(SEAL_PREFIX.encode()):
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def _reasoning_signature(token: str) -> tuple[str | None, str | None]:
    """(signature, redacted) of another upstream's reasoning that a Gemini client carried back sealed."""
    payload = default_sealer().unseal(REASONING_SCOPE, token)
    if not isinstance(payload, dict):
        return None, None
    s, r = payload.get("s"), payload.get("r")
    return (s if isinstance(s, str) else None), (r if isinstance(r, str) else None)


def _text_part(text: str, thought: bool, role: str, details: dict[str, Any]) -> Part | None:
    """A text or thought part (a thought outside a model turn is dropped; a thought signature that seals
    another upstream's reasoning signature is opened)."""
    own = {NAME: details} if details else None
    if not thought:
        return TextPart(text, provider_details=own)
    if role != "model":
        return None
    token = _sealed_token(details["thoughtSignature"]) if details else None
    if token is None:
        return ReasoningPart(text, provider_details=own)
    s, r = _reasoning_signature(token)
    return ReasoningPart(text, signature=s, redacted=r)


def _parts(raw: Any, field: str, role: str, pending: _Pending) -> list[Part]:
    _want(isinstance(raw, list), field, "a list", raw)
    out: list[Part] = []
    for j, p in enumerate(raw):
        pf = f"{field}[{j}]"
        _want(isinstance(p, dict), pf, "an object", p)
        sig = _get(p, "thoughtSignature")
        details: dict[str, Any] = {"thoughtSignature": sig} if isinstance(sig, str) and sig else {}
        text = p.get("text")
        fc = _get(p, "functionCall")
        fr = _get(p, "functionResponse")
        inline = _get(p, "inlineData")
        file = _get(p, "fileData")
        if isinstance(text, str):
            tp = _text_part(text, p.get("thought") is True, role, details)
            if tp is not None:
                out.append(tp)
        elif isinstance(fc, dict):
            if role != "model":
                raise invalid(f"A functionCall ({pf}) can only appear in a model turn.", pf)
            name = fc.get("name")
            _want(isinstance(name, str) and bool(name), f"{pf}.functionCall.name", "a non-empty string", name)
            name = str(name)
            args = fc.get("args", {})
            _want(isinstance(args, dict) or args is None, f"{pf}.functionCall.args", "an object", args)
            gid = fc.get("id") if isinstance(fc.get("id"), str) and fc.get("id") else None
            cid = gid or f"call_{uuid.uuid4().hex[:24]}"
            pending.calls.append((name, cid))
            out.append(ToolCallPart(cid, name, orjson.dumps(args or {}).decode(),
                                    provider_details={NAME: {**details, "id": gid}}))  # fmt: skip
        elif isinstance(fr, dict):
            name = fr.get("name")
            _want(
                isinstance(name, str) and bool(name),
                f"{pf}.functionResponse.name",
                "a non-empty string",
                name,
            )
            name = str(name)
            response = fr.get("response", {})
            gid = fr.get("id") if isinstance(fr.get("id"), str) and fr.get("id") else None
            cid = gid or pending.take(name) or f"call_{uuid.uuid4().hex[:24]}"
            if gid:
                pending.take(name)
            is_error = isinstance(response, dict) and set(response) == {"error"}
            content = _result_text(response["error"] if is_error and isinstance(response, dict) else response)
            out.append(ToolResultPart(cid, content, is_error=is_error, name=name,
                                      provider_details={NAME: {"response": response, "id": gid}}))  # fmt: skip
        elif inline is not None:
            out.append(_media(inline, f"{pf}.inlineData", False))
        elif file is not None:
            out.append(_media(file, f"{pf}.fileData", True))
        elif details:
            out.append(TextPart("", provider_details={NAME: details}))
        elif any(k in p for k in ("executableCode", "codeExecutionResult", "executable_code",
                                  "code_execution_result")):  # fmt: skip
            raise invalid(f"Code execution parts ({pf}) can only be sent to a Gemini upstream.", pf,
                          "unsupported_content")  # fmt: skip
    return out


def _system(v: Any) -> list[Part]:
    if isinstance(v, str):
        return [TextPart(v)] if v else []
    _want(isinstance(v, dict), "systemInstruction", "an object with parts", v)
    parts = v.get("parts") or []
    _want(isinstance(parts, list), "systemInstruction.parts", "a list", parts)
    out: list[Part] = []
    for j, p in enumerate(parts):
        if isinstance(p, dict) and isinstance(p.get("text"), str):
            if p["text"]:
                out.append(TextPart(p["text"]))
        else:
            raise invalid("systemInstruction may only contain text parts.", f"systemInstruction.parts[{j}]")
    return out


def _tools(v: Any) -> list[ToolDef]:
    _want(isinstance(v, list), "tools", "a list", v)
    out: list[ToolDef] = []
    for i, t in enumerate(v):
        _want(isinstance(t, dict), f"tools[{i}]", "an object", t)
        decls = _get(t, "functionDeclarations")
        for k in t:
            if k in _SERVER_TOOLS:
                raise invalid(f"Tool {k!r} (tools[{i}]) is a Gemini built-in tool; only functionDeclarations can "
                              "be translated to this model's upstream.", f"tools[{i}].{k}", "unsupported_content")  # fmt: skip
        if decls is None:
            continue
        _want(isinstance(decls, list), f"tools[{i}].functionDeclarations", "a list", decls)
        for j, d in enumerate(decls):
            df = f"tools[{i}].functionDeclarations[{j}]"
            _want(isinstance(d, dict), df, "an object", d)
            name = d.get("name")
            _want(isinstance(name, str) and bool(name), f"{df}.name", "a non-empty string", name)
            own: dict[str, Any] = {}
            params: dict[str, Any]
            js = _get(d, "parametersJsonSchema")
            gs = d.get("parameters")
            if js is not None:
                _want(isinstance(js, dict), f"{df}.parametersJsonSchema", "an object", js)
                params, own["parametersJsonSchema"] = js, js
            elif gs is not None:
                _want(isinstance(gs, dict), f"{df}.parameters", "an object", gs)
                params, own["parameters"] = from_gemini_schema(gs), gs
            else:
                params = {"type": "object", "properties": {}}
            for k in ("response", "responseJsonSchema", "behavior"):
                if _get(d, k) is not None:
                    own[k] = _get(d, k)
            desc = d.get("description")
            out.append(ToolDef(name, desc if isinstance(desc, str) else None, params,
                               provider_details={NAME: own} if own else None))  # fmt: skip
    return out


def _tool_choice(v: Any) -> ToolChoice | None:
    _want(isinstance(v, dict), "toolConfig", "an object", v)
    fcc = _get(v, "functionCallingConfig")
    if not isinstance(fcc, dict):
        return None
    mode = str(fcc.get("mode") or "AUTO").upper()
    names = _get(fcc, "allowedFunctionNames")
    if mode == "NONE":
        return ToolChoice("none")
    if mode == "ANY":
        if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
            return ToolChoice("tool", name=names[0])
        return ToolChoice("required")
    return ToolChoice("auto")


def _num(gc: dict[str, Any], key: str) -> float | None:
    v = _get(gc, key)
    if v is None:
        return None
    _want(isinstance(v, (int, float)) and not isinstance(v, bool), f"generationConfig.{key}", "a number", v)
    return float(v)


def _int(gc: dict[str, Any], key: str) -> int | None:
    v = _get(gc, key)
    if v is None:
        return None
    _want(isinstance(v, int) and not isinstance(v, bool), f"generationConfig.{key}", "an integer", v)
    return int(v)


def _thinking(tc: dict[str, Any]) -> ReasoningConfig:
    """``thinkingConfig`` (a budget, 0 turning thinking off; a level; ``includeThoughts``) -> hub."""
    budget = _get(tc, "thinkingBudget")
    level = _get(tc, "thinkingLevel")
    r = ReasoningConfig()
    if isinstance(budget, int) and not isinstance(budget, bool):
        r.enabled = budget != 0
        if budget > 0:
            r.budget_tokens = budget
    if isinstance(level, str) and level:
        r.effort = level.lower()
        r.enabled = True
    if _get(tc, "includeThoughts") is True and r.enabled is None:
        r.enabled = True
    return r


def _generation(gc: Any, req: ChatRequest) -> None:
    _want(isinstance(gc, dict), "generationConfig", "an object", gc)
    req.temperature = _num(gc, "temperature")
    req.top_p = _num(gc, "topP")
    req.top_k = _int(gc, "topK")
    req.seed = _int(gc, "seed")
    mt = _int(gc, "maxOutputTokens")
    if mt is not None and mt < 1:
        raise invalid(
            "maxOutputTokens must be positive.", "generationConfig.maxOutputTokens", "invalid_value"
        )
    req.max_tokens = mt
    stop = _get(gc, "stopSequences")
    if stop is not None:
        _want(isinstance(stop, list) and all(isinstance(s, str) for s in stop), "generationConfig.stopSequences",
              "a list of strings", stop)  # fmt: skip
        req.stop = list(stop) or None
    mime = _get(gc, "responseMimeType")
    js = _get(gc, "responseJsonSchema")
    gs = _get(gc, "responseSchema")
    if mime == "application/json" or js is not None or gs is not None:
        schema = js if isinstance(js, dict) else from_gemini_schema(gs) if isinstance(gs, dict) else None
        if schema is not None:
            req.response_format = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": schema},
            }
        else:
            req.response_format = {"type": "json_object"}
    tc = _get(gc, "thinkingConfig")
    if isinstance(tc, dict):
        req.reasoning = _thinking(tc)
    for src, dst in (("presencePenalty", "presence_penalty"), ("frequencyPenalty", "frequency_penalty")):
        v = _get(gc, src)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            req.vendor_extra.setdefault(OPENAI_CHAT, {})[dst] = v


def include_thoughts(req: ChatRequest) -> bool:
    """Whether a Gemini client asked for thought parts (``thinkingConfig.includeThoughts``)."""
    gc = req.extra_for(NAME).get("generationConfig")
    tc = _get(gc, "thinkingConfig") if isinstance(gc, dict) else None
    return isinstance(tc, dict) and _get(tc, "includeThoughts") is True


def parse_request(body: Any, model: str, stream: bool) -> ChatRequest:
    """A ``generateContent`` body (model and stream flag come from the URL) -> hub request."""
    peek(body)
    messages: list[Message] = []
    system = _get(body, "systemInstruction")
    if system is not None:
        sys_parts = _system(system)
        if sys_parts:
            messages.append(Message("system", sys_parts))
    pending = _Pending()
    for i, c in enumerate(body["contents"]):
        role = "model" if c.get("role") == "model" else "user"
        parts = _parts(c.get("parts") or [], f"contents[{i}].parts", role, pending)
        if role == "model":
            messages.append(Message("assistant", parts))
        else:
            messages.append(Message("user", parts))
            pending.calls.clear()
    req = ChatRequest(model=model, messages=messages, stream=stream, origin=NAME, include_usage=True)
    own: dict[str, Any] = {}
    tools = body.get("tools")
    if tools is not None:
        req.tools = _tools(tools) or None
    tc = _get(body, "toolConfig")
    if tc is not None:
        req.tool_choice = _tool_choice(tc)
        own["toolConfig"] = tc
    gc = _get(body, "generationConfig")
    if gc is not None:
        _generation(gc, req)
        own["generationConfig"] = gc
    for camel in ("safetySettings", "cachedContent", "labels", "serviceTier"):
        v = _get(body, camel)
        if v is not None:
            own[camel] = v
    if own:
        req.vendor_extra[NAME] = own
    return req


def parse_count_request(body: Any, model: str) -> ChatRequest:
    """A ``countTokens`` body: ``contents`` or a whole ``generateContentRequest``."""
    if isinstance(body, dict) and isinstance(_get(body, "generateContentRequest"), dict):
        return parse_request(_get(body, "generateContentRequest"), model, False)
    return parse_request(body, model, False)


def refuse_without_gemini(body: dict[str, Any]) -> GatewayError | None:
    """The refusal for Gemini-only features when the request is not served by a Gemini upstream."""
    if _get(body, "cachedContent") is not None:
        return invalid("cachedContent refers to a cache on a Gemini upstream; this model is not served by one.",
                       "cachedContent", "unsupported_value")  # fmt: skip
    gc = _get(body, "generationConfig")
    n = _get(gc, "candidateCount") if isinstance(gc, dict) else None
    if isinstance(n, int) and n > 1:
        return invalid("candidateCount greater than 1 needs a Gemini upstream; this model is not served by one.",
                       "generationConfig.candidateCount", "unsupported_value")  # fmt: skip
    return None
