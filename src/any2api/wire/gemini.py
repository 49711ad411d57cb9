"""The Gemini API wire format (``generateContent``): finish reasons, usage, errors, schemas, ids.

Shared by the client dialect (``formats/gemini/``) and the Gemini upstream (``providers/gemini.py``), which
speak this format in opposite directions. Imports only ``core``.

Thought signatures: a Gemini part may carry ``thoughtSignature``; the hub keeps it in the part's
``provider_details["gemini"]["thoughtSignature"]`` (and a function call's own ``id`` under ``"id"``), so it
reaches a Gemini client or upstream unchanged and no other side ever sees it. For clients that cannot carry
Gemini fields the upstream seals it into the tool call id (see :func:`seal_call_id`).
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..core.errors import ErrorKind, GatewayError
from ..core.response import FinishReason, Usage
from ..core.seal import PREFIX as SEAL_PREFIX
from ..core.seal import Sealer

NAME: Final = "gemini"

# ------------------------------------------------------------------------------------------ finish reasons

FINISH_IN: dict[str, FinishReason] = {
    "STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
    "LANGUAGE": "content_filter", "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter", "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter", "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error", "MISSING_THOUGHT_SIGNATURE": "error", "MALFORMED_RESPONSE": "error",
    "OTHER": "stop", "IMAGE_OTHER": "stop", "NO_IMAGE": "stop", "FINISH_REASON_UNSPECIFIED": "stop",
}  # fmt: skip
"""Gemini ``finishReason`` -> hub finish reason. A ``STOP`` with function calls is ``tool_calls`` (Gemini has
no reason of its own for it); every block reason is a content-filter stop, never an empty success."""

FINISH_OUT: dict[FinishReason, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
    "error": "OTHER",
}
"""Hub finish reason -> Gemini ``finishReason``."""

BLOCK_REASONS = frozenset({"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"})
"""``promptFeedback.blockReason`` values: the prompt itself was refused (no candidates)."""


def finish_in(reason: str | None, has_calls: bool) -> FinishReason:
    if reason is None:
        return "tool_calls" if has_calls else "stop"
    hub = FINISH_IN.get(reason, "stop")
    return "tool_calls" if hub == "stop" and has_calls else hub


# ---------------------------------------------------------------------------------------------------- usage


def _int0(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def usage_from_wire(u: dict[str, Any]) -> Usage:
    """A ``usageMetadata`` object -> hub usage. The hub counts all input (``promptTokenCount`` already
    includes cached content, tool-use prompts are added) and all output (candidates plus thoughts, as
    OpenAI's ``completion_tokens`` does). The object itself is kept in ``provider_details``."""
    thoughts = u.get("thoughtsTokenCount")
    cached = u.get("cachedContentTokenCount")
    usage = Usage(
        input_tokens=_int0(u.get("promptTokenCount")) + _int0(u.get("toolUsePromptTokenCount")),
        output_tokens=_int0(u.get("candidatesTokenCount")) + _int0(thoughts),
        reasoning_tokens=_int0(thoughts) if thoughts is not None else None,
        cache_read_tokens=_int0(cached) if cached is not None else None,
        provider_details={NAME: u},
    )
    return usage


_COUNTS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount",
           "totalTokenCount", "toolUsePromptTokenCount")  # fmt: skip


def usage_to_wire(u: Usage) -> dict[str, Any]:
    """Hub usage -> a ``usageMetadata`` object. Fields of a Gemini upstream's own object that the hub has no
    slot for (``promptTokensDetails``, ``serviceTier`` ...) are kept."""
    raw = u.provider_details.get(NAME) if u.provider_details else None
    out: dict[str, Any] = {k: v for k, v in raw.items() if k not in _COUNTS} if isinstance(raw, dict) else {}
    thoughts = u.reasoning_tokens or 0
    out["promptTokenCount"] = u.input_tokens
    out["candidatesTokenCount"] = max(0, u.output_tokens - thoughts)
    if u.reasoning_tokens is not None:
        out["thoughtsTokenCount"] = u.reasoning_tokens
    if u.cache_read_tokens is not None:
        out["cachedContentTokenCount"] = u.cache_read_tokens
    out["totalTokenCount"] = u.input_tokens + u.output_tokens
    return out


