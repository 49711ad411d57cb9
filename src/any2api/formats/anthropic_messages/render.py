"""Hub responses -> Messages bodies; the model list in Anthropic's shape; the count_tokens answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
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
from ...core.response import ChatResponse, Usage
from ...core.seal import default_sealer
from ...wire.anthropic_messages import (
    NAME,
    anthropic_details,
    message_id,
    stop_reason,
    tool_input_json,
    usage_to_wire,
)
from ..base import ModelCard

DIRECT: dict[str, Any] = {"type": "direct"}
"""A tool call's ``caller``: the model itself (programmatic calls from code execution are the other kind)."""


def issue_signature(provider: str | None, thinking: str) -> str:
    """A signature for reasoning an upstream gave without one (DeepSeek, OpenAI-compatible reasoning): the
    reasoning sealed for the provider, so clients that require a signature get one and the next turn gets
    the reasoning back from it (``providers.openai_wire.reasoning_text``) with no server state."""
    return default_sealer().seal(provider or "", {"t": thinking})


def block_json(p: OutputPart) -> dict[str, Any] | None:
    """One output part as an Anthropic content block (``None`` for an empty text part)."""
    if isinstance(p, TextPart):
        if not p.text:
            return None
        return {"type": "text", "text": p.text, "citations": anthropic_details(p).get("citations")}
    if isinstance(p, ReasoningPart):
        if p.redacted:
            return {"type": "redacted_thinking", "data": p.redacted}
        if not p.text and not p.signature:
            return None
        b = {"type": "thinking", "thinking": p.text}
        if p.signature:
            b["signature"] = p.signature
        return b
    if isinstance(p, ToolCallPart):
        return {"type": "tool_use", "id": p.id, "name": p.name, "input": tool_input_json(p.arguments),
                "caller": DIRECT}  # fmt: skip
    if isinstance(p, ImagePart):
        if p.data is not None:
            return {"type": "image", "source": {"type": "base64", "media_type": p.media_type or "image/png",
                                                "data": p.data}}  # fmt: skip
        return {"type": "image", "source": {"type": "url", "url": p.url}} if p.url else None
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        # a server tool block goes back as the vendor made it; one from another wire format is left out
        return dict(p.data) if p.wire == NAME else None
    assert_never(p)


def render_response(resp: ChatResponse, req: ChatRequest) -> bytes:
    content = []
    for p in resp.parts:
        b = block_json(p)
        if b is None:
            continue
        if b["type"] == "thinking" and "signature" not in b:
            b["signature"] = issue_signature(resp.provider, b["thinking"])
        content.append(b)
    body: dict[str, Any] = {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": req.model or resp.model,  # the name the client asked for, not the upstream's
        "content": content,
        "stop_reason": stop_reason(resp.finish_reason, resp.stop_sequence),
        "stop_sequence": resp.stop_sequence,
        "stop_details": None,
        "container": None,
        "usage": usage_to_wire(resp.usage or Usage()),
    }
    return orjson.dumps(body)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def model_json(m: ModelCard) -> dict[str, Any]:
    # Anthropic's fields (type, display_name, created_at) plus OpenAI's (object, owned_by): both kinds
    # of client read the same list.
    return {"type": "model", "id": m.id, "display_name": m.id, "created_at": _iso(m.created),
            "max_input_tokens": None, "max_tokens": None, "capabilities": None,
            "object": "model", "owned_by": m.owner}  # fmt: skip


def render_model_list(models: Sequence[ModelCard]) -> bytes:
    """``GET /v1/models`` for a client that sent ``anthropic-version`` (and ``GET /anthropic/v1/models``)."""
    data = [model_json(m) for m in models]
    return orjson.dumps({
        "data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None, "object": "list",
    })  # fmt: skip


def render_model(m: ModelCard) -> bytes:
    return orjson.dumps(model_json(m))


def render_token_count(n: int) -> bytes:
    return b'{"input_tokens":' + str(n).encode() + b"}"
