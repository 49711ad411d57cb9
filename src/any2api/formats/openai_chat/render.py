"""Hub responses -> ``chat.completion`` bodies; the model list in OpenAI's shape."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
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
from ...core.response import ChatResponse
from ...wire.openai_chat import FINISH_OUT, usage_json
from ..base import ModelCard


def _reasoning_details(parts: list[ReasoningPart]) -> list[dict[str, Any]] | None:
    if not any(p.signature or p.redacted for p in parts):
        return None
    out: list[dict[str, Any]] = []
    for i, p in enumerate(parts):
        if p.redacted:
            out.append({"type": "reasoning.encrypted", "data": p.redacted, "index": i})
        else:
            d: dict[str, Any] = {"type": "reasoning.text", "text": p.text, "index": i}
            if p.signature:
                d["signature"] = p.signature
            out.append(d)
    return out


def message_json(parts: list[OutputPart]) -> dict[str, Any]:
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[ReasoningPart] = []
    calls: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if p.provider_details and p.provider_details.get("openai", {}).get("refusal"):
                refusal.append(p.text)
            else:
                text.append(p.text)
        elif isinstance(p, ReasoningPart):
            reasoning.append(p)
        elif isinstance(p, ToolCallPart):
            calls.append(
                {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
            )
        elif isinstance(p, ImagePart | ServerToolCallPart | ServerToolResultPart):
            pass  # not representable in a Chat Completions message: left out
        else:
            assert_never(p)
    msg: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(text) if text or not calls else None,
        "refusal": "".join(refusal) if refusal else None,
        "annotations": [],
    }
    if reasoning:
        msg["reasoning_content"] = "".join(p.text for p in reasoning)
        details = _reasoning_details(reasoning)
        if details:
            msg["reasoning_details"] = details
    if calls:
        msg["tool_calls"] = calls
    return msg


def render_response(resp: ChatResponse, req: ChatRequest) -> bytes:
    body: dict[str, Any] = {
        "id": resp.id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": req.model or resp.model,  # the name the client asked for, not the upstream's
        "choices": [
            {
                "index": 0,
                "message": message_json(resp.parts),
                "logprobs": None,
                "finish_reason": FINISH_OUT.get(resp.finish_reason or "stop", "stop"),
            }
        ],
    }
    if resp.usage is not None:
        body["usage"] = usage_json(resp.usage)
    return orjson.dumps(body)


def model_json(m: ModelCard) -> dict[str, Any]:
    return {"id": m.id, "object": "model", "created": m.created, "owned_by": m.owner}


def render_model_list(models: Sequence[ModelCard]) -> bytes:
    return orjson.dumps({"object": "list", "data": [model_json(m) for m in models]})


def render_model(m: ModelCard) -> bytes:
    return orjson.dumps(model_json(m))
