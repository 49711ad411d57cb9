"""Anthropic Messages, the client dialect: ``parse`` (request -> hub), ``render`` (response, model list,
token count), ``stream`` (hub events -> Messages SSE), ``sniff`` (usage in passed-through bytes),
``dialect`` (routes and glue). The wire maps (usage, stop reasons, error types) live in
``wire/anthropic_messages.py``, shared with the native Anthropic upstream."""

from ...wire.anthropic_messages import usage_from_wire, usage_to_wire
from .dialect import ANTHROPIC_MESSAGES, DIALECT, AnthropicMessages
from .parse import parse_request, peek
from .render import block_json, render_model, render_model_list, render_response
from .sniff import AnthropicUsageSniffer
from .stream import PING, AnthropicStreamRenderer

__all__ = [
    "ANTHROPIC_MESSAGES",
    "DIALECT",
    "PING",
    "AnthropicMessages",
    "AnthropicStreamRenderer",
    "AnthropicUsageSniffer",
    "block_json",
    "parse_request",
    "peek",
    "render_model",
    "render_model_list",
    "render_response",
    "usage_from_wire",
    "usage_to_wire",
]
