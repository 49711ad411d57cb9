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
    """The name of a registered dialect (``openai``, ``anthropic``)."""
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


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.")
    return body


def chat_input(
    dialect: str, body: dict[str, Any], model: str, messages: list[Any], wants_reasoning: bool
) -> ChatInput:
    """The facts every dialect's ``parse`` derives the same way, once its own checks passed."""
    opts = body.get("stream_options")
    texts: list[str] = []
    collect_text(body.get("system"), texts)
    collect_text(messages, texts)
    return ChatInput(
        dialect=dialect,
        body=body,
        model=model,
        stream=body.get("stream") is True,
        include_usage=isinstance(opts, dict) and opts.get("include_usage") is True,
        prompt_text="\n".join(texts),
        last_user_text=_last_user_text(messages),
        wants_reasoning=wants_reasoning,
    )


def parse_chat(dialect: str, body: Any) -> ChatInput:
    """``body`` checked and read as a chat request of ``dialect`` (a name in the dialect registry)."""
    from . import dialects

    return dialects.get(dialect).parse(body)
