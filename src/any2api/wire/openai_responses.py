"""The OpenAI Responses wire format: statuses, usage, errors, item and event names, id minting.

Shared by the client dialect (``formats/openai_responses/``) and the upstream
(``providers/openai_responses.py``), which speak this format in opposite directions.
"""

from __future__ import annotations

import os
from typing import Any, Final

import orjson

from ..core.errors import ErrorKind, GatewayError
from ..core.response import FinishReason, Usage

NAME: Final = "openai_responses"

# ------------------------------------------------------------------------------------------ item types

MESSAGE: Final = "message"
REASONING: Final = "reasoning"
FUNCTION_CALL: Final = "function_call"
FUNCTION_CALL_OUTPUT: Final = "function_call_output"
CUSTOM_TOOL_CALL: Final = "custom_tool_call"
CUSTOM_TOOL_CALL_OUTPUT: Final = "custom_tool_call_output"
ITEM_REFERENCE: Final = "item_reference"
ADDITIONAL_TOOLS: Final = "additional_tools"
COMPACTION: Final = "compaction"
IMAGE_GENERATION_CALL: Final = "image_generation_call"

SERVER_TOOL_ITEMS: Final = frozenset({
    "web_search_call", "file_search_call", "computer_call", "computer_call_output", "code_interpreter_call",
    "image_generation_call", "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
    "apply_patch_call", "apply_patch_call_output", "mcp_call", "mcp_list_tools", "mcp_approval_request",
    "mcp_approval_response", "tool_search_call", "tool_search_output", "program", "program_output",
})  # fmt: skip
"""Items of tools the provider (or a hosted runtime) runs: opaque to the hub, they pass through only where
both sides speak Responses."""

HOSTED_TOOLS: Final = frozenset({
    "web_search", "web_search_2025_08_26", "web_search_preview", "web_search_preview_2025_03_11",
    "file_search", "computer", "computer_use", "computer_use_preview", "code_interpreter", "image_generation",
    "mcp", "local_shell", "shell", "apply_patch", "tool_search", "programmatic_tool_calling",
})  # fmt: skip
"""Tool types that only a Responses upstream can run (the model's provider executes them or emits their
special items)."""

# ------------------------------------------------------------------------------------------ events

CREATED: Final = "response.created"
IN_PROGRESS: Final = "response.in_progress"
COMPLETED: Final = "response.completed"
INCOMPLETE: Final = "response.incomplete"
FAILED: Final = "response.failed"
ERROR: Final = "error"
ITEM_ADDED: Final = "response.output_item.added"
ITEM_DONE: Final = "response.output_item.done"
PART_ADDED: Final = "response.content_part.added"
PART_DONE: Final = "response.content_part.done"
TEXT_DELTA: Final = "response.output_text.delta"
TEXT_DONE: Final = "response.output_text.done"
REFUSAL_DELTA: Final = "response.refusal.delta"
REFUSAL_DONE: Final = "response.refusal.done"
SUMMARY_PART_ADDED: Final = "response.reasoning_summary_part.added"
SUMMARY_PART_DONE: Final = "response.reasoning_summary_part.done"
SUMMARY_DELTA: Final = "response.reasoning_summary_text.delta"
SUMMARY_DONE: Final = "response.reasoning_summary_text.done"
REASONING_TEXT_DELTA: Final = "response.reasoning_text.delta"
REASONING_TEXT_DONE: Final = "response.reasoning_text.done"
ARGS_DELTA: Final = "response.function_call_arguments.delta"
ARGS_DONE: Final = "response.function_call_arguments.done"
CUSTOM_INPUT_DELTA: Final = "response.custom_tool_call_input.delta"
CUSTOM_INPUT_DONE: Final = "response.custom_tool_call_input.done"
TERMINAL_EVENTS: Final = frozenset({COMPLETED, INCOMPLETE, FAILED})

# ------------------------------------------------------------------------------------------ statuses


def status_for(reason: FinishReason | None) -> tuple[str, str | None]:
    """Hub finish reason -> (Response ``status``, ``incomplete_details.reason``)."""
    if reason == "length":
        return "incomplete", "max_output_tokens"
    if reason == "content_filter":
        return "incomplete", "content_filter"
    if reason == "error":
        return "failed", None
    return "completed", None


def finish_for(status: str | None, incomplete_reason: str | None, has_calls: bool) -> FinishReason:
    """Response ``status`` (and ``incomplete_details.reason``) -> hub finish reason."""
    if status == "incomplete":
        return "content_filter" if incomplete_reason == "content_filter" else "length"
    if status == "failed":
        return "error"
    return "tool_calls" if has_calls else "stop"


# ------------------------------------------------------------------------------------------ usage