# --------------------------------------------------------------------------------------------------- errors

STATUS_NAMES: dict[ErrorKind, str] = {
    "invalid_request": "INVALID_ARGUMENT", "authentication": "UNAUTHENTICATED", "permission": "PERMISSION_DENIED",
    "not_found": "NOT_FOUND", "method_not_allowed": "UNIMPLEMENTED", "payload_too_large": "INVALID_ARGUMENT",
    "rate_limit": "RESOURCE_EXHAUSTED", "quota_exceeded": "RESOURCE_EXHAUSTED", "upstream": "INTERNAL",
    "overloaded": "UNAVAILABLE", "timeout": "DEADLINE_EXCEEDED", "internal": "INTERNAL",
}  # fmt: skip
"""Gateway error kind -> ``google.rpc.Code`` name of Google's error body."""

ERROR_KINDS: dict[str, ErrorKind] = {
    "INVALID_ARGUMENT": "invalid_request", "FAILED_PRECONDITION": "invalid_request",
    "OUT_OF_RANGE": "invalid_request", "UNAUTHENTICATED": "authentication", "PERMISSION_DENIED": "permission",
    "NOT_FOUND": "not_found", "RESOURCE_EXHAUSTED": "rate_limit", "INTERNAL": "upstream",
    "UNAVAILABLE": "overloaded", "DEADLINE_EXCEEDED": "timeout", "CANCELLED": "upstream", "UNKNOWN": "upstream",
    "ABORTED": "upstream", "UNIMPLEMENTED": "invalid_request",
}  # fmt: skip
"""``status`` of a Google error body (e.g. one inside a stream) -> gateway error kind."""


def error_json(err: GatewayError) -> dict[str, Any]:
    """Google's error body: ``{"error": {"code", "message", "status"}}``."""
    msg = err.message
    if err.param and err.param not in msg:
        msg = f"{msg} (field: {err.param})"
    return {"error": {"code": err.status, "message": msg, "status": STATUS_NAMES.get(err.kind, "INTERNAL")}}


def error_from_wire(obj: Any, prefix: str = "Upstream error") -> GatewayError:
    """A Google error object (``{"error": {...}}`` or its inner object) as a gateway error."""
    err = obj.get("error", obj) if isinstance(obj, dict) else {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    status = str(err.get("status") or "")
    kind: ErrorKind = ERROR_KINDS.get(status, "upstream")
    msg = str(err.get("message") or status or "unknown error")
    code = err.get("code")
    return GatewayError(kind, f"{prefix}: {msg}", code=status or None,
                        upstream_status=code if isinstance(code, int) else None)  # fmt: skip


# ----------------------------------------------------------------------------------------------- model names

_MODEL_PREFIXES = ("models/", "tunedModels/")


def bare_model(name: str) -> str:
    """``models/gemini-2.5-flash`` (as clients may send it) -> ``gemini-2.5-flash``."""
    for p in _MODEL_PREFIXES:
        if name.startswith(p):
            return name[len(p) :]
    return name


# ---------------------------------------------------------------------------------------- sealed call ids

CALL_ID_PREFIX: Final = "call_" + SEAL_PREFIX[:-1] + "_"
"""A tool call id that carries a sealed thought signature: ``call_a2s1_<sealed body>``. Only URL-safe base64
characters follow the prefix, so the id fits every client's tool id pattern (``^[a-zA-Z0-9_-]+$``)."""


def seal_call_id(sealer: Sealer, scope: str, signature: str, call_id: str | None) -> str:
    """A tool call id for a client that cannot carry Gemini fields, holding the call's thought signature
    (and Gemini's own call id, if it gave one), sealed for the provider ``scope``."""
    payload: dict[str, str] = {"s": signature}
    if call_id:
        payload["i"] = call_id
    token = sealer.seal(scope, payload)
    return CALL_ID_PREFIX + token[len(SEAL_PREFIX) :]


def unseal_call_id(sealer: Sealer, scope: str, call_id: str) -> tuple[str | None, str | None]:
    """(thought signature, Gemini call id) from an id made by :func:`seal_call_id` for ``scope``; (None,
    None) for any other id, a foreign or altered one included."""
    if not call_id.startswith(CALL_ID_PREFIX):
        return None, None
    payload = sealer.unseal(scope, SEAL_PREFIX + call_id[len(CALL_ID_PREFIX) :])
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str):
        return None, None
    cid = payload.get("i")
    return payload["s"], cid if isinstance(cid, str) else None


