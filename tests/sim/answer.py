"""Facts about a scripted answer that both dialects need: its tool calls and its usage numbers."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .inbound import ChatInput
from .script import Parallel, Reasoning, Refusal, Script, Step, Text, ToolCall
from .wire import count_tokens


def tool_calls(steps: Sequence[Step]) -> Iterator[ToolCall]:
    for s in steps:
        if isinstance(s, ToolCall):
            yield s
        elif isinstance(s, Parallel):
            yield from s.calls


@dataclass
class Totals:
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


def totals(script: Script, inp: ChatInput) -> Totals:
    """The script's usage, with what it leaves open counted from the request and the answer."""
    out_text: list[str] = []
    reasoning: list[str] = []
    for s in script.steps:
        if isinstance(s, (Text, Refusal)):
            out_text.extend(s.deltas)
        elif isinstance(s, Reasoning):
            reasoning.extend(s.deltas)
    for c in tool_calls(script.steps):
        out_text.append(c.name)
        out_text.append(c.arguments)
    r_count = count_tokens("".join(reasoning))
    computed_out = max(1, count_tokens(" ".join(out_text)) + r_count)
    u = script.usage
    return Totals(
        input_tokens=u.input_tokens
        if u and u.input_tokens is not None
        else max(1, count_tokens(inp.prompt_text)),
        output_tokens=u.output_tokens if u and u.output_tokens is not None else computed_out,
        reasoning_tokens=u.reasoning_tokens if u and u.reasoning_tokens is not None else r_count,
        cache_read_tokens=u.cache_read_tokens if u and u.cache_read_tokens is not None else 0,
        cache_write_tokens=u.cache_write_tokens if u and u.cache_write_tokens is not None else 0,
    )


def made_up_signature(text: str) -> str:
    """A deterministic stand-in for a reasoning signature (base64, like the real ones)."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b64encode(b"\x12\x08sim" + digest + digest[:13]).decode()