def _int0(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def usage_to_wire(u: Usage) -> dict[str, Any]:
    """Hub usage -> a Responses ``usage`` object (every field the reference marks required). Fields of a
    Responses upstream's own usage object that the hub has no slot for are kept."""
    raw = u.provider_details.get(NAME) if u.provider_details else None
    out: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    itd = dict(out.get("input_tokens_details") or {})
    itd["cached_tokens"] = u.cache_read_tokens or 0
    itd["cache_write_tokens"] = u.cache_write_tokens or 0
    otd = dict(out.get("output_tokens_details") or {})
    otd["reasoning_tokens"] = u.reasoning_tokens or 0
    out["input_tokens"] = u.input_tokens
    out["input_tokens_details"] = itd
    out["output_tokens"] = u.output_tokens
    out["output_tokens_details"] = otd
    out["total_tokens"] = u.input_tokens + u.output_tokens
    return out


def usage_from_wire(u: dict[str, Any]) -> Usage:
    """A Responses ``usage`` object -> hub usage (``input_tokens`` already counts the cached part)."""
    usage = Usage(_int0(u.get("input_tokens")), _int0(u.get("output_tokens")), provider_details={NAME: u})
    itd = u.get("input_tokens_details")
    if isinstance(itd, dict):
        if itd.get("cached_tokens") is not None:
            usage.cache_read_tokens = _int0(itd["cached_tokens"])
        if itd.get("cache_write_tokens"):
            usage.cache_write_tokens = _int0(itd["cache_write_tokens"])
    otd = u.get("output_tokens_details")
    if isinstance(otd, dict) and otd.get("reasoning_tokens") is not None:
        usage.reasoning_tokens = _int0(otd["reasoning_tokens"])
    return usage


# ------------------------------------------------------------------------------------------ errors

ERROR_TYPES: dict[ErrorKind, str] = {
    "invalid_request": "invalid_request_error", "authentication": "invalid_request_error",
    "permission": "permission_error", "not_found": "invalid_request_error",
    "method_not_allowed": "invalid_request_error", "payload_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error", "quota_exceeded": "insufficient_quota", "upstream": "upstream_error",
    "overloaded": "server_error", "timeout": "timeout_error", "internal": "server_error",
}  # fmt: skip
"""Gateway error kind -> the ``type`` of an OpenAI error body."""

ERROR_KINDS: dict[str, ErrorKind] = {
    "invalid_request_error": "invalid_request", "invalid_prompt": "invalid_request",
    "authentication_error": "authentication", "permission_error": "permission", "not_found_error": "not_found",
    "rate_limit_error": "rate_limit", "rate_limit_exceeded": "rate_limit", "insufficient_quota": "quota_exceeded",
    "server_error": "upstream", "api_error": "upstream", "overloaded_error": "overloaded",
    "timeout_error": "timeout",
}  # fmt: skip
"""An ``error`` event's (or a failed response's) ``type`` / ``code`` -> gateway error kind."""

FAILED_CODES: dict[ErrorKind, str] = {"rate_limit": "rate_limit_exceeded", "quota_exceeded": "rate_limit_exceeded",
                                      "invalid_request": "invalid_prompt"}  # fmt: skip
"""Gateway error kind -> ``response.error.code`` of a failed response (the reference's closed list)."""


def error_json(err: GatewayError) -> dict[str, Any]:
    """The HTTP error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {
        "error": {
            "message": err.message,
            "type": ERROR_TYPES.get(err.kind, "server_error"),
            "param": err.param,
            "code": err.code or (err.kind if err.kind != "invalid_request" else None),
        }
    }


def error_event(err: GatewayError, seq: int) -> dict[str, Any]:
    """The ``error`` stream event."""
    return {"type": ERROR, "sequence_number": seq, "code": err.code or ERROR_TYPES.get(err.kind, "server_error"),
            "message": err.message, "param": err.param}  # fmt: skip


def failed_error(err: GatewayError) -> dict[str, Any]:
    """``response.error`` of a failed response."""
    return {"code": FAILED_CODES.get(err.kind, "server_error"), "message": err.message}


def error_from_wire(obj: dict[str, Any], what: str = "Upstream error") -> GatewayError:
    """An ``error`` event or a failed response's ``error`` object -> ``GatewayError``."""
    err = obj.get("error") if isinstance(obj.get("error"), dict) else obj
    assert isinstance(err, dict)
    code = err.get("code")
    etype = err.get("type")
    kind = ERROR_KINDS.get(str(etype), ERROR_KINDS.get(str(code), "upstream"))
    msg = str(err.get("message") or code or etype or "unknown error")
    param = err.get("param")
    return GatewayError(kind, f"{what}: {msg}", code=str(code) if code else None,
                        param=param if isinstance(param, str) else None)  # fmt: skip


# ------------------------------------------------------------------------------------------ ids


COMPACT_HEADER: Final = "x-any2api-responses-compact"
"""Set (by the gateway) in the headers given to ``Provider.forward``: forward to the ``/compact`` endpoint."""

LOCAL_ID_PREFIX: Final = "resp_a2a"
"""Ids of responses this gateway stores itself (continuing one never passes through to an upstream)."""


def new_id(prefix: str) -> str:
    """An id in OpenAI's style (``resp_``, ``msg_``, ``rs_``, ``fc_``, ``ctc_`` + 48 hex digits)."""
    return f"{prefix}_{os.urandom(24).hex()}"


# ------------------------------------------------------------------------------------------ custom tools


def custom_input(arguments: str) -> str:
    """The free-form input of a custom tool call from the JSON arguments of the function it is given as to
    other wire formats (``{"input": "..."}``); arguments that are not that object are the input themselves."""
    try:
        obj = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(obj, dict) and isinstance(obj.get("input"), str):
        return str(obj["input"])
    return arguments


def custom_arguments(inp: str) -> str:
    """The JSON arguments (``{"input": ...}``) that carry a custom tool call's input through the hub."""
    return orjson.dumps({"input": inp}).decode()
