"""Hub response -> a Gemini ``GenerateContentResponse`` (and the parts both the whole answer and the
stream are made of)."""

from __future__ import annotations

import base64
import uuid
from typing import Any, assert_never

import orjson

from ...core.parts import (
    ImagePart,
    OutputPart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
)
from ...core.request import ChatRequest
from ...core.response import ChatResponse, FinishReason, Usage
from ...core.seal import default_sealer
from ...wire.gemini import FINISH_OUT, NAME, gemini_details, usage_to_wire
from .parse import REASONING_SCOPE


def args_object(arguments: str) -> dict[str, Any]:
    """A tool call's argument text as Gemini's ``args`` object (never anything but an object)."""
    s = arguments.strip()
    if not s:
        return {}
    try:
        v = orjson.loads(s)
    except orjson.JSONDecodeError:
        return {"_raw_arguments": arguments}
    return v if isinstance(v, dict) else {"_raw_arguments": arguments}


def _signature(p: OutputPart) -> str | None:
    sig = gemini_details(p).get("thoughtSignature")
    return sig if isinstance(sig, str) and sig else None


def reasoning_signature(p: ReasoningPart) -> str | None:
    """The ``thoughtSignature`` a thought part carries: Gemini's own, or another upstream's reasoning
    signature sealed (a Gemini client hands it back with the history, and it is restored)."""
    sig = _signature(p)
    if sig is not None:
        return sig
    if p.signature or p.redacted:
        payload = {"s": p.signature} if p.signature else {"r": p.redacted}
        # base64 of the sealed text: clients hold thoughtSignature as bytes (google-genai checks it decodes)
        return base64.b64encode(default_sealer().seal(REASONING_SCOPE, payload).encode()).decode()
    return None


def call_part(p: ToolCallPart) -> dict[str, Any]:
    d = gemini_details(p)
    fc: dict[str, Any] = {"name": p.name, "args": args_object(p.arguments)}
    gid = d.get("id") if NAME in (p.provider_details or {}) else p.id
    if isinstance(gid, str) and gid:
        fc["id"] = gid
    part: dict[str, Any] = {"functionCall": fc}
    sig = _signature(p)
    if sig:
        part["thoughtSignature"] = sig
    return part


def part_json(p: OutputPart, thoughts: bool) -> dict[str, Any] | None:
    """One hub output part as a Gemini part (``None``: nothing to show this client)."""
    if isinstance(p, TextPart):
        sig = _signature(p)
        if not p.text and not sig:
            return None
        out: dict[str, Any] = {"text": p.text}
        if sig:
            out["thoughtSignature"] = sig
        return out
    if isinstance(p, ReasoningPart):
        if not thoughts:
            return None
        out = {"text": p.text, "thought": True}
        sig = reasoning_signature(p)
        if sig:
            out["thoughtSignature"] = sig
        return out
    if isinstance(p, ToolCallPart):
        return call_part(p)
    if isinstance(p, ImagePart):
        if p.data is None:
            return (
                {"fileData": {"mimeType": p.media_type or "image/png", "fileUri": p.url}} if p.url else None
            )
        return {"inlineData": {"mimeType": p.media_type or "image/png", "data": p.data}}
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        return dict(p.data) if p.wire == NAME else None
    assert_never(p)


def finish_reason(reason: FinishReason | None) -> str:
    return FINISH_OUT[reason] if reason is not None else "STOP"


def candidate(parts: list[dict[str, Any]], reason: str | None) -> dict[str, Any]:
    c: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {}}
    if reason is not None:
        c["finishReason"] = reason
    c["index"] = 0
    return c


def response_json(resp: ChatResponse, req: ChatRequest, thoughts: bool) -> dict[str, Any]:
    parts = [j for j in (part_json(p, thoughts) for p in resp.parts) if j is not None]
    body: dict[str, Any] = {"candidates": [candidate(parts, finish_reason(resp.finish_reason))]}
    body["usageMetadata"] = usage_to_wire(resp.usage or Usage())
    body["modelVersion"] = resp.model or req.model
    body["responseId"] = resp.id or uuid.uuid4().hex
    return body


_LIMITS: tuple[tuple[str, int, int], ...] = (
    ("gemini-", 1_048_576, 65_536),
    ("claude-", 200_000, 64_000),
    ("deepseek-", 128_000, 8_192),
    ("gpt-", 128_000, 16_384),
)
"""Token limits shown in the model list, by name prefix (the gateway does not know the upstream's own)."""
_DEFAULT_LIMITS = (128_000, 8_192)


def _limits(mid: str) -> tuple[int, int]:
    for prefix, inp, out in _LIMITS:
        if mid.startswith(prefix):
            return inp, out
    return _DEFAULT_LIMITS


def model_json(mid: str, owner: str) -> dict[str, Any]:
    """A gateway model as Google's ``Model`` resource."""
    inp, out = _limits(mid.rsplit("/", 1)[-1])
    return {
        "name": f"models/{mid}",
        "version": "001",
        "displayName": mid,
        "description": f"{mid} through any2api (provider {owner})",
        "inputTokenLimit": inp,
        "outputTokenLimit": out,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }
