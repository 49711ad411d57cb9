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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, assert_never

import orjson

from ..config_types import ConfigPath, ErrorRule, ProviderConfig
from ..core.errors import GatewayError, invalid
from ..core.events import Event, Finish, ResponseStart, UsageEvent
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
from .base import Account, ModelInfo
from .http_json import JsonHttpProvider, WireRequest
from .registry import register_provider
from .stream_parser import JsonStreamParser

if TYPE_CHECKING:
    import aiohttp

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


def _call_part(p: ToolCallPart, pf: str, role: str, calls: _Calls) -> tuple[dict[str, Any], str | None]:
    """A tool call as a ``functionCall`` part, and the thought signature it carries (if any)."""
    if role != "model":
        raise invalid(f"A tool call ({pf}) can only appear in an assistant message.", pf)
    gid, sig = calls.call(p)
    fc: dict[str, Any] = {"name": p.name, "args": _args_object(p.arguments)}
    if gid:
        fc["id"] = gid
    return {"functionCall": fc}, sig


def _result_parts(p: ToolResultPart, pf: str, calls: _Calls) -> list[dict[str, Any]]:
    """A tool result as a ``functionResponse`` part (Gemini needs the function's name), then its media."""
    name, gid = calls.result(p)
    if not name:
        raise invalid(f"The tool result in {pf} answers no known tool call ({p.tool_call_id!r}); "
                      "Gemini needs the function's name.", pf)  # fmt: skip
    media: list[dict[str, Any]] = []
    fr: dict[str, Any] = {"name": name, "response": _response_object(p, pf, media)}
    if gid:
        fr["id"] = gid
    return [{"functionResponse": fr}, *media]


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
            part, sig = _call_part(p, pf, role, calls)
            if sig is None and first_call and unsigned:
                sig = unsigned
            first_call = False
        elif isinstance(p, ToolResultPart):
            out.extend(_result_parts(p, pf, calls))
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


def _response_format(rf: dict[str, Any], gc: dict[str, Any]) -> None:
    """An OpenAI-style ``response_format`` as Gemini's JSON mode (``responseJsonSchema`` for a schema)."""
    t = rf.get("type")
    if t == "json_object":
        gc["responseMimeType"] = "application/json"
    elif t == "json_schema":
        js = rf.get("json_schema")
        schema = js.get("schema") if isinstance(js, dict) else None
        gc["responseMimeType"] = "application/json"
        if isinstance(schema, dict):
            gc["responseJsonSchema"] = schema


