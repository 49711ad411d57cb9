"""The Gemini API (``generateContent``) on the wire, as Google's generativelanguage service answers it.

Endpoints (any prefix): ``POST …/models/{model}:generateContent``, ``:streamGenerateContent`` (``?alt=sse``:
SSE, one ``data:`` line per chunk; without it: ONE JSON array written element by element, ``[`` first,
``,\\r\\n`` between elements, ``]`` at the end), ``:countTokens``; ``GET …/models`` and ``…/models/{id}``.

Checks the real API makes, so the gateway's requests are held to them: ``contents`` present and well formed,
function declaration schemas in Gemini's OpenAPI subset (an unknown key such as ``additionalProperties`` is a
400, as Google answers it), and thought signatures: every signature sent back must be one this simulator
issued (or Google's documented skip value), and on Gemini 3 models (``gemini-3*``) the first function call
of each model step of the current turn must carry one -- a missing signature is the 400 Gemini 3 gives.

Answers: scripts render as chunks -- a ``Text`` delta per chunk, ``Reasoning`` as ``thought: true`` parts
(only when the request asked ``includeThoughts``), ``ToolCall`` / ``Parallel`` as ``functionCall`` parts (a
signature on the first one), a trailing empty text part with a signature on Gemini 3 text answers, the
last chunk with ``finishReason`` and the full ``usageMetadata``. ``finish`` takes either dialect's
vocabulary or a Gemini reason verbatim (``SAFETY``, ``RECITATION``, ``MALFORMED_FUNCTION_CALL`` ...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .answer import Totals, totals
from .dialects import Dialect, register
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
from .wire import CommentFrame, Event, Op, Reply, count_tokens, dumps

if TYPE_CHECKING:
    from .server import RecordedRequest

SKIP_SIGNATURE = "skip_thought_signature_validator"
_PATH = re.compile(r"/(?:models|tunedModels)/([^/:]+):(generateContent|streamGenerateContent|countTokens)$")
_SCHEMA_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip
_DECL_KEYS = {"name", "description", "behavior", "parameters", "parametersJsonSchema", "response",
              "responseJsonSchema"}  # fmt: skip
_FINISH = {
    "stop": "STOP", "end_turn": "STOP", "stop_sequence": "STOP", "length": "MAX_TOKENS", "max_tokens": "MAX_TOKENS",
    "tool_calls": "STOP", "tool_use": "STOP", "content_filter": "SAFETY", "refusal": "SAFETY", "safety": "SAFETY",
}  # fmt: skip
JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}

_issued: set[bytes] = set()
_lock = threading.Lock()
_counter = 0


def issue_signature(seed: str) -> str:
    """A new thought signature (base64 like the real ones), remembered as issued by this simulator."""
    global _counter
    with _lock:
        _counter += 1
        n = _counter
    digest = hashlib.sha256(f"{seed}:{n}".encode()).digest()
    raw = b"\x12\x20simgemini" + digest * 3
    with _lock:
        _issued.add(raw)
    return base64.b64encode(raw).decode()


def _decode(sig: str) -> bytes | None:
    """A signature's bytes: Google takes base64 in either alphabet (google-genai sends the URL-safe one)."""
    try:
        return base64.b64decode(
            sig.replace("-", "+").replace("_", "/") + "=" * (-len(sig) % 4), validate=True
        )
    except ValueError:
        return None


def is_issued(sig: str) -> bool:
    raw = _decode(sig)
    with _lock:
        return raw is not None and raw in _issued


def error_body(code: int, message: str, status: str, reason: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason is not None:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                           "domain": "googleapis.com",
                           "metadata": {"service": "generativelanguage.googleapis.com"}}]  # fmt: skip
    return {"error": err}


def key_error() -> tuple[int, dict[str, Any]]:
    return 400, error_body(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
                           "API_KEY_INVALID")  # fmt: skip


@dataclass
class GeminiInput(ChatInput):
    action: str = "generateContent"
    sse: bool = False
    include_thoughts: bool = False