def gemini_details(p: Any) -> dict[str, Any]:
    """The ``gemini`` namespace of a part's (or tool's) ``provider_details``."""
    pd = p.provider_details
    if not pd:
        return {}
    d = pd.get(NAME)
    return d if isinstance(d, dict) else {}


# --------------------------------------------------------------------------------- JSON Schema <-> Gemini

_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
_KEEP_FORMATS = {
    "string": {"enum", "date-time"},
    "number": {"float", "double"},
    "integer": {"int32", "int64"},
}
_COPY = ("title", "description", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum",
         "maximum", "minProperties", "maxProperties", "example", "default", "propertyOrdering")  # fmt: skip
_MAX_DEPTH = 32


def to_gemini_schema(schema: Any) -> dict[str, Any]:
    """A client's JSON Schema -> the OpenAPI subset Gemini's ``parameters`` / ``responseSchema`` accept.

    ``$ref`` / ``$defs`` are inlined (a recursive reference ends as a plain object), ``oneOf`` becomes
    ``anyOf``, ``allOf`` is merged, a ``null`` member or type becomes ``nullable``, ``const`` becomes a
    one-value ``enum``, and what Gemini rejects (``$schema``, ``additionalProperties``, unknown formats,
    ``exclusiveMinimum`` ...) is left out. Never raises: the worst case is a looser schema."""
    if not isinstance(schema, dict):
        return {"type": "object"}
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        d = schema.get(key)
        if isinstance(d, dict):
            defs.update(d)
    return _convert(schema, defs, (), 0)


def _resolve(ref: str, defs: dict[str, Any]) -> Any:
    m = re.match(r"^#/(?:\$defs|definitions)/(.+)$", ref)
    if not m:
        return None
    return defs.get(m.group(1).replace("~1", "/").replace("~0", "~"))


