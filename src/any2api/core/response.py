"""The canonical (non-streamed) response and usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .parts import JSON, OutputPart

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    provider_details: dict[str, JSON] | None = None
    """The upstream's own usage object by dialect (e.g. ``{"openai": {...}}``), so fields the hub has no
    slot for (audio tokens, vendor cache counters) reach a same-dialect client unchanged."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def merge(self, other: Usage) -> None:
        """Take every value ``other`` reports; providers send usage in pieces (start and end)."""
        if other.input_tokens:
            self.input_tokens = other.input_tokens
        if other.output_tokens:
            self.output_tokens = other.output_tokens
        if other.reasoning_tokens is not None:
            self.reasoning_tokens = other.reasoning_tokens
        if other.cache_read_tokens is not None:
            self.cache_read_tokens = other.cache_read_tokens
        if other.cache_write_tokens is not None:
            self.cache_write_tokens = other.cache_write_tokens
        if other.provider_details:
            self.provider_details = {**(self.provider_details or {}), **other.provider_details}


@dataclass(slots=True)
class ChatResponse:
    id: str
    model: str
    created: int
    parts: list[OutputPart] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None
    provider_details: dict[str, JSON] | None = None
    provider: str | None = None
    """The configured provider that answered (see ``ResponseStart.provider``)."""

    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.kind == "text")
