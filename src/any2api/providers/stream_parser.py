"""What an upstream's response parser is: frames in, hub events out (one parser per response).

:class:`~any2api.providers.http_json.JsonHttpProvider` drives a parser: it decodes the body into frames
(``providers/framing.py``), hands each to :meth:`StreamParser.feed_frame`, stops reading when the parser
says it is :attr:`~StreamParser.done`, and calls :meth:`~StreamParser.close` at the end of the body (or
:meth:`~StreamParser.abort` when the body broke after the response started).

Most wire formats carry one JSON document per frame: subclass :class:`JsonStreamParser` and write
:meth:`~JsonStreamParser.feed` for decoded objects, building parts with :attr:`StreamParser.parts` (a
:class:`~any2api.core.parts_manager.PartsManager`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from ..core.errors import GatewayError
from ..core.events import ErrorEvent, Event
from ..core.parts_manager import PartsManager
from ..sse import SSEEvent


class StreamParser:
    """Base of response parsers.

    ``started``: a ``ResponseStart`` was produced (after that, failures are reported as an ``ErrorEvent``
    instead of raised, so the gateway no longer retries elsewhere). ``done``: nothing more needs reading
    (the upstream's own end event came, or the parser reported an error)."""

    def __init__(self) -> None:
        self.parts = PartsManager()
        self.started = False
        self.done = False
        self.failed = False

    def feed_frame(self, frame: SSEEvent) -> list[Event]:
        """One decoded frame -> the events it completes."""
        raise NotImplementedError

    def close(self) -> list[Event]:
        """The body ended: close what is open and finish (or report a cut-off response). Raise a
        :class:`GatewayError` when nothing started (the gateway may then retry elsewhere)."""
        raise NotImplementedError

    def abort(self, error: GatewayError) -> list[Event]:
        """The body broke after the response started: what was built so far, then the error."""
        out = self.parts.take()
        out.append(self.fail(error))
        return out

    def fail(self, error: GatewayError) -> ErrorEvent:
        """The error event that ends this response."""
        self.done = self.failed = True
        return ErrorEvent(error)


class JsonStreamParser(StreamParser):
    """A parser of JSON frames. ``end_marker``: a frame that is not JSON but marks the end (``[DONE]``)."""

    end_marker: ClassVar[str | None] = None

    def feed_frame(self, frame: SSEEvent) -> list[Event]:
        data = frame.data
        if not data:
            return []
        if data == self.end_marker:
            return self.marker()
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise GatewayError(
                "upstream", f"Upstream sent invalid JSON in its stream: {data[:200]!r}"
            ) from None
        return self.feed(obj)

    def feed(self, obj: Any) -> list[Event]:
        """One decoded JSON document -> the events it completes."""
        raise NotImplementedError

    def marker(self) -> list[Event]:
        """The end marker arrived."""
        return []