def _convert(s: Any, defs: dict[str, Any], seen: tuple[str, ...], depth: int) -> dict[str, Any]:
    if not isinstance(s, dict) or depth > _MAX_DEPTH:
        return {"type": "object"} if depth > _MAX_DEPTH else {}
    ref = s.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            cut: dict[str, Any] = {"type": "object"}
            if isinstance(s.get("description"), str):
                cut["description"] = s["description"]
            return cut
        target = _resolve(ref, defs)
        merged = {**target, **{k: v for k, v in s.items() if k != "$ref"}} if isinstance(target, dict) else {}
        return _convert(merged, defs, (*seen, ref), depth + 1)
    all_of = s.get("allOf")
    if isinstance(all_of, list) and all_of:
        base = {k: v for k, v in s.items() if k != "allOf"}
        for sub in all_of:
            if isinstance(sub, dict) and isinstance(sub.get("$ref"), str):
                t = _resolve(sub["$ref"], defs)
                sub = t if isinstance(t, dict) and sub["$ref"] not in seen else {}
            if isinstance(sub, dict):
                base = _merge(base, sub)
        return _convert(base, defs, seen, depth + 1)
    out: dict[str, Any] = {}
    nullable = s.get("nullable") is True
    typ: Any = s.get("type")
    if isinstance(typ, list):
        types = [t for t in typ if isinstance(t, str) and t in _TYPES]
        if "null" in types:
            nullable = True
            types = [t for t in types if t != "null"]
        if len(types) > 1:
            variants = [_convert({**s, "type": t}, defs, seen, depth + 1) for t in types]
            res: dict[str, Any] = {"anyOf": variants}
            if nullable:
                res["nullable"] = True
            if isinstance(s.get("description"), str):
                res["description"] = s["description"]
            return res
        typ = types[0] if types else None
    elif typ == "null":
        return {"type": "string", "nullable": True}
    union = s.get("anyOf", s.get("oneOf"))
    if isinstance(union, list) and union:
        members = [u for u in union if isinstance(u, dict)]
        if any(m.get("type") == "null" for m in members):
            nullable = True
            members = [m for m in members if m.get("type") != "null"]
        conv = [_convert(m, defs, seen, depth + 1) for m in members]
        rest = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
        if len(conv) == 1:
            res = {**_convert(rest, defs, seen, depth + 1), **conv[0]} if rest else conv[0]
        else:
            res = {"anyOf": conv} if conv else {}
            for k in ("title", "description"):
                if isinstance(s.get(k), str):
                    res[k] = s[k]
        if nullable:
            res["nullable"] = True
        return res
    if typ is None:
        if isinstance(s.get("properties"), dict):
            typ = "object"
        elif "items" in s:
            typ = "array"
        elif "enum" in s or "const" in s:
            typ = _value_type(s["enum"] if isinstance(s.get("enum"), list) else [s.get("const")])
    if isinstance(typ, str) and typ.lower() in _TYPES:
        typ = typ.lower()
        out["type"] = typ
    for k in _COPY:
        if k in s:
            out[k] = s[k]
    fmt = s.get("format")
    if isinstance(fmt, str) and isinstance(typ, str) and fmt in _KEEP_FORMATS.get(typ, ()):
        out["format"] = fmt
    enum = s.get("enum")
    if "const" in s and enum is None:
        enum = [s["const"]]
    if isinstance(enum, list) and enum:
        if all(isinstance(e, str) for e in enum):
            out["enum"] = list(enum)
            out["type"] = "string"
        else:
            extra = "One of: " + ", ".join(str(e) for e in enum)
            out["description"] = f"{out['description']} ({extra})" if "description" in out else extra
    if "minimum" not in out and isinstance(s.get("exclusiveMinimum"), (int, float)):
        out["minimum"] = s["exclusiveMinimum"]
    if "maximum" not in out and isinstance(s.get("exclusiveMaximum"), (int, float)):
        out["maximum"] = s["exclusiveMaximum"]
    props = s.get("properties")
    if isinstance(props, dict):
        out["properties"] = {str(k): _convert(v, defs, seen, depth + 1) for k, v in props.items()}
        req = s.get("required")
        if isinstance(req, list):
            names = [r for r in req if isinstance(r, str) and r in out["properties"]]
            if names:
                out["required"] = names
    items = s.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, defs, seen, depth + 1)
    elif isinstance(items, list) and items:  # tuple form: Gemini has none; the first shape is kept
        out["items"] = _convert(items[0], defs, seen, depth + 1)
    elif typ == "array":
        out["items"] = {"type": "string"}
    if nullable:
        out["nullable"] = True
    return out


def _value_type(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {**a}
    for k, v in b.items():
        if k == "properties" and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        elif k == "required" and isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = [*out[k], *(r for r in v if r not in out[k])]
        else:
            out.setdefault(k, v)
    return out


def from_gemini_schema(schema: Any) -> dict[str, Any]:
    """A Gemini ``Schema`` (OpenAPI subset, upper-case types, ``nullable``) -> JSON Schema, for upstreams
    that are not Gemini. Unknown keys are kept."""
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    nullable = schema.get("nullable") is True
    for k, v in schema.items():
        if k == "type" and isinstance(v, str):
            t = v.lower()
            if t == "type_unspecified":
                continue
            out["type"] = [t, "null"] if nullable and t != "null" else t
        elif k == "nullable":
            continue
        elif k == "properties" and isinstance(v, dict):
            out[k] = {str(n): from_gemini_schema(p) for n, p in v.items()}
        elif k == "items":
            out[k] = from_gemini_schema(v)
        elif k == "anyOf" and isinstance(v, list):
            out[k] = [from_gemini_schema(x) for x in v] + ([{"type": "null"}] if nullable else [])
        elif k in ("propertyOrdering", "example") or (k == "format" and v == "enum"):
            continue
        else:
            out[k] = v
    if nullable and "type" not in out and "anyOf" not in out:
        out["nullable"] = True
    return out
