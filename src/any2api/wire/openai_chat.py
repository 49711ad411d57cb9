"""The OpenAI Chat Completions wire format: finish reasons, usage and error shapes.

Shared by the client dialect (``formats/openai_chat.py``) and the OpenAI-compatible upstream
(``providers/openai_wire.py``), which speak this format in opposite directions.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import GatewayError
from ..core.response import FinishReason, Usage

NAME = "openai_chat"

FINISH_IN: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "insufficient_system_resource": "error", "end_turn": "stop",
    "max_tokens": "length", "tool_use": "tool_calls",
}  # fmt: skip
"""Upstream ``finish_reason`` -> hub finish reason (lenient: some vendors send Anthropic's names)."""

FINISH_OUT: dict[FinishReason, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "error": "stop",
}


def usage_json(u: Usage) -> dict[str, Any]:
    raw = u.provider_details.get("openai") if u.provider_details else None
    out: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    out["prompt_tokens"] = u.input_tokens
    out["completion_tokens"] = u.output_tokens
    out["total_tokens"] = u.input_tokens + u.output_tokens
    # the details objects as OpenAI sends them (every counter present); an upstream's own values win
    ptd = out["prompt_tokens_details"] = dict(out.get("prompt_tokens_details") or {})
    ptd.setdefault("cached_tokens", 0)
    ptd.setdefault("audio_tokens", 0)
    if u.cache_read_tokens is not None:
        ptd["cached_tokens"] = u.cache_read_tokens
        if u.cache_write_tokens is not None:
            ptd["cache_creation_tokens"] = u.cache_write_tokens
    ctd = out["completion_tokens_details"] = dict(out.get("completion_tokens_details") or {})
    for k in ("reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"):
        ctd.setdefault(k, 0)
    if u.reasoning_tokens is not None:
        ctd["reasoning_tokens"] = u.reasoning_tokens
    return out


ERROR_TYPES = {
    "invalid_request": "invalid_request_error", "authentication": "invalid_request_error",
    "permission": "permission_error", "not_found": "invalid_request_error",
    "method_not_allowed": "invalid_request_error", "payload_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error", "quota_exceeded": "insufficient_quota", "upstream": "upstream_error",
    "overloaded": "server_error", "timeout": "timeout_error", "internal": "server_error",
}  # fmt: skip


def error_json(err: GatewayError) -> dict[str, Any]:
    return {
        "error": {
            "message": err.message,
            "type": ERROR_TYPES.get(err.kind, "server_error"),
            "param": err.param,
            "code": err.code or (err.kind if err.kind != "invalid_request" else None),
        }
    }


def parse_usage(u: dict[str, Any]) -> Usage:
    """OpenAI/DeepSeek usage object -> hub usage."""
    usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0),
                  provider_details={"openai": u})  # fmt: skip
    cd = u.get("completion_tokens_details")
    if isinstance(cd, dict) and cd.get("reasoning_tokens") is not None:
        usage.reasoning_tokens = int(cd["reasoning_tokens"])
    pd = u.get("prompt_tokens_details")
    if isinstance(pd, dict) and pd.get("cached_tokens") is not None:
        usage.cache_read_tokens = int(pd["cached_tokens"])
    elif u.get("prompt_cache_hit_tokens") is not None:  # DeepSeek
        usage.cache_read_tokens = int(u["prompt_cache_hit_tokens"])
    return usage
