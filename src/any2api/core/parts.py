"""Typed content parts of a message.

Every part carries ``provider_details``: opaque, provider-specific data (signatures, encrypted reasoning,
cache-control markers) that must survive a round trip through the hub untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JSON = Any


@dataclass(slots=True)
class TextPart:
    text: str
    provider_details: dict[str, JSON] | None = None
    kind: Literal["text"] = field(default="text", init=False)


@dataclass(slots=True)
class ReasoningPart:
    """Model reasoning ("thinking"). ``signature`` is the provider's proof of authenticity; ``redacted``
    holds encrypted reasoning that must be sent back verbatim."""

    text: str
    signature: str | None = None
    redacted: str | None = None
    provider_details: dict[str, JSON] | None = None
    kind: Literal["reasoning"] = field(default="reasoning", init=False)


@dataclass(slots=True)
class ImagePart:
    """An image given by URL (``url``; may be a ``data:`` URL) or by inline base64 ``data``."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None
    provider_details: dict[str, JSON] | None = None
    kind: Literal["image"] = field(default="image", init=False)


@dataclass(slots=True)
class FilePart:
    """A document: inline base64 ``data``, plain ``text``, or a ``url`` / provider ``file_id``."""

    data: str | None = None
    text: str | None = None
    url: str | None = None
    file_id: str | None = None
    media_type: str | None = None
    filename: str | None = None
    provider_details: dict[str, JSON] | None = None
    kind: Literal["file"] = field(default="file", init=False)


@dataclass(slots=True)
class ToolCallPart:
    """A call the model makes. ``arguments`` is the JSON text exactly as the model produced it."""

    id: str
    name: str
    arguments: str = ""
    provider_details: dict[str, JSON] | None = None
    kind: Literal["tool_call"] = field(default="tool_call", init=False)


@dataclass(slots=True)
class ToolResultPart:
    """The result of a tool call, sent back by the client. ``content`` is text or a list of parts."""

    tool_call_id: str
    content: str | list[Part]
    is_error: bool = False
    name: str | None = None
    provider_details: dict[str, JSON] | None = None
    kind: Literal["tool_result"] = field(default="tool_result", init=False)


@dataclass(slots=True)
class ServerToolCallPart:
    """A call of a tool the provider runs itself (web search, code execution, ...): opaque to the hub.

    ``wire`` names the wire format it was made in (``anthropic_messages``, ``openai_responses``, ...). It passes
    through only where the other side speaks that wire format; elsewhere it is refused (request side) or left
    out of the answer (response side), never silently turned into something else. ``data`` is the vendor's
    own object as it came, so it goes back byte-exact."""

    id: str
    name: str
    wire: str
    data: dict[str, JSON]
    provider_details: dict[str, JSON] | None = None
    kind: Literal["server_tool_call"] = field(default="server_tool_call", init=False)


@dataclass(slots=True)
class ServerToolResultPart:
    """The result of a server tool call (search results, ...), opaque like :class:`ServerToolCallPart`."""

    tool_call_id: str
    wire: str
    data: dict[str, JSON]
    provider_details: dict[str, JSON] | None = None
    kind: Literal["server_tool_result"] = field(default="server_tool_result", init=False)


ServerToolPart = ServerToolCallPart | ServerToolResultPart

Part = (
    TextPart | ReasoningPart | ImagePart | FilePart | ToolCallPart | ToolResultPart | ServerToolCallPart
    | ServerToolResultPart
)  # fmt: skip
"""Any content part. Code that switches on parts must handle every member (see ``assert_never``)."""

OutputPart = TextPart | ReasoningPart | ToolCallPart | ImagePart | ServerToolCallPart | ServerToolResultPart
"""Parts a model can produce in a response. An ``ImagePart`` is image output (whole, no deltas); server tool
parts are whole too (their ``PartStart`` carries everything)."""


def unsupported_server_tool(
    part: ServerToolPart, target: str, field: str | None = None
) -> UnsupportedContentError:
    """The clear refusal for a server tool part that reaches a side that does not speak its wire format."""
    what = part.name if isinstance(part, ServerToolCallPart) else f"result of {part.tool_call_id}"
    return UnsupportedContentError(
        f"Server tool content ({what}, made by a {part.wire} provider) cannot be sent to a {target} upstream.",
        field,
    )


class UnsupportedContentError(ValueError):
    """Content that an adapter cannot represent. Raised, never silently dropped."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