def route(method: str, path: str) -> tuple[str, str] | None:
    """(model, action) when ``path`` is a Gemini model method."""
    if method != "POST":
        return None
    m = _PATH.search(path)
    return (m.group(1), m.group(2)) if m else None


def is_gemini_get(method: str, path: str, headers: Any, query: dict[str, str]) -> bool:
    if method != "GET" or "/models" not in path:
        return False
    return "/v1beta/" in path or "x-goog-api-key" in headers or "key" in query


def _camel(k: str) -> str:
    """Google's JSON parser takes a field by its lowerCamelCase name or its proto (snake_case) name."""
    head, *rest = k.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _check_schema(s: Any, where: str) -> None:
    if not isinstance(s, dict):
        raise Invalid(f"Invalid JSON payload received. Expected an object at '{where}'.")
    for k0, v in s.items():
        k = _camel(k0)
        if k not in _SCHEMA_KEYS:
            raise Invalid(
                f"Invalid JSON payload received. Unknown name \"{k}\" at '{where}': Cannot find field."
            )
        if k == "properties":
            if not isinstance(v, dict):
                raise Invalid(f"Invalid JSON payload received. 'properties' must be an object at '{where}'.")
            for name, sub in v.items():
                _check_schema(sub, f"{where}.properties[{name}].value")
        elif k == "items":
            _check_schema(v, f"{where}.items")
        elif k == "anyOf":
            for i, sub in enumerate(v if isinstance(v, list) else ()):
                _check_schema(sub, f"{where}.any_of[{i}]")
        elif k == "type" and (not isinstance(v, str) or v.upper() not in
                              {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}):  # fmt: skip
            raise Invalid(f"Invalid value at '{where}.type' ({json.dumps(v)}).")
    if str(s.get("type", "")).upper() == "OBJECT" and "properties" in s and not s["properties"]:
        raise Invalid(f"* GenerateContentRequest.{where}.properties: should be non-empty for OBJECT type")


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise Invalid("Invalid JSON payload received. 'tools' must be a list.")
    for i, t in enumerate(tools):
        decls = t.get("functionDeclarations", t.get("function_declarations")) if isinstance(t, dict) else None
        for j, d in enumerate(decls or ()):
            where = f"tools[{i}].function_declarations[{j}]"
            d = {_camel(k): v for k, v in d.items()}
            for k in d:
                if k not in _DECL_KEYS:
                    raise Invalid(
                        f"Invalid JSON payload received. Unknown name \"{k}\" at '{where}': Cannot find field."
                    )
            if not isinstance(d.get("name"), str) or not d["name"]:
                raise Invalid(
                    f"* GenerateContentRequest.{where}.name: [FIELD_INVALID] Invalid function name."
                )
            if "parameters" in d and "parametersJsonSchema" in d:
                raise Invalid(f"* GenerateContentRequest.{where}: parameters and parameters_json_schema are "
                              "mutually exclusive")  # fmt: skip
            if "parameters" in d:
                _check_schema(d["parameters"], f"{where}.parameters")


def _is_user_turn_start(content: dict[str, Any]) -> bool:
    parts = content.get("parts") or []
    return content.get("role", "user") == "user" and any(
        isinstance(p, dict) and "functionResponse" not in p for p in parts
    )


