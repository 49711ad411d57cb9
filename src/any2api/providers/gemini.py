"""The Gemini upstream (``type: gemini``): hub -> ``generateContent`` request; Gemini JSON / SSE -> hub events.

Configuration: ``base_url`` is the host root as Google's SDKs take it (default
``https://generativelanguage.googleapis.com``; a trailing ``/v1beta`` is read as the API version), the key
goes in ``x-goog-api-key`` (``auth_header: bearer`` for an access token, ``query`` for ``?key=``).
``options``: ``api_version`` (default ``v1beta``), ``vertex: true`` for Vertex AI's express-mode shape
(``/v1/publishers/google/models/...`` on ``aiplatform.googleapis.com``), ``tool_schema`` (``convert``, the
default, turns client JSON Schemas into Gemini's OpenAPI subset; ``json_schema`` sends them whole as
``parametersJsonSchema``), ``unsigned_calls`` (``omit``, the default, sends a function call without a
thought signature as it is; ``skip`` marks it with Google's documented validator-skip value, for histories
that came from other models).

Thought signatures: a signature is kept in the hub part's ``provider_details["gemini"]``. A client that does
not speak Gemini gets the signature of a function call sealed into the call's id (``call_a2s1_...``, see
``wire/gemini.py``); when the id comes back it is unsealed and the signature restored. An id that does not
open (another gateway's, altered, or made for another provider) restores nothing: the call goes without a
signature rather than with a wrong one.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, assert_never

import orjson

from ..config import ErrorRule
from ..core.errors import GatewayError, invalid
from ..core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
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
from ..core.request import ChatRequest
from ..core.response import FinishReason
from ..core.seal import Sealer, default_sealer
from ..sse import SSEDecoder
from ..upstream import iter_body, read_body
from ..wire.gemini import (
    BLOCK_REASONS,
    NAME,
    error_from_wire,
    finish_in,
    gemini_details,
    seal_call_id,
    to_gemini_schema,
    unseal_call_id,
    usage_from_wire,
)
from ..wire.openai_chat import NAME as OPENAI_CHAT
from .base import Account, ModelInfo, Provider, register

if TYPE_CHECKING:
    import aiohttp

    from ..config import ProviderConfig
    from ..upstream import Upstream

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
VERTEX_BASE_URL = "https://aiplatform.googleapis.com"
DEFAULT_VERSION = "v1beta"
SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented value for a function call whose signature is unknown (history from another model)."""

THINKING_BUDGETS: dict[str, int] = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768,
                                    "max": 32768}  # fmt: skip
"""Reasoning effort -> ``thinkingBudget`` (Gemini 2.5 models)."""


# ------------------------------------------------------------------------------------- hub -> request


def _data_url(url: str) -> tuple[str | None, str]:
    head, _, data = url.partition(",")
    return head[5:].split(";")[0] or None, data


def _media_part(p: ImagePart | FilePart, field: str) -> dict[str, Any]:
    if isinstance(p, FilePart) and p.text is not None:
        return {"text": p.text}
    data = p.data
    mime = p.media_type
    if data is not None and data.startswith("data:"):
        m, data = _data_url(data)
        mime = mime or m
    if data is None and p.url and p.url.startswith("data:"):
        mime2, data = _data_url(p.url)
        mime = mime or mime2
    if data is not None:
        default = "image/png" if isinstance(p, ImagePart) else "application/pdf"
        return {"inlineData": {"mimeType": mime or default, "data": data}}
    uri = p.url or (p.file_id if isinstance(p, FilePart) else None)
    if not uri:
        raise invalid(f"The {p.kind} in {field} has neither data nor a URL.", field, "invalid_value")
    guessed = mimetypes.guess_type(uri)[0]
    fd: dict[str, Any] = {"fileUri": uri}
    fd["mimeType"] = mime or guessed or ("image/jpeg" if isinstance(p, ImagePart) else "application/pdf")
    return {"fileData": fd}


def _args_object(arguments: str) -> dict[str, Any]:
    s = arguments.strip()
    if not s:
        return {}
    try:
        v = orjson.loads(s)
    except orjson.JSONDecodeError:
        return {"_raw_arguments": arguments}
    return v if isinstance(v, dict) else {"_raw_arguments": arguments}


