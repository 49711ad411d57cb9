"""Server-sent events: an incremental, spec-following decoder and a small encoder.

Decoding follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``field:value`` with at
most one leading space stripped from the value; ``data`` lines of one event are joined with ``\\n``;
lines starting with ``:`` are comments; an event is dispatched on a blank line. Unlike a browser, a
last event that is not followed by a blank line is still delivered by :meth:`SSEDecoder.close` --
upstreams that close the connection right after their last event are common.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    data: str
    event: str = ""
    """The ``event:`` field; empty when absent (a browser would call it "message")."""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed bytes as they arrive (split anywhere); get complete events back."""

    __slots__ = ("_buf", "_data", "_event", "_id", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._started = False
        self._skip_lf = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        lines = self._lines(chunk) if chunk else None
        if not lines:
            return []
        out: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data or self._event:
                    self._dispatch(out)
                    data = self._data
                else:
                    self._retry = None
            elif line[:5] == b"data:":
                v = line[6:] if line[5:6] == b" " else line[5:]
                data.append(v.decode("utf-8", "replace"))
            elif line[:6] == b"event:":
                v = line[7:] if line[6:7] == b" " else line[6:]
                self._event = v.decode("utf-8", "replace")
            elif line[0] != 0x3A:  # not a ':' comment
                self._line(line, out)
        return out

    def _lines(self, chunk: bytes) -> list[bytes] | None:
        """The complete lines the buffer and ``chunk`` hold (the rest stays buffered)."""
        if self._skip_lf:
            # the previous read ended in CR: a LF starting this one is the rest of that CRLF
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return None
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and b"\xef\xbb\xbf".startswith(buf):
                self._buf = buf
                return None
            self._started = True
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
                if not buf:
                    self._buf = b""
                    return None
        lines = buf.splitlines()
        # A line is complete only with its terminator; a trailing lone CR may be the first half of CRLF.
        last = buf[-1]
        if last == 10:  # LF
            self._buf = b""
        elif last == 13:  # CR ends the line now; a LF that may start the next read is dropped
            self._buf = b""
            self._skip_lf = True
        else:
            self._buf = lines.pop()
        return lines

    def close(self) -> list[SSEEvent]:
        """End of stream: process any unterminated line and deliver a pending event."""
        out: list[SSEEvent] = []
        if self._buf:
            for raw in self._buf.splitlines():
                self._line(raw, out)
            self._buf = b""
        self._skip_lf = False
        self._dispatch(out)
        return out

    def _line(self, line: bytes, out: list[SSEEvent]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == 0x3A:  # ':' comment
            return
        colon = line.find(b":")
        if colon == -1:
            name, value = line.decode("utf-8", "replace"), ""
        else:
            name = line[:colon].decode("utf-8", "replace")
            v = line[colon + 1 :]
            if v[:1] == b" ":
                v = v[1:]
            value = v.decode("utf-8", "replace")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        # other field names are ignored, as the spec says

    def _dispatch(self, out: list[SSEEvent]) -> None:
        data = self._data
        if data:
            out.append(
                SSEEvent(data[0] if len(data) == 1 else "\n".join(data), self._event, self._id, self._retry)
            )
            self._data = []
        elif self._event:
            # An event with a type but no data: not dispatched by browsers, but keep it visible
            out.append(SSEEvent("", self._event, self._id, self._retry))
        self._event = ""
        self._retry = None


def iter_events(chunks: list[bytes]) -> Iterator[SSEEvent]:
    """Decode a complete body given as chunks."""
    d = SSEDecoder()
    for c in chunks:
        yield from d.feed(c)
    yield from d.close()


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    d = SSEDecoder()
    async for c in chunks:
        for e in d.feed(c):
            yield e
    for e in d.close():
        yield e


def encode(data: str | bytes, event: str | None = None, id: str | None = None) -> bytes:
    """One event; data containing newlines becomes several ``data:`` lines."""
    if isinstance(data, str):
        data = data.encode()
    head = b""
    if event:
        head += b"event: " + event.encode() + b"\n"
    if id is not None:
        head += b"id: " + id.encode() + b"\n"
    if b"\n" in data or b"\r" in data:
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        body = b"".join(b"data: " + ln + b"\n" for ln in lines)
    else:
        body = b"data: " + data + b"\n"
    return head + body + b"\n"


def comment(text: str = "") -> bytes:
    """A comment line (used as a keep-alive heartbeat)."""
    return b": " + text.encode() + b"\n\n" if text else b":\n\n"
