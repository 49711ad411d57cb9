"""The Anthropic Messages wire format: stop reasons, usage, error types and block helpers.

Shared by the client dialect (``formats/anthropic_messages.py``) and the native upstream
(``providers/anthropic.py``), which speak this format in opposite directions.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ..core.errors import ErrorKind, GatewayError
from ..core.parts import JSON
from ..core.response import FinishReason, Usage

NAME = "anthropic_messages"

STOP_OUT: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "error": "end_turn",
}
"""Hub finish reason -> Anthropic ``stop_reason`` (``stop`` with a stop sequence becomes ``stop_sequence``)."""

STOP_IN: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}
"""Anthropic ``stop_reason`` -> hub finish reason."""

ERROR_TYPES: dict[ErrorKind, str] = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "method_not_allowed": "invalid_request_error",
    "payload_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "quota_exceeded": "rate_limit_error",
    "upstream": "api_error",
    "overloaded": "overloaded_error",
    "timeout": "timeout_error",
    "internal": "api_error",
}
"""Gateway error kind -> Anthropic error ``type``."""

ERROR_KINDS: dict[str, ErrorKind] = {
    "invalid_request_error": "invalid_request",
    "authentication_error": "authentication",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "payload_too_large",
    "rate_limit_error": "rate_limit",
    "billing_error": "quota_exceeded",
    "api_error": "upstream",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
}
"""Anthropic error ``type`` (e.g. of a mid-stream ``error`` event) -> gateway error kind."""

OVERLOADED_STATUS = 529


def usage_from_wire(u: dict[str, Any]) -> Usage:
    """An Anthropic ``usage`` object -> hub usage. The hub counts all input (OpenAI's ``prompt_tokens``):
    Anthropic's ``input_tokens`` excludes cache reads and writes, so they are added back. The object
    itself is kept in ``provider_details`` (service tier, cache TTL breakdown, server tool counters)."""
    inp = _int0(u.get("input_tokens"))
    read = u.get("cache_read_input_tokens")
    write = u.get("cache_creation_input_tokens")
    usage = Usage(
        input_tokens=inp + _int0(read) + _int0(write),
        output_tokens=_int0(u.get("output_tokens")),
        cache_read_tokens=_int0(read) if read is not None else None,
        cache_write_tokens=_int0(write) if write is not None else None,
        provider_details={"anthropic": u},
    )
    details = u.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        usage.reasoning_tokens = _int0(details["thinking_tokens"])
    return usage


_COUNTS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def usage_to_wire(u: Usage) -> dict[str, Any]:
    """Hub usage -> an Anthropic ``usage`` object (``input_tokens`` without the cached part), with every field
    the API sends today (``cache_creation`` by TTL, ``server_tool_use``, ``service_tier``, ``inference_geo``).
    Fields of an Anthropic upstream's own usage object that the hub has no slot for are kept."""
    read = u.cache_read_tokens or 0
    write = u.cache_write_tokens or 0
    raw = u.provider_details.get("anthropic") if u.provider_details else None
    out: dict[str, Any] = {k: v for k, v in raw.items() if k not in _COUNTS} if isinstance(raw, dict) else {}
    out["input_tokens"] = max(0, u.input_tokens - read - write)
    out["cache_creation_input_tokens"] = write
    out["cache_read_input_tokens"] = read
    if not isinstance(out.get("cache_creation"), dict):
        out["cache_creation"] = {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0}
    out["output_tokens"] = u.output_tokens
    out.setdefault("server_tool_use", None)
    out.setdefault("service_tier", "standard")
    out.setdefault("inference_geo", None)
    if u.reasoning_tokens is not None:
        out["output_tokens_details"] = {"thinking_tokens": u.reasoning_tokens}
    return out


def delta_usage_to_wire(u: Usage, input_known: bool) -> dict[str, Any]:
    """The cumulative usage of a ``message_delta`` event (``input_tokens`` null when not known yet)."""
    full = usage_to_wire(u)
    out: dict[str, Any] = {
        "input_tokens": full["input_tokens"] if input_known else None,
        "cache_creation_input_tokens": full["cache_creation_input_tokens"] if input_known else None,
        "cache_read_input_tokens": full["cache_read_input_tokens"] if input_known else None,
        "output_tokens": full["output_tokens"],
        "server_tool_use": full["server_tool_use"],
    }
    if "output_tokens_details" in full:
        out["output_tokens_details"] = full["output_tokens_details"]
    return out


def _int0(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def stop_reason(reason: FinishReason | None, stop_sequence: str | None) -> str:
    if reason == "stop" and stop_sequence is not None:
        return "stop_sequence"
    return STOP_OUT[reason] if reason is not None else "end_turn"


def error_json(err: GatewayError) -> dict[str, Any]:
    msg = err.message
    if err.param and not msg.startswith(err.param):
        msg = f"{err.param}: {msg}"
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(err.kind, "api_error"), "message": msg},
        "request_id": None,
    }


def error_status(err: GatewayError) -> int:
    return OVERLOADED_STATUS if err.kind == "overloaded" else err.status


def message_id(upstream_id: str) -> str:
    if upstream_id.startswith("msg_"):
        return upstream_id
    return f"msg_{upstream_id}" if upstream_id else f"msg_{uuid.uuid4().hex}"


def anthropic_details(p: Any) -> dict[str, Any]:
    """The ``anthropic`` namespace of a part's (or tool's / message's) ``provider_details``."""
    pd = p.provider_details
    if not pd:
        return {}
    d = pd.get("anthropic")
    return d if isinstance(d, dict) else {}


def tool_input_json(arguments: str) -> JSON:
    """A tool call's argument text as the value of Anthropic's ``input`` object.

    A JSON object is embedded byte for byte (``orjson.Fragment``); empty arguments are ``{}``; anything
    else (truncated JSON, a non-object) is kept whole as ``{"_raw_arguments": text}`` -- never dropped."""
    s = arguments.strip()
    if not s:
        return {}
    try:
        parsed = orjson.loads(s)
    except orjson.JSONDecodeError:
        return {"_raw_arguments": arguments}
    if isinstance(parsed, dict):
        return orjson.Fragment(s)
    return {"_raw_arguments": arguments}