def _response_object(p: ToolResultPart, field: str, media: list[dict[str, Any]]) -> dict[str, Any]:
    raw = gemini_details(p).get("response")
    if isinstance(raw, dict):
        return raw
    if isinstance(p.content, str):
        text = p.content
    else:
        texts: list[str] = []
        for j, c in enumerate(p.content):
            if isinstance(c, TextPart):
                texts.append(c.text)
            elif isinstance(c, ImagePart | FilePart):
                media.append(_media_part(c, f"{field}.content[{j}]"))
            else:
                raise invalid(f"A tool result ({field}) cannot contain {c.kind!r} content.", field)
        text = "".join(texts)
    if p.is_error:
        return {"error": text}
    s = text.strip()
    if s[:1] == "{":
        try:
            v = orjson.loads(s)
        except orjson.JSONDecodeError:
            v = None
        if isinstance(v, dict):
            return v
    return {"result": text}


class _Calls:
    """Tool call ids of the history -> (function name, Gemini call id, thought signature)."""

    def __init__(self, scope: str, sealer: Sealer) -> None:
        self.scope = scope
        self.sealer = sealer
        self.by_id: dict[str, tuple[str, str | None]] = {}

    def call(self, p: ToolCallPart) -> tuple[str | None, str | None]:
        """(Gemini call id, signature) for a call of the history."""
        d = gemini_details(p)
        if d:
            gid = d.get("id") if isinstance(d.get("id"), str) else None
            sig = d.get("thoughtSignature") if isinstance(d.get("thoughtSignature"), str) else None
        else:
            sig, gid = unseal_call_id(self.sealer, self.scope, p.id)
        self.by_id[p.id] = (p.name, gid)
        return gid, sig

    def result(self, p: ToolResultPart) -> tuple[str | None, str | None]:
        """(function name, Gemini call id) for a tool result."""
        found = self.by_id.get(p.tool_call_id)
        d = gemini_details(p)
        gid = d.get("id") if isinstance(d.get("id"), str) else None
        if found is not None:
            return p.name or found[0], gid or found[1]
        if gid is None:
            _, gid = unseal_call_id(self.sealer, self.scope, p.tool_call_id)
        return p.name, gid


