"""The canonical chat request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .parts import JSON, Part

Role = Literal["system", "developer", "user", "assistant", "tool"]


@dataclass(slots=True)
class Message:
    role: Role
    parts: list[Part]
    name: str | None = None
    provider_details: dict[str, JSON] | None = None


@dataclass(slots=True)
class ToolDef:
    name: str
    description: str | None = None
    parameters: dict[str, JSON] = field(default_factory=dict)
    strict: bool | None = None
    provider_details: dict[str, JSON] | None = None


@dataclass(slots=True)
class ToolChoice:
    """``auto``: model decides; ``none``: no tools; ``required``: some tool; ``tool``: the named one."""

    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None
    parallel: bool | None = None


@dataclass(slots=True)
class ReasoningConfig:
    """Reasoning controls. ``enabled`` None means "provider default"."""

    enabled: bool | None = None
    budget_tokens: int | None = None
    effort: str | None = None


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    user: str | None = None
    tools: list[ToolDef] | None = None
    tool_choice: ToolChoice | None = None
    response_format: dict[str, JSON] | None = None
    reasoning: ReasoningConfig | None = None
    include_usage: bool = False
    metadata: dict[str, JSON] | None = None
    origin: str = ""
    """The wire format the client spoke (``openai_chat``, ``anthropic_messages``, ...)."""
    vendor_extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fields without a hub slot, by the wire format that defines them: ``{wire: {field: value}}``. A provider
    reads only its own wire format's entry (an Anthropic-only field reaches an Anthropic upstream and no other);
    a dialect that knows how to map another wire's field does so when it parses."""
    vendor_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Request headers only an upstream of that wire format understands (``anthropic-beta``), by wire format."""

    def extra_for(self, wire: str) -> dict[str, Any]:
        """The body fields meant for upstreams that speak ``wire`` (empty when there are none)."""
        return self.vendor_extra.get(wire) or {}

    def header_for(self, wire: str, name: str) -> str | None:
        h = self.vendor_headers.get(wire)
        return h.get(name) if h else None

    def system_text(self) -> str:
        """All system/developer text joined, in order."""
        out: list[str] = []
        for m in self.messages:
            if m.role in ("system", "developer"):
                for p in m.parts:
                    if p.kind == "text":
                        out.append(p.text)
        return "\n\n".join(out)
