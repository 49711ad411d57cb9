"""What a rendered answer is made of, and how it becomes bytes.

A renderer turns a script into a :class:`Reply`: a status, headers and either a whole ``body`` or a list
of stream operations (SSE events, comments, raw bytes, and the transport steps Delay/Drop/Hang). The
server executes it. The SSE encoder here is the simulator's own -- deliberately independent of
``any2api.sse``, the code under test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .script import Delay, Drop, Hang, Raw


@dataclass
class Event:
    """One SSE event: optional ``event:`` line, one ``data:`` line per line of ``data``."""

    data: str
    event: str | None = None


@dataclass
class CommentFrame:
    text: str = ""


Op: TypeAlias = Event | CommentFrame | Raw | Delay | Drop | Hang


@dataclass
class Reply:
    """A rendered answer. Exactly one of ``body`` (sent whole, with Content-Length) and ``ops``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    ops: list[Op] | None = None
    before: list[Delay | Drop | Hang] = field(default_factory=list)
    """Non-streamed: transport steps of the script (delays add up; Hang: no answer; Drop: half a body)."""


def dumps(obj: Any) -> str:
    """Compact JSON as the providers send it (no spaces, non-ASCII kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def encode_op(op: Event | CommentFrame | Raw, newline: str = "\n", space: bool = True) -> bytes:
    if isinstance(op, Raw):
        return op.data
    sep = ": " if space else ":"
    if isinstance(op, CommentFrame):
        line = ": " + op.text if op.text else ":"
        return (line + newline + newline).encode()
    parts: list[str] = []
    if op.event is not None:
        parts.append(f"event{sep}{op.event}{newline}")
    for line in op.data.split("\n"):
        parts.append(f"data{sep}{line}{newline}")
    parts.append(newline)
    return "".join(parts).encode()


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation marks."""
    return len(_TOKEN.findall(text))


TO_OPENAI = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
TO_ANTHROPIC = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def finish_for(
    vocabulary: Mapping[str, str], finish: str | None, has_tools: bool, stop_sequence: str | None
) -> str:
    """The script's finish reason in a dialect's ``vocabulary`` (``TO_OPENAI``, ``TO_ANTHROPIC``: from the
    other dialect's words; unknown values pass through)."""
    if finish is None:
        if has_tools:
            finish = "tool_calls"
        elif stop_sequence is not None:
            finish = "stop_sequence"
        else:
            finish = "stop"
    return vocabulary.get(finish, finish)