def _openai_extras(extra: dict[str, Any], gc: dict[str, Any]) -> None:
    """An OpenAI client's ``n`` and penalties, which Gemini has too."""
    n = extra.get("n")
    if isinstance(n, int) and n > 1:
        gc["candidateCount"] = n
    for src, dst in (("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if isinstance(extra.get(src), (int, float)):
            gc[dst] = extra[src]


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
    if req.response_format is not None and req.origin != NAME:
        _response_format(req.response_format, gc)
    if req.origin == OPENAI_CHAT:
        _openai_extras(req.extra_for(OPENAI_CHAT), gc)
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


def _path_keys(path: str) -> list[str | int]:
    """``$.a.b[0][1]`` -> ``["a", "b", 0, 1]``."""
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
    return keys


def _has_slot(cur: Any, k: str | int) -> bool:
    """Whether ``cur`` can hold key ``k`` (a list is grown to hold index ``k``)."""
    if isinstance(k, int):
        if not isinstance(cur, list):
            return False
        while len(cur) <= k:
            cur.append(None)
        return True
    return isinstance(cur, dict)


def _set_path(root: dict[str, Any], path: str, value: Any, append: bool) -> None:
    """Set ``$.a.b[0]`` in ``root`` (strings continue when ``append``)."""
    keys = _path_keys(path)
    cur: Any = root
    for i, k in enumerate(keys):
        if not _has_slot(cur, k):
            return
        old = cur[k] if isinstance(k, int) else cur.get(k)
        if i == len(keys) - 1:
            cur[k] = old + value if append and isinstance(old, str) and isinstance(value, str) else value
            return
        if not isinstance(old, (dict, list)):
            old = cur[k] = [] if isinstance(keys[i + 1], int) else {}
        cur = old


def _partial_value(pa: dict[str, Any]) -> tuple[bool, Any]:
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in pa:
            return True, pa[key]
    if "nullValue" in pa:
        return True, None
    return False, None


class GeminiStreamParser(JsonStreamParser):
    """``GenerateContentResponse`` chunks (candidate 0) -> hub events, built with the parts manager.

    Text and thought text are one part each while they continue (a run each); a function call is one part,
    given whole (or, on Vertex with streamed arguments, assembled from ``partialArgs`` and given when it
    ends). A ``thoughtSignature`` goes to the ``provider_details`` of the part it came on; for a client that
    does not speak Gemini a function call's signature is also sealed into the call's id."""

    end_marker: ClassVar[str | None] = "[DONE]"

    def __init__(self, model: str, *, seal_scope: str | None, sealer: Sealer | None) -> None:
        super().__init__()
        self.model = model
        self.seal_scope = seal_scope
        self.sealer = sealer
        self.run_index = -1
        """Hub index of the open text / thought run (the parts manager's run)."""
        self.details: dict[int, dict[str, Any]] = {}
        self.pending: dict[str, Any] | None = None
        """A function call being streamed with ``partialArgs`` (Vertex): name, args, signature, id."""
        self.has_calls = False
        self.finish_reason: str | None = None
        self.blocked = False
        self.usage: dict[str, Any] | None = None

    def _start(self, obj: dict[str, Any]) -> None:
        self.started = True
        rid = obj.get("responseId")
        self.parts.events.append(ResponseStart(str(rid) if rid else f"gemini-{uuid.uuid4().hex}",
                                               str(obj.get("modelVersion") or self.model), int(time.time())))  # fmt: skip

    def _close_open(self) -> None:
        if self.parts.run is not None:
            d = self.details.pop(self.run_index, None)
            self.parts.end(self.run_index, {NAME: d} if d else None)

    def _text(self, run: str, text: str, sig: str | None) -> None:
        parts = self.parts
        if parts.run != run:
            if not text and not sig:
                return
            self._close_open()
        elif not text:
            if sig:
                self.details.setdefault(self.run_index, {})["thoughtSignature"] = sig
            return
        self.run_index = parts.reasoning(text, run=run) if run == "reasoning" else parts.text(text, run=run)
        if sig:
            self.details.setdefault(self.run_index, {})["thoughtSignature"] = sig

    def _call(self, name: str, args: Any, gid: str | None, sig: str | None) -> None:
        self._close_open()
        self.has_calls = True
        details: dict[str, Any] = {"id": gid}
        if sig:
            details["thoughtSignature"] = sig
        if sig and self.seal_scope is not None and self.sealer is not None:
            cid = seal_call_id(self.sealer, self.seal_scope, sig, gid)
        else:
            cid = gid or f"call_{uuid.uuid4().hex[:24]}"
        idx = self.parts.start(ToolCallPart(cid, name, ""))
        self.parts.delta(idx, orjson.dumps(args if isinstance(args, dict) else {}).decode())
        self.parts.end(idx, {NAME: details})

    def _flush_pending(self) -> None:
        p = self.pending
        if p is not None:
            self.pending = None
            self._call(p["name"], p["args"], p["id"], p["sig"])

    def _partial_args(self, p: dict[str, Any], partial: Any) -> None:
        for pa in partial if isinstance(partial, list) else ():
            if isinstance(pa, dict) and isinstance(pa.get("jsonPath"), str):
                ok, v = _partial_value(pa)
                if ok:
                    key = pa["jsonPath"]
                    _set_path(p["args"], key, v, key in p["open"])
                    if pa.get("willContinue") is True:
                        p["open"].add(key)
                    else:
                        p["open"].discard(key)

    def _function_call(self, fc: dict[str, Any], sig: str | None) -> None:
        name = fc.get("name")
        cont = fc.get("willContinue") is True
        p = self.pending
        if p is not None and not name:
            self._partial_args(p, fc.get("partialArgs"))
            if not cont:
                self._flush_pending()
            return
        self._flush_pending()  # a new call started before the previous one ended
        if not isinstance(name, str) or not name:
            if fc:
                raise GatewayError("upstream", f"Upstream sent a function call without a name: {fc!r:.200}")
            return
        gid = fc.get("id") if isinstance(fc.get("id"), str) else None
        if cont:
            args = fc.get("args")
            self.pending = {"name": name, "args": dict(args) if isinstance(args, dict) else {}, "id": gid,
                            "sig": sig, "open": set()}  # fmt: skip
            return
        self._call(name, fc.get("args") or {}, gid, sig)

    def feed(self, obj: Any) -> list[Event]:
        self._feed(obj)
        return self.parts.take()

    def _feed(self, obj: Any) -> None:
        if isinstance(obj, list):  # a JSON-array body or element list
            for o in obj:
                if not self.done:
                    self._feed(o)
            return
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent a chunk that is not a JSON object: {obj!r:.200}")
        if not self.started:
            self._start(obj)
        if "error" in obj and "candidates" not in obj:
            self.parts.events.append(self.fail(error_from_wire(obj, "Upstream reported an error mid-stream")))
            return
        pf = obj.get("promptFeedback")
        if isinstance(pf, dict) and pf.get("blockReason") in BLOCK_REASONS | {"BLOCK_REASON_UNSPECIFIED"}:
            self.blocked = True
        cands = obj.get("candidates")
        for c in cands if isinstance(cands, list) else ():
            if isinstance(c, dict) and c.get("index", 0) == 0:
                self._candidate(c)
        u = obj.get("usageMetadata")
        if isinstance(u, dict):
            self.usage = u

    def _candidate(self, c: dict[str, Any]) -> None:
        content = c.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                self._part(part)
        fr = c.get("finishReason")
        if isinstance(fr, str):
            self.finish_reason = fr

    def _part(self, part: dict[str, Any]) -> None:
        sig = part.get("thoughtSignature")
        sig = sig if isinstance(sig, str) and sig else None
        fc = part.get("functionCall")
        if isinstance(fc, dict):
            self._function_call(fc, sig)
            return
        text = part.get("text")
        if isinstance(text, str):
            self._text("reasoning" if part.get("thought") is True else "text", text, sig)
            return
        inline = part.get("inlineData")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            self._close_open()
            self.parts.whole(ImagePart(data=inline["data"], media_type=inline.get("mimeType"),
                                       provider_details={NAME: {"thoughtSignature": sig}} if sig else None))  # fmt: skip
            return
        if sig:  # a signature on a part of its own
            self._text(self.parts.run or "text", "", sig)
        # executableCode / codeExecutionResult and other server-side parts are not translated

    def close(self, complete: bool = False) -> list[Event]:
        """End of the upstream answer: close parts, usage, then ``Finish`` (or an error if a stream was cut
        off: ``complete`` is for a whole, non-streamed answer)."""
        if self.done:
            return self.parts.take()
        if not self.started:
            raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                               code="upstream_empty")  # fmt: skip
        self._flush_pending()
        self._close_open()
        out = self.parts.take()
        if self.usage is not None:
            out.append(UsageEvent(usage_from_wire(self.usage)))
        if self.finish_reason is None and not self.blocked and not complete:
            out.append(self.fail(GatewayError("upstream", "Upstream stream ended before the response was complete",
                                              code="upstream_disconnected")))  # fmt: skip
            return out
        reason: FinishReason = (
            "content_filter" if self.blocked else finish_in(self.finish_reason, self.has_calls)
        )
        out.append(Finish(reason))
        self.done = True
        return out

    def abort(self, error: GatewayError) -> list[Event]:
        """The body broke: the call being assembled and the open run are closed, then the error."""
        self._flush_pending()
        self._close_open()
        out = self.parts.take()
        out.append(self.fail(error))
        return out


def response_events(obj: Any, model: str, *, seal_scope: str | None, sealer: Sealer | None) -> list[Event]:
    """A non-streamed ``generateContent`` answer as the event sequence a stream would give."""
    if not isinstance(obj, dict) or ("candidates" not in obj and "promptFeedback" not in obj):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    p = GeminiStreamParser(model, seal_scope=seal_scope, sealer=sealer)
    events = p.feed(obj)
    if p.failed:
        return events
    return events + p.close(complete=True)


# ------------------------------------------------------------------------------------------ provider

OPTIONS = ("api_version", "vertex", "tool_schema", "unsigned_calls")


@dataclass(frozen=True, slots=True)
class GeminiOptions:
    api_version: str | None = None
    """``None``: from ``base_url`` (a trailing ``/v1beta``), else ``v1beta`` (``v1`` on Vertex)."""
    vertex: bool = False
    tool_schema: str = "convert"
    unsigned_calls: str = "omit"


def _choice(opts: dict[str, Any], key: str, default: str, allowed: tuple[str, ...], where: ConfigPath) -> str:
    v = opts.get(key, default)
    if not isinstance(v, str) or v not in allowed:
        raise where.error(f"options.{key}", f"must be one of: {', '.join(allowed)}")
    return v


def gemini_options(config: ProviderConfig, where: ConfigPath) -> GeminiOptions:
    """The ``options`` of a ``gemini`` provider (see the module doc); errors name the key and its line."""
    opts = config.options
    for k in opts:
        if k not in OPTIONS:
            raise where.error(f"options.{k}", f"unknown option (expected one of: {', '.join(OPTIONS)})")
    vertex = opts.get("vertex", False)
    if not isinstance(vertex, bool):
        raise where.error("options.vertex", "must be true or false")
    version = opts.get("api_version")
    if version is not None and (not isinstance(version, str) or not version or "/" in version):
        raise where.error("options.api_version", "must be an API version such as v1beta or v1")
    return GeminiOptions(version, vertex, _choice(opts, "tool_schema", "convert", ("convert", "json_schema"), where),
                         _choice(opts, "unsigned_calls", "omit", ("omit", "skip"), where))  # fmt: skip


class GeminiProvider(JsonHttpProvider):
    dialect = NAME
    auth_style = "x-goog-api-key"
    lower_headers = True
    stream_framing = "sse"
    """The translating path asks for ``alt=sse``; the pass-through keeps the client's framing."""

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        options = gemini_options(config, ConfigPath(f"providers.{config.name}"))
        base = (config.base_url or (VERTEX_BASE_URL if options.vertex else DEFAULT_BASE_URL)).rstrip("/")
        version = options.api_version or ("v1" if options.vertex else DEFAULT_VERSION)
        for suffix in ("/v1beta", "/v1alpha", "/v1"):
            if base.endswith(suffix) and options.api_version is None:
                base, version = base[: -len(suffix)], suffix[1:]
                break
        self.base = base
        self.version = version
        self.prefix = f"{base}/{version}/" + ("publishers/google/models/" if options.vertex else "models/")
        self.schema_mode = options.tool_schema
        self.unsigned = SKIP_SIGNATURE if options.unsigned_calls == "skip" else None
        self.query_key = self.auth.lower() == "query"
        key = config.api_keys[0] if config.api_keys else None
        self.models_url = (
            self.prefix.rstrip("/") + "?pageSize=1000" + (f"&key={key}" if self.query_key and key else "")
        )
        self.sealer = default_sealer()
        # Google answers a wrong key with 400 INVALID_ARGUMENT / API_KEY_INVALID: an account problem
        self.rules.insert(0, ErrorRule(kind="upstream", status=502, match="API_KEY_INVALID", upstream_status=400,
                                       code="upstream_auth_failed"))  # fmt: skip

    def base_headers(self) -> dict[str, str]:
        return {"content-type": "application/json", **{k.lower(): v for k, v in self.config.headers.items()}}

    def auth_header(self, key: str | None) -> tuple[str, str] | None:
        return None if self.query_key else super().auth_header(key)

    def url(self, model: str, method: str, account: Account, sse: bool = False) -> str:
        u = f"{self.prefix}{model}:{method}"
        q: list[str] = []
        if sse:
            q.append("alt=sse")
        if self.query_key and account.api_key:
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
        return await self.send(self.url(model, method, account, sse=sse), orjson.dumps(body),
                               self.headers(account, False), self.proxy(account))  # fmt: skip

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        body = build_body(req, model, scope=self.name, sealer=self.sealer, schema_mode=self.schema_mode,
                          unsigned=self.unsigned)  # fmt: skip
        method = "streamGenerateContent" if req.stream else "generateContent"
        return WireRequest(self.url(model, method, account, sse=req.stream), orjson.dumps(body),
                           self.headers(account, req.stream))  # fmt: skip

    def _seal_scope(self, req: ChatRequest) -> str | None:
        return None if req.origin == NAME else self.name

    def stream_parser(self, req: ChatRequest, model: str) -> GeminiStreamParser:
        return GeminiStreamParser(model, seal_scope=self._seal_scope(req), sealer=self.sealer)

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        return response_events(obj, model, seal_scope=self._seal_scope(req), sealer=self.sealer)

    def model_list(self, doc: Any) -> list[ModelInfo]:
        """Google's ``{"models": [{"name": "models/...", ...}]}``, only models that generate content."""
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
            extra = {k: m[k] for k in ("inputTokenLimit", "outputTokenLimit", "thinking") if k in m}
            found.append(ModelInfo(m["name"].rsplit("/", 1)[-1], m.get("displayName"), extra=extra))
        return found


register_provider("gemini", GeminiProvider, wire=NAME, options=gemini_options)
