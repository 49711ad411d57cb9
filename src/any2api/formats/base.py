"""What a client dialect provides to the generic request handler."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from ..core.errors import GatewayError
from ..core.events import Event
from ..core.request import ChatRequest
from ..core.response import ChatResponse, Usage


class StreamRenderer:
    """Turns hub events into the dialect's SSE bytes. One instance per response."""

    def event(self, e: Event) -> bytes:
        raise NotImplementedError

    def error(self, err: GatewayError) -> bytes:
        """The terminal error event(s) for a stream that broke (including any closing marker)."""
        raise NotImplementedError

    def end(self) -> bytes:
        """Closing bytes after a successful stream (e.g. ``data: [DONE]``)."""
        return b""

    def heartbeat(self) -> bytes:
        return b": keep-alive\n\n"


class UsageSniffer:
    """Watches passed-through upstream bytes (same dialect) and extracts usage without re-rendering.

    ``feed`` returns the bytes to forward now (it may hold back an unfinished line, or remove an event the
    client did not ask for); ``flush`` returns what is held back at the end. A non-streamed body is kept
    whole and its ``usage`` object decoded once, at the end, by ``parse_wire_usage``."""

    __slots__ = ("_tail", "_usage", "stream")

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self._tail = b""
        self._usage: Usage | None = None

    def feed(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        raise NotImplementedError

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail if self.stream else b""

    def usage(self) -> Usage | None:
        if self.stream:
            return self._usage
        try:
            obj = orjson.loads(self._tail)
        except orjson.JSONDecodeError:
            return None
        u = obj.get("usage") if isinstance(obj, dict) else None
        return self.parse_wire_usage(u) if isinstance(u, dict) else None


class Dialect:
    """A client dialect. ``name`` equals ``Provider.dialect`` of upstreams that speak it (pass-through)."""

    name: ClassVar[str] = ""

    def peek(self, body: Any) -> tuple[str, bool]:
        """The cheap checks both paths share (body shape, ``model``, message roles): (model, stream)."""
        raise NotImplementedError

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        """Validate a decoded JSON body; raise ``GatewayError`` (invalid_request, ``param`` naming the field)."""
        raise NotImplementedError

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        raise NotImplementedError

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        raise NotImplementedError

    def render_error(self, err: GatewayError) -> bytes:
        """The JSON error body (status is ``err.status``, possibly adjusted by ``error_status``)."""
        raise NotImplementedError

    def error_status(self, err: GatewayError) -> int:
        return err.status

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        """``strip``: the gateway asked the upstream for usage the client did not request; remove it."""
        return None
