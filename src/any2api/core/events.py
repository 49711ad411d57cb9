"""Stream events: what every provider yields and every dialect renders.

A response is: ``ResponseStart``, then for each output part ``PartStart`` / ``PartDelta``* / ``PartEnd``
(indices are dense, starting at 0, and a part's deltas may interleave with another's, e.g. parallel
tool calls), then any number of ``UsageEvent`` and one ``Finish`` -- or an ``ErrorEvent`` at any point.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import GatewayError
from .parts import JSON, OutputPart
from .response import FinishReason, Usage


@dataclass(slots=True)
class ResponseStart:
    id: str
    model: str
    created: int
    usage: Usage | None = None
    """Usage known at the start (Anthropic reports input tokens here)."""
    provider: str | None = None
    """The configured provider that answers (set by the gateway; the scope of any carrier sealed for it)."""


@dataclass(slots=True)
class PartStart:
    index: int
    part: OutputPart
    """The part as known at its start: a ToolCallPart has id and name; text may already be non-empty."""


@dataclass(slots=True)
class PartDelta:
    index: int
    delta: str = ""
    """Text for text/reasoning parts; a fragment of the JSON arguments for tool calls."""
    signature: str | None = None
    """Reasoning signature (appended)."""


@dataclass(slots=True)
class PartEnd:
    index: int
    provider_details: dict[str, JSON] | None = None


@dataclass(slots=True)
class UsageEvent:
    usage: Usage


@dataclass(slots=True)
class Finish:
    reason: FinishReason
    stop_sequence: str | None = None


@dataclass(slots=True)
class ErrorEvent:
    error: GatewayError


Event = ResponseStart | PartStart | PartDelta | PartEnd | UsageEvent | Finish | ErrorEvent