def _check_signatures(contents: list[Any], model: str) -> None:
    for i, c in enumerate(contents):
        for j, p in enumerate(c.get("parts") or ()):
            sig = p.get("thoughtSignature") if isinstance(p, dict) else None
            if sig is not None and sig != SKIP_SIGNATURE and not is_issued(sig):
                raise Invalid(f"Corrupted thought signature. (contents[{i}].parts[{j}])")
    if not model.startswith("gemini-3"):
        return
    start = 0
    for i, c in enumerate(contents):
        if _is_user_turn_start(c):
            start = i
    for i in range(start, len(contents)):
        c = contents[i]
        if c.get("role") != "model":
            continue
        calls = [p for p in c.get("parts") or () if isinstance(p, dict) and "functionCall" in p]
        if calls and not calls[0].get("thoughtSignature"):
            name = calls[0]["functionCall"].get("name")
            raise Invalid(
                f"Function call is missing a thought_signature in functionCall parts. This is required for "
                f"tools to work correctly, and missing thought_signature may lead to degraded model "
                f"performance. Additional data, function call `default_api:{name}` , position {i + 1}. "
                "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )


def parse(path: str, query: dict[str, str], body: Any) -> GeminiInput:
    found = _PATH.search(path)
    assert found is not None
    model, action = found.group(1), found.group(2)
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON payload received. Expected an object.")
    if action == "countTokens" and "generateContentRequest" in body:
        body = body["generateContentRequest"]
        if not isinstance(body, dict):
            raise Invalid("Invalid JSON payload received. 'generateContentRequest' must be an object.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            raise Invalid(f"Invalid JSON payload received. Expected an object at 'contents[{i}]'.")
        if c.get("role", "user") not in ("user", "model", "function"):
            raise Invalid(f"Please use a valid role: user, model. (contents[{i}].role)")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Invalid(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        for j, p in enumerate(parts):
            fr = p.get("functionResponse") if isinstance(p, dict) else None
            if isinstance(fr, dict) and not fr.get("name"):
                raise Invalid(f"* GenerateContentRequest.contents[{i}].parts[{j}].function_response.name: "
                              "Name cannot be empty.")  # fmt: skip
            fc = p.get("functionCall") if isinstance(p, dict) else None
            if isinstance(fc, dict) and not isinstance(fc.get("args", {}), dict):
                raise Invalid(
                    f"Invalid JSON payload received. 'args' must be an object at contents[{i}].parts[{j}]."
                )
    _check_tools(body.get("tools"))
    _check_signatures(contents, model)
    texts: list[str] = []
    system = body.get("systemInstruction", body.get("system_instruction"))
    last_user = ""
    for c in ([system] if isinstance(system, dict) else []) + contents:
        for p in c.get("parts") or ():
            if isinstance(p, dict):
                if isinstance(p.get("text"), str):
                    texts.append(p["text"])
                if "functionCall" in p:
                    texts.append(json.dumps(p["functionCall"].get("args", {})))
                if "functionResponse" in p:
                    collect_text(p["functionResponse"].get("response"), texts)
                    texts.append(json.dumps(p["functionResponse"].get("response")))
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            last_user = "\n".join(
                p["text"] for p in c["parts"] if isinstance(p, dict) and isinstance(p.get("text"), str)
            )
            break
    gc = body.get("generationConfig") or body.get("generation_config") or {}
    tc = {_camel(k): v for k, v in gc.items()}.get("thinkingConfig") if isinstance(gc, dict) else None
    include = isinstance(tc, dict) and {_camel(k): v for k, v in tc.items()}.get("includeThoughts") is True
    return GeminiInput(
        dialect="gemini",
        body=body,
        model=model,
        stream=action == "streamGenerateContent",
        include_usage=True,
        prompt_text="\n".join(texts),
        last_user_text=last_user,
        wants_reasoning=include,
        action=action,
        sse=query.get("alt") == "sse",
        include_thoughts=include,
    )


# ------------------------------------------------------------------------------------------------ render


def _usage(t: Totals, final: bool) -> dict[str, Any]:
    thoughts = t.reasoning_tokens
    cand = max(0, t.output_tokens - thoughts)
    u: dict[str, Any] = {"promptTokenCount": t.input_tokens}
    if final:
        u["candidatesTokenCount"] = cand
    u["totalTokenCount"] = t.input_tokens + (cand if final else 0) + thoughts
    u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": t.input_tokens}]
    if thoughts:
        u["thoughtsTokenCount"] = thoughts
    if t.cache_read_tokens:
        u["cachedContentTokenCount"] = t.cache_read_tokens
    return u


def _args(call: ToolCall) -> dict[str, Any]:
    try:
        v = json.loads(call.arguments) if call.arguments else {}
    except ValueError:
        raise ScriptError(f"ToolCall {call.name!r}: Gemini function call args must be JSON") from None
    if not isinstance(v, dict):
        raise ScriptError(f"ToolCall {call.name!r}: Gemini function call args must be an object")
    return v


def _call_parts(calls: list[ToolCall], seed: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, c in enumerate(calls):
        fc: dict[str, Any] = {"name": c.name, "args": _args(c)}
        if c.id:
            fc["id"] = c.id
        part: dict[str, Any] = {"functionCall": fc}
        if i == 0:
            part["thoughtSignature"] = issue_signature(f"{seed}:{c.name}")
        out.append(part)
    return out


def render(script: Script, inp: GeminiInput, seq: int) -> Reply:
    model = script.model or inp.model
    rid = script.id or f"simGemini{seq:06d}"
    t = totals(script, inp)
    has_calls = any(isinstance(s, (ToolCall, Parallel)) for s in script.steps)
    finish = script.finish
    reason = _FINISH.get(finish, finish) if finish else "STOP"
    chunks: list[list[dict[str, Any]]] = []  # parts per chunk
    ops_at: list[list[Op]] = []  # transport ops before each chunk
    pending: list[Op] = []
    error: StreamError | None = None
    for s in script.steps:
        if isinstance(s, Text):
            for d in s.deltas:
                chunks.append([{"text": d}])
                ops_at.append(pending)
                pending = []
        elif isinstance(s, Reasoning):
            if inp.include_thoughts:
                for d in s.deltas:
                    chunks.append([{"text": d, "thought": True}])
                    ops_at.append(pending)
                    pending = []
        elif isinstance(s, ToolCall):
            chunks.append(_call_parts([s], f"{seq}:{len(chunks)}"))
            ops_at.append(pending)
            pending = []
        elif isinstance(s, Parallel):
            chunks.append(_call_parts(list(s.calls), f"{seq}:{len(chunks)}"))
            ops_at.append(pending)
            pending = []
        elif isinstance(s, (RedactedReasoning, Refusal, Ping)):
            raise ScriptError(f"{type(s).__name__} has no Gemini form")
        elif isinstance(s, Fixture):
            raise ScriptError("a Fixture step must be the only step of its script")
        elif isinstance(s, StreamError):
            error = s
            break
        elif isinstance(s, Comment):
            pending.append(CommentFrame(s.text))
        elif isinstance(s, (Raw, Delay, Drop, Hang)):
            pending.append(s)
    if not has_calls and model.startswith("gemini-3") and reason == "STOP" and error is None:
        chunks.append([{"text": "", "thoughtSignature": issue_signature(f"{seq}:text")}])
        ops_at.append(pending)
        pending = []
    base = {"modelVersion": model, "responseId": rid}
    if not inp.stream:
        parts: list[dict[str, Any]] = []
        for c in chunks:
            for p in c:
                prev = parts[-1] if parts else None
                if (prev is not None and "text" in p and "text" in prev and prev.get("thought") == p.get("thought")
                        and "thoughtSignature" not in prev):  # fmt: skip
                    prev["text"] += p["text"]
                    if "thoughtSignature" in p:
                        prev["thoughtSignature"] = p["thoughtSignature"]
                else:
                    parts.append(dict(p))
        body = {"candidates": [_candidate(parts, reason, True)], "usageMetadata": _usage(t, True), **base}
        before = [op for ops in ops_at for op in ops if isinstance(op, (Delay, Drop, Hang))]
        before += [op for op in pending if isinstance(op, (Delay, Drop, Hang))]
        return Reply(
            script.status, {**JSON_HEADERS, **script.headers}, body=dumps(body).encode(), before=before
        )
    if not chunks and error is None:
        chunks.append([{"text": ""}])
        ops_at.append([])
    objs: list[dict[str, Any]] = []
    for i, c in enumerate(chunks):
        last = i == len(chunks) - 1 and error is None
        objs.append({"candidates": [_candidate(c, reason if last else None, last)], "usageMetadata": _usage(t, last),
                     **base})  # fmt: skip
    ops: list[Op] = []
    if inp.sse:
        for i, o in enumerate(objs):
            ops.extend(ops_at[i])
            ops.append(Event(dumps(o)))
        ops.extend(pending)
        if error is not None:
            ops.append(Event(dumps(error_body(500, error.message, error.code or "INTERNAL"))))
        return Reply(script.status, {**SSE_HEADERS, **script.headers}, ops=ops)
    first = True
    for i, o in enumerate(objs):
        ops.extend(op for op in ops_at[i] if not isinstance(op, CommentFrame))
        ops.append(Raw((b"[" if first else b",\r\n") + dumps(o).encode()))
        first = False
    ops.extend(op for op in pending if not isinstance(op, CommentFrame))
    if error is not None:
        err = dumps(error_body(500, error.message, error.code or "INTERNAL")).encode()
        ops.append(Raw((b"[" if first else b",\r\n") + err))
    ops.append(Raw(b"]"))
    return Reply(script.status, {**JSON_HEADERS, **script.headers}, ops=ops)


def _candidate(parts: list[dict[str, Any]], reason: str | None, final: bool) -> dict[str, Any]:
    c: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {}, "index": 0}
    if reason is not None:
        c["finishReason"] = reason
        if reason == "SAFETY":
            c["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
                                   "blocked": True}]  # fmt: skip
        if any("functionCall" in p for p in parts):
            c["finishMessage"] = "Model generated function call(s)."
    return c


# ------------------------------------------------------------------------------------------ other methods


def count_tokens_body(tokens: int) -> dict[str, Any]:
    return {"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}


def model_json(model: str) -> dict[str, Any]:
    return {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "description": f"Simulated {model}",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


def models_answer(path: str, models: list[str]) -> tuple[int, dict[str, Any]]:
    tail = path.rsplit("/models", 1)[1]
    if tail in ("", "/"):
        return 200, {"models": [model_json(m) for m in models]}
    name = tail.lstrip("/")
    if name in models:
        return 200, model_json(name)
    return 404, error_body(404, f"models/{name} is not found for API version v1beta, or is not supported for "
                                "generateContent. Call ModelService.ListModels to see the list of available "
                                "models and their supported methods.", "NOT_FOUND")  # fmt: skip


def now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------------- registration


def _is_chat(path: str) -> bool:
    m = _PATH.search(path)
    return m is not None and m.group(2) != "countTokens"


def _count_tokens_route(rec: RecordedRequest) -> tuple[int, dict[str, Any]]:
    try:
        inp = parse(rec.path, rec.query, rec.json)
    except Invalid as e:
        return 400, _invalid_body(e)
    return 200, count_tokens_body(max(1, count_tokens(inp.prompt_text)))


def _invalid_body(e: Invalid) -> dict[str, Any]:
    return error_body(400, e.message, "INVALID_ARGUMENT")


def _model_missing(name: str) -> dict[str, Any]:
    return models_answer(f"/v1beta/models/{name}", [])[1]


DIALECT = register(
    Dialect(
        name="gemini",
        chat_paths=(),
        chat_match=_is_chat,
        parse=lambda body: parse("/models/x:generateContent", {}, body),
        parse_recorded=lambda rec: parse(rec.path, rec.query, rec.json),
        render=lambda script, inp, ctx: render(script, inp, ctx.seq),  # type: ignore[arg-type]
        invalid=_invalid_body,
        unauthorized=lambda key, seq: key_error()[1],
        unauthorized_status=400,
        routes={("POST", ":countTokens"): _count_tokens_route},
        models_wanted=lambda rec: is_gemini_get(rec.method, rec.path, rec.headers, rec.query),
        model_object=lambda model, now: model_json(model),
        model_list=lambda objs, ids: {"models": objs},
        model_missing=_model_missing,
    )
)
