"""Response framings: body bytes (split anywhere) -> frames, one per upstream event.

A frame is an :class:`~any2api.sse.SSEEvent` (``data`` and, for SSE, the ``event`` name), whatever the
framing:

* ``sse`` -- server-sent events (:class:`~any2api.sse.SSEDecoder`);
* ``ndjson`` -- one JSON document per line;
* ``json-array`` -- a JSON array streamed element by element (Gemini's ``streamGenerateContent`` without
  ``alt=sse``): each element is a frame as soon as its closing bracket arrives; a body that is a single
  object (an error) is one frame;
* ``json`` -- the whole body, one frame at the end;
* ``text`` -- raw text as it arrives (UTF-8 decoded across chunk boundaries).
"""

from __future__ import annotations

import codecs
import re
from typing import Literal, Protocol

from ..sse import SSEDecoder, SSEEvent

Framing = Literal["sse", "ndjson", "json-array", "json", "text"]
FRAMINGS: tuple[Framing, ...] = ("sse", "ndjson", "json-array", "json", "text")

Frame = SSEEvent


class FrameDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[Frame]: ...

    def close(self) -> list[Frame]: ...


class NDJSONDecoder:
    """One frame per non-empty line (surrounding whitespace stripped)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[Frame]:
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [SSEEvent(s.decode("utf-8", "replace")) for line in lines if (s := line.strip())]

    def close(self) -> list[Frame]:
        rest = self._buf.strip()
        self._buf = b""
        return [SSEEvent(rest.decode("utf-8", "replace"))] if rest else []


_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|["\[\]{}]', re.S)
"""A complete JSON string (skipped whole), a lone quote (a string not complete yet), or a bracket."""


class JSONArrayDecoder:
    """Elements of a streamed JSON array as they complete (objects and arrays; see module doc)."""

    __slots__ = ("_base", "_buf", "_depth", "_pos", "_start", "done")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        """Where scanning resumes in ``_buf``."""
        self._depth = 0
        self._base = -1
        """Depth of the elements: 1 inside a top-level array, 0 for a body that is one object; -1 unknown."""
        self._start = 0
        """Where the element being read starts in ``_buf``."""
        self.done = False

    def feed(self, chunk: bytes) -> list[Frame]:
        if self.done or not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        out: list[Frame] = []
        depth, base, start, pos = self._depth, self._base, self._start, self._pos
        for m in _TOKENS.finditer(buf, pos):
            at = m.start()
            c = buf[at]
            if c == 0x22:  # '"'
                if m.end() - at == 1:  # an unterminated string: wait for more
                    pos = at
                    break
                continue
            if c == 0x5B or c == 0x7B:  # '[' '{'
                if base < 0:
                    base = 1 if c == 0x5B else 0
                if depth == base:
                    start = at
                depth += 1
            else:
                depth -= 1
                if depth == base:
                    out.append(SSEEvent(buf[start : m.end()].decode("utf-8", "replace")))
                if depth <= 0:
                    self.done = True
                    break
        else:
            pos = len(buf)
        keep = start if depth > base >= 0 else pos
        self._buf = buf[keep:]
        self._pos = pos - keep
        self._start = start - keep if depth > base >= 0 else 0
        self._depth, self._base = depth, base
        return out

    def close(self) -> list[Frame]:
        self._buf = b""
        return []


class BodyDecoder:
    """The whole body as one frame, at the end."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Frame]:
        self._parts.append(chunk)
        return []

    def close(self) -> list[Frame]:
        body = b"".join(self._parts)
        self._parts = []
        return [SSEEvent(body.decode("utf-8", "replace"))]


class TextDecoder:
    """Text as it arrives."""

    __slots__ = ("_dec",)

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> list[Frame]:
        s = self._dec.decode(chunk)
        return [SSEEvent(s)] if s else []

    def close(self) -> list[Frame]:
        s = self._dec.decode(b"", final=True)
        return [SSEEvent(s)] if s else []


def frame_decoder(framing: Framing) -> FrameDecoder:
    if framing == "sse":
        return SSEDecoder()
    if framing == "ndjson":
        return NDJSONDecoder()
    if framing == "json-array":
        return JSONArrayDecoder()
    if framing == "json":
        return BodyDecoder()
    return TextDecoder()


_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json-lines",
                           "application/jsonlines"})  # fmt: skip


def framing_for_content_type(content_type: str) -> Framing:
    """The framing a ``Content-Type`` announces (``text`` when it names none of ours)."""
    ct = content_type.split(";")[0].strip().lower()
    if ct == "text/event-stream":
        return "sse"
    if ct in _NDJSON_TYPES:
        return "ndjson"
    if ct == "application/json" or ct.endswith("+json"):
        return "json"
    return "text"
