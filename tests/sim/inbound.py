"""Reading a chat request the way the real APIs do: the few checks they make, and the facts the
simulator needs (model, stream, usage options, the text to count and to look for ``[[sim:NAME]]`` in)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MARKER = re.compile(r"\[\[sim:([A-Za-z0-9_.\-]+)\]\]")


@dataclass
class ChatInput:
    dialect: str
    """``openai`` or ``anthropic``."""
    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    prompt_text: str
    last_user_text: str
    wants_reasoning: bool

    @property
    def marker(self) -> str | None:
        m = MARKER.search(self.last_user_text)
        return m.group(1) if m else None


class Invalid(Exception):
    """The request is malformed the way the real API would reject it (400)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def collect_text(value: Any, out: list[str]) -> None:
    """Every piece of text in a message structure (text, content strings, tool arguments, thinking)."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            collect_text(v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ("text", "content", "arguments", "thinking", "function", "tool_calls", "output"):
                collect_text(v, out)


def _last_user_text(messages: list[Any]) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            out: list[str] = []
            collect_text(m.get("content"), out)
            return "\n".join(out)
    return ""


def parse_chat(dialect: str, body: Any) -> ChatInput:
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        if dialect == "anthropic":
            raise Invalid("model: Field required", "model")
        raise Invalid("you must provide a model parameter", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list):
        if dialect == "anthropic":
            raise Invalid("messages: Field required", "messages")
        raise Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if dialect == "anthropic":
        mt = body.get("max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool):
            raise Invalid("max_tokens: Field required", "max_tokens")
        if not messages:
            raise Invalid("messages: at least one message is required", "messages")
    elif not messages:
        raise Invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    stream = body.get("stream") is True
    opts = body.get("stream_options")
    include_usage = isinstance(opts, dict) and opts.get("include_usage") is True
    texts: list[str] = []
    collect_text(body.get("system"), texts)
    collect_text(messages, texts)
    thinking = body.get("thinking")
    if dialect == "anthropic":
        wants = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    else:
        wants = (
            "reasoner" in model
            or body.get("reasoning_effort") not in (None, "none", "minimal")
            or (isinstance(thinking, dict) and thinking.get("type") == "enabled")
        )
    return ChatInput(
        dialect=dialect,
        body=body,
        model=model,
        stream=stream,
        include_usage=include_usage,
        prompt_text="\n".join(texts),
        last_user_text=_last_user_text(messages),
        wants_reasoning=wants,
    )