def _parts(
    parts: list[Part], field: str, role: str, calls: _Calls, unsigned: str | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    first_call = True
    for j, p in enumerate(parts):
        pf = f"{field}[{j}]"
        d = gemini_details(p)
        sig = d.get("thoughtSignature") if isinstance(d.get("thoughtSignature"), str) else None
        if isinstance(p, TextPart):
            if not p.text and not sig:
                continue
            part: dict[str, Any] = {"text": p.text}
        elif isinstance(p, ReasoningPart):
            if not d or role != "model":
                continue  # reasoning from another model (or without Gemini's marks): Gemini ignores it anyway
            part = {"text": p.text, "thought": True}
        elif isinstance(p, ImagePart | FilePart):
            part = _media_part(p, pf)
        elif isinstance(p, ToolCallPart):
            if role != "model":
                raise invalid(f"A tool call ({pf}) can only appear in an assistant message.", pf)
            gid, sig = calls.call(p)
            fc: dict[str, Any] = {"name": p.name, "args": _args_object(p.arguments)}
            if gid:
                fc["id"] = gid
            part = {"functionCall": fc}
            if sig is None and first_call and unsigned:
                sig = unsigned
            first_call = False
        elif isinstance(p, ToolResultPart):
            name, gid = calls.result(p)
            if not name:
                raise invalid(f"The tool result in {pf} answers no known tool call ({p.tool_call_id!r}); "
                              "Gemini needs the function's name.", pf)  # fmt: skip
            media: list[dict[str, Any]] = []
            fr: dict[str, Any] = {"name": name, "response": _response_object(p, pf, media)}
            if gid:
                fr["id"] = gid
            out.append({"functionResponse": fr})
            out.extend(media)
            continue
        elif isinstance(p, ServerToolCallPart | ServerToolResultPart):
            raise unsupported_server_tool(p, "Gemini", pf)
        else:
            assert_never(p)
        if sig:
            part["thoughtSignature"] = sig
        out.append(part)
    return out


def build_contents(
    req: ChatRequest, scope: str, sealer: Sealer, unsigned: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instruction parts, contents). Tool results go in a user turn; turns of one role merge."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    calls = _Calls(scope, sealer)
    for i, m in enumerate(req.messages):
        field = f"messages[{i}]"
        if m.role in ("system", "developer"):
            for j, p in enumerate(m.parts):
                if not isinstance(p, TextPart):
                    raise invalid(
                        f"A {m.role} message ({field}) may only contain text.", f"{field}.content[{j}]"
                    )
                if p.text:
                    system.append({"text": p.text})
            continue
        role = "model" if m.role == "assistant" else "user"
        parts = _parts(m.parts, f"{field}.content", role, calls, unsigned)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _thinking(req: ChatRequest, model: str) -> dict[str, Any] | None:
    r = req.reasoning
    if r is None:
        return None
    gemini3 = "gemini-3" in model
    if r.enabled is False or r.effort == "none":
        if gemini3:
            return {"thinkingLevel": "minimal" if "flash" in model else "low"}
        return {"thinkingBudget": 0}
    out: dict[str, Any] = {"includeThoughts": True}
    if r.budget_tokens is not None:
        out["thinkingBudget"] = r.budget_tokens
    elif r.effort:
        if gemini3:
            flash = "flash" in model
            level = {"minimal": "minimal" if flash else "low", "low": "low",
                     "medium": "medium" if flash else "high"}.get(r.effort, "high")  # fmt: skip
            out["thinkingLevel"] = level
        else:
            out["thinkingBudget"] = THINKING_BUDGETS.get(r.effort, THINKING_BUDGETS["medium"])
    return out


def _tool_declaration(t: Any, schema_mode: str) -> dict[str, Any]:
    own = gemini_details(t)
    decl: dict[str, Any] = {"name": t.name}
    if t.description:
        decl["description"] = t.description
    if "parameters" in own or "parametersJsonSchema" in own:  # a Gemini client's own declaration
        for k in ("parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"):
            if k in own:
                decl[k] = own[k]
        return decl
    params = t.parameters or {}
    if schema_mode == "json_schema":
        if params:
            decl["parametersJsonSchema"] = params
        return decl
    conv = to_gemini_schema(params) if params else {}
    if conv.get("type") == "object" and not conv.get("properties"):
        return decl  # no parameters: Gemini rejects an OBJECT schema without properties
    if conv:
        decl["parameters"] = conv
    return decl


def _camel(key: str) -> str:
    """``max_output_tokens`` -> ``maxOutputTokens`` (Google takes both; one spelling per field is sent)."""
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _generation_config(req: ChatRequest, model: str, own: dict[str, Any]) -> dict[str, Any]:
    raw = own.get("generationConfig")
    gc: dict[str, Any] = {_camel(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
    for hub, key in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"),
                     ("max_tokens", "maxOutputTokens"), ("seed", "seed")):  # fmt: skip
        v = getattr(req, hub)
        if v is not None:
            gc[key] = v
    if req.stop:
        gc["stopSequences"] = list(req.stop)
    rf = req.response_format
    if rf is not None and req.origin != NAME:
        t = rf.get("type")
        if t == "json_object":
            gc["responseMimeType"] = "application/json"
        elif t == "json_schema":
            js = rf.get("json_schema")
            schema = js.get("schema") if isinstance(js, dict) else None
            gc["responseMimeType"] = "application/json"
            if isinstance(schema, dict):
                gc["responseJsonSchema"] = schema
    if req.origin == OPENAI_CHAT:
        extra = req.extra_for(OPENAI_CHAT)
        n = extra.get("n")
        if isinstance(n, int) and n > 1:
            gc["candidateCount"] = n
        for src, dst in (("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
            if isinstance(extra.get(src), (int, float)):
                gc[dst] = extra[src]
    if "thinkingConfig" not in gc:
        thinking = _thinking(req, model)
        if thinking is not None:
            gc["thinkingConfig"] = thinking
    if isinstance(gc.get("candidateCount"), int) and gc["candidateCount"] > 1:
        raise invalid("More than one candidate is only supported when the client speaks Gemini and the "
                      "upstream is passed through.", "generationConfig.candidateCount", "unsupported_value")  # fmt: skip
    return gc


def build_body(
    req: ChatRequest, model: str, *, scope: str, sealer: Sealer, schema_mode: str = "convert",
    unsigned: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The ``generateContent`` body for a hub request."""
    own = req.extra_for(NAME)
    system, contents = build_contents(req, scope, sealer, unsigned)
    if not contents:
        raise invalid("The request has no message for the model (only system text).", "messages")
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if req.tools:
        decls = [_tool_declaration(t, schema_mode) for t in req.tools]
        body["tools"] = [{"functionDeclarations": decls}]
    tc = req.tool_choice
    raw_tc = own.get("toolConfig")
    if isinstance(raw_tc, dict):
        body["toolConfig"] = raw_tc
    elif tc is not None and req.tools:
        fcc: dict[str, Any] = {
            "mode": {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[tc.mode]
        }
        if tc.mode == "tool" and tc.name:
            fcc["allowedFunctionNames"] = [tc.name]
        body["toolConfig"] = {"functionCallingConfig": fcc}
    gc = _generation_config(req, model, own)
    if gc:
        body["generationConfig"] = gc
    for k in ("safetySettings", "cachedContent", "labels", "serviceTier"):
        if k in own:
            body[k] = own[k]
    return body


# ------------------------------------------------------------------------------------ response -> hub


def _set_path(root: dict[str, Any], path: str, value: Any, append: bool) -> None:
    """Set ``$.a.b[0]`` in ``root`` (strings continue when ``append``)."""
    keys: list[str | int] = []
    for seg in path.lstrip("$").split("."):
        if not seg:
            continue
        name, _, rest = seg.partition("[")
        if name:
            keys.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            if idx.isdigit():
                keys.append(int(idx))
            rest = rest.lstrip("[")
    if not keys:
        return
    cur: Any = root
    for k, nxt in zip(keys, [*keys[1:], None], strict=True):
        last = nxt is None
        if isinstance(k, int):
            if not isinstance(cur, list):
                return
            while len(cur) <= k:
                cur.append(None)
            if last:
                cur[k] = (
                    (cur[k] + value)
                    if append and isinstance(cur[k], str) and isinstance(value, str)
                    else value
                )
            else:
                if not isinstance(cur[k], (dict, list)):
                    cur[k] = [] if isinstance(nxt, int) else {}
                cur = cur[k]
        else:
            if not isinstance(cur, dict):
                return
            if last:
                old = cur.get(k)
                cur[k] = (
                    (old + value) if append and isinstance(old, str) and isinstance(value, str) else value
                )
            else:
                if not isinstance(cur.get(k), (dict, list)):
                    cur[k] = [] if isinstance(nxt, int) else {}
                cur = cur[k]


def _partial_value(pa: dict[str, Any]) -> tuple[bool, Any]:
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in pa:
            return True, pa[key]
    if "nullValue" in pa:
        return True, None
    return False, None


class GeminiStreamParser:
    """``GenerateContentResponse`` chunks (candidate 0) -> hub events.

    Text and thought text are one part each while they continue; a function call is one part, given whole
    (or, on Vertex with streamed arguments, assembled from ``partialArgs`` and given when it ends). A
    ``thoughtSignature`` goes to the ``provider_details`` of the part it came on; for a client that does not
    speak Gemini a function call's signature is also sealed into the call's id."""

    def __init__(self, model: str, *, seal_scope: str | None, sealer: Sealer | None) -> None:
        self.model = model
        self.seal_scope = seal_scope
        self.sealer = sealer
        self.started = False
        self.next = 0
        self.open_kind: str | None = None
        self.open_index = -1
        self.details: dict[int, dict[str, Any]] = {}
        self.pending: dict[str, Any] | None = None
        """A function call being streamed with ``partialArgs`` (Vertex): name, args, signature, id."""
        self.has_calls = False
        self.finish_reason: str | None = None
        self.blocked = False
        self.usage: dict[str, Any] | None = None

    def _start(self, obj: dict[str, Any], out: list[Event]) -> None:
        self.started = True
        rid = obj.get("responseId")
        out.append(ResponseStart(str(rid) if rid else f"gemini-{uuid.uuid4().hex}",
                                 str(obj.get("modelVersion") or self.model), int(time.time())))  # fmt: skip

    def _close_open(self, out: list[Event]) -> None:
        if self.open_kind is not None:
            d = self.details.pop(self.open_index, None)
            out.append(PartEnd(self.open_index, {NAME: d} if d else None))
            self.open_kind = None

    def _text(self, kind: str, text: str, sig: str | None, out: list[Event]) -> None:
        if self.open_kind != kind:
            if not text and not sig:
                return
            self._close_open(out)
            idx = self.next
            self.next += 1
            self.open_kind, self.open_index = kind, idx
            out.append(PartStart(idx, ReasoningPart(text) if kind == "thought" else TextPart(text)))
        elif text:
            out.append(PartDelta(self.open_index, text))
        if sig:
            self.details.setdefault(self.open_index, {})["thoughtSignature"] = sig

    def _call(self, name: str, args: Any, gid: str | None, sig: str | None, out: list[Event]) -> None:
        self._close_open(out)
        self.has_calls = True
        idx = self.next
        self.next += 1
        details: dict[str, Any] = {"id": gid}
        if sig:
            details["thoughtSignature"] = sig
        if sig and self.seal_scope is not None and self.sealer is not None:
            cid = seal_call_id(self.sealer, self.seal_scope, sig, gid)
        else:
            cid = gid or f"call_{uuid.uuid4().hex[:24]}"
        out.append(PartStart(idx, ToolCallPart(cid, name, "")))
        out.append(PartDelta(idx, orjson.dumps(args if isinstance(args, dict) else {}).decode()))
        out.append(PartEnd(idx, {NAME: details}))

    def _function_call(self, fc: dict[str, Any], sig: str | None, out: list[Event]) -> None:
        name = fc.get("name")
        partial = fc.get("partialArgs")
        cont = fc.get("willContinue") is True
        p = self.pending
        if p is not None and not name:
            if isinstance(partial, list):
                for pa in partial:
                    if isinstance(pa, dict) and isinstance(pa.get("jsonPath"), str):
                        ok, v = _partial_value(pa)
                        if ok:
                            key = pa["jsonPath"]
                            _set_path(p["args"], key, v, key in p["open"])
                            if pa.get("willContinue") is True:
                                p["open"].add(key)
                            else:
                                p["open"].discard(key)
            if not cont:
                self.pending = None
                self._call(p["name"], p["args"], p["id"], p["sig"], out)
            return
        if p is not None:  # a new call started before the previous one ended
            self.pending = None
            self._call(p["name"], p["args"], p["id"], p["sig"], out)
        if not isinstance(name, str) or not name:
            if fc:
                raise GatewayError("upstream", f"Upstream sent a function call without a name: {fc!r:.200}")
            return
        gid = fc.get("id") if isinstance(fc.get("id"), str) else None
        if cont:
            args = fc.get("args")
            self.pending = {
                "name": name,
                "args": dict(args) if isinstance(args, dict) else {},
                "id": gid,
                "sig": sig,
                "open": set(),
            }
            return
        self._call(name, fc.get("args") or {}, gid, sig, out)

    def feed(self, obj: Any) -> list[Event]:
        if isinstance(obj, list):  # a JSON-array body or element list
            return [e for o in obj for e in self.feed(o)]
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent a chunk that is not a JSON object: {obj!r:.200}")
        out: list[Event] = []
        if "error" in obj and "candidates" not in obj:
            if not self.started:
                self._start(obj, out)
            out.append(ErrorEvent(error_from_wire(obj, "Upstream reported an error mid-stream")))
            return out
        if not self.started:
            self._start(obj, out)
        pf = obj.get("promptFeedback")
        if isinstance(pf, dict) and pf.get("blockReason") in BLOCK_REASONS | {"BLOCK_REASON_UNSPECIFIED"}:
            self.blocked = True
        cands = obj.get("candidates")
        if isinstance(cands, list):
            for c in cands:
                if not isinstance(c, dict) or c.get("index", 0) != 0:
                    continue
                content = c.get("content")
                parts = content.get("parts") if isinstance(content, dict) else None
                for part in parts if isinstance(parts, list) else ():
                    if isinstance(part, dict):
                        self._part(part, out)
                fr = c.get("finishReason")
                if isinstance(fr, str):
                    self.finish_reason = fr
        u = obj.get("usageMetadata")
        if isinstance(u, dict):
            self.usage = u
        return out

    def _part(self, part: dict[str, Any], out: list[Event]) -> None:
        sig = part.get("thoughtSignature")
        sig = sig if isinstance(sig, str) and sig else None
        fc = part.get("functionCall")
        if isinstance(fc, dict):
            self._function_call(fc, sig, out)
            return
        text = part.get("text")
        if isinstance(text, str):
            self._text("thought" if part.get("thought") is True else "text", text, sig, out)
            return
        inline = part.get("inlineData")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            self._close_open(out)
            idx = self.next
            self.next += 1
            out.append(PartStart(idx, ImagePart(data=inline["data"], media_type=inline.get("mimeType"),
                                                provider_details={NAME: {"thoughtSignature": sig}} if sig else None)))  # fmt: skip
            out.append(PartEnd(idx))
            return
        if sig:  # a signature on a part of its own
            self._text(self.open_kind or "text", "", sig, out)
        # executableCode / codeExecutionResult and other server-side parts are not translated

    def close(self, complete: bool = True) -> list[Event]:
        """End of the upstream answer: close parts, usage, then ``Finish`` (or an error if it was cut off)."""
        out: list[Event] = []
        if not self.started:
            raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                               code="upstream_empty")  # fmt: skip
        if self.pending is not None:
            p, self.pending = self.pending, None
            self._call(p["name"], p["args"], p["id"], p["sig"], out)
        self._close_open(out)
        if self.usage is not None:
            out.append(UsageEvent(usage_from_wire(self.usage)))
        if self.finish_reason is None and not self.blocked and not complete:
            out.append(ErrorEvent(GatewayError("upstream", "Upstream stream ended before the response was complete",
                                               code="upstream_disconnected")))  # fmt: skip
            return out
        reason: FinishReason = (
            "content_filter" if self.blocked else finish_in(self.finish_reason, self.has_calls)
        )
        out.append(Finish(reason))
        return out


def response_events(obj: Any, model: str, *, seal_scope: str | None, sealer: Sealer | None) -> list[Event]:
    """A non-streamed ``generateContent`` answer as the event sequence a stream would give."""
    if not isinstance(obj, dict) or ("candidates" not in obj and "promptFeedback" not in obj):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    p = GeminiStreamParser(model, seal_scope=seal_scope, sealer=sealer)
    events = p.feed(obj)
    if any(isinstance(e, ErrorEvent) for e in events):
        return events
    return events + p.close()


# ------------------------------------------------------------------------------------------ provider


def _opt_str(config: ProviderConfig, key: str, default: str, allowed: tuple[str, ...] | None = None) -> str:
    v = config.options.get(key, default)
    if not isinstance(v, str) or (allowed is not None and v not in allowed):
        what = f"one of: {', '.join(allowed)}" if allowed else "a string"
        raise ValueError(f"providers.{config.name}.options.{key} must be {what}")
    return v


@register("gemini")
class GeminiProvider(Provider):
    dialect = NAME

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        vertex = config.options.get("vertex", False)
        if not isinstance(vertex, bool):
            raise ValueError(f"providers.{config.name}.options.vertex must be true or false")
        base = (config.base_url or (VERTEX_BASE_URL if vertex else DEFAULT_BASE_URL)).rstrip("/")
        version = _opt_str(config, "api_version", "v1" if vertex else DEFAULT_VERSION)
        for suffix in ("/v1beta", "/v1alpha", "/v1"):
            if base.endswith(suffix) and "api_version" not in config.options:
                base, version = base[: -len(suffix)], suffix[1:]
                break
        self.base = base
        self.version = version
        self.prefix = f"{base}/{version}/" + ("publishers/google/models/" if vertex else "models/")
        self.schema_mode = _opt_str(config, "tool_schema", "convert", ("convert", "json_schema"))
        unsigned = _opt_str(config, "unsigned_calls", "omit", ("omit", "skip"))
        self.unsigned = SKIP_SIGNATURE if unsigned == "skip" else None
        self.auth_style = (config.auth_header or "x-goog-api-key").lower()
        self._base_headers = {
            "content-type": "application/json",
            **{k.lower(): v for k, v in config.headers.items()},
        }
        self._auth_cache: dict[str | None, dict[str, str]] = {}
        self.sealer = default_sealer()
        # Google answers a wrong key with 400 INVALID_ARGUMENT / API_KEY_INVALID: an account problem
        self.rules.insert(0, ErrorRule(kind="upstream", status=502, match="API_KEY_INVALID", upstream_status=400,
                                       code="upstream_auth_failed"))  # fmt: skip

    def headers(self, account: Account) -> dict[str, str]:
        key = account.api_key
        h = self._auth_cache.get(key)
        if h is None:
            h = dict(self._base_headers)
            if key:
                if self.auth_style == "bearer":
                    h["authorization"] = f"Bearer {key}"
                elif self.auth_style not in ("none", "query"):
                    h[self.auth_style] = key
            if len(self._auth_cache) < 1024:
                self._auth_cache[key] = h
        return h

    def url(self, model: str, method: str, account: Account, sse: bool = False) -> str:
        u = f"{self.prefix}{model}:{method}"
        q: list[str] = []
        if sse:
            q.append("alt=sse")
        if self.auth_style == "query" and account.api_key:
            q.append(f"key={account.api_key}")
        return u + ("?" + "&".join(q) if q else "")

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """Pass-through: the client's own Gemini body, to this model, in the client's stream framing
        (``alt=sse`` in its query: SSE; else a JSON array)."""
        sse = stream and query is not None and query.get("alt") == "sse"
        method = "streamGenerateContent" if stream else "generateContent"
        url = self.url(model, method, account, sse=sse)
        return await self.post(url, orjson.dumps(body), self.headers(account), account.proxy)

    async def count_tokens(self, body: dict[str, Any], model: str, account: Account) -> Any:
        """``countTokens`` upstream with the client's own body (exact counts)."""
        resp = await self.post(self.url(model, "countTokens", account), orjson.dumps(body), self.headers(account),
                               account.proxy)  # fmt: skip
        try:
            raw = await read_body(resp, self.timeouts.idle)
        finally:
            resp.release()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise GatewayError("upstream", f"Upstream sent invalid JSON: {raw[:200]!r}") from None

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        body = build_body(req, model, scope=self.name, sealer=self.sealer, schema_mode=self.schema_mode,
                          unsigned=self.unsigned)  # fmt: skip
        seal_scope = None if req.origin == NAME else self.name
        method = "streamGenerateContent" if req.stream else "generateContent"
        resp = await self.post(self.url(model, method, account, sse=req.stream), orjson.dumps(body),
                               self.headers(account), account.proxy)  # fmt: skip
        try:
            if not req.stream:
                raw = await read_body(resp, self.timeouts.idle)
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise GatewayError("upstream", f"Upstream sent invalid JSON: {raw[:200]!r}") from None
                for e in response_events(obj, model, seal_scope=seal_scope, sealer=self.sealer):
                    yield e
                return
            async for e in self._stream_events(resp, model, seal_scope):
                yield e
        finally:
            resp.release()

    async def _stream_events(
        self, resp: aiohttp.ClientResponse, model: str, seal_scope: str | None
    ) -> AsyncGenerator[Event, None]:
        parser = GeminiStreamParser(model, seal_scope=seal_scope, sealer=self.sealer)
        decoder = SSEDecoder()
        try:
            async for chunk in iter_body(resp, self.timeouts.idle):
                if chunk is None:
                    continue
                for ev in decoder.feed(chunk):
                    for e in self._decode(parser, ev.data):
                        yield e
                        if isinstance(e, ErrorEvent):
                            return
            for ev in decoder.close():
                for e in self._decode(parser, ev.data):
                    yield e
                    if isinstance(e, ErrorEvent):
                        return
        except GatewayError as err:
            if not parser.started:
                raise
            for e in parser.close()[:-1]:
                if not isinstance(e, UsageEvent):
                    yield e
            yield ErrorEvent(err)
            return
        for e in parser.close(complete=False):
            yield e

    @staticmethod
    def _decode(parser: GeminiStreamParser, data: str) -> list[Event]:
        if not data or data == "[DONE]":
            return []
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise GatewayError(
                "upstream", f"Upstream sent invalid JSON in its stream: {data[:200]!r}"
            ) from None
        return parser.feed(obj)

    async def list_models(self) -> list[ModelInfo]:
        configured = [ModelInfo(m.id, m.display_name) for m in self.config.models]
        if not self.config.discover_models:
            return configured
        key = self.config.api_keys[0] if self.config.api_keys else None
        account = Account(
            id=f"{self.name}#discover", provider=self.name, api_key=key, proxy=self.config.proxy
        )
        url = self.prefix.rstrip("/") + "?pageSize=1000"
        if self.auth_style == "query" and key:
            url += f"&key={key}"
        doc = await self.get_json(url, self.headers(account), account.proxy, "models")
        data = doc.get("models") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise GatewayError("upstream", "Upstream models answer is not a Gemini model list")
        found: list[ModelInfo] = []
        for m in data:
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                continue
            methods = m.get("supportedGenerationMethods")
            if isinstance(methods, list) and "generateContent" not in methods:
                continue
            name = m["name"].rsplit("/", 1)[-1]
            extra = {k: m[k] for k in ("inputTokenLimit", "outputTokenLimit", "thinking") if k in m}
            found.append(ModelInfo(name, m.get("displayName"), extra=extra))
        known = {m.id for m in found}
        return found + [m for m in configured if m.id not in known]
