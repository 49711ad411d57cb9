"""Usage from passed-through Gemini bytes (``usageMetadata``), without decoding every chunk.

Every Gemini chunk repeats the usage so far; only the last one counts. SSE streams are forwarded at line
granularity and the last line that mentions ``usageMetadata`` is kept as bytes, decoded once at the end. A
JSON-array stream (no ``alt=sse``) is forwarded as it comes and read whole at the end (bounded)."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.response import Usage
from ...wire.gemini import usage_from_wire
from ..base import UsageSniffer

_MAX_KEEP = 16 * 1024 * 1024
_MARK = b'"usageMetadata"'


def _usage_of(obj: Any) -> Usage | None:
    if isinstance(obj, list):
        for item in reversed(obj):
            u = _usage_of(item)
            if u is not None:
                return u
        return None
    u = obj.get("usageMetadata") if isinstance(obj, dict) else None
    return usage_from_wire(u) if isinstance(u, dict) else None


class GeminiUsageSniffer(UsageSniffer):
    __slots__ = ("_body", "_last", "sse")

    def __init__(self, stream: bool, sse: bool) -> None:
        super().__init__(stream)
        self.sse = sse
        self._last = b""
        self._body: list[bytes] = []

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream or not self.sse:
            if sum(len(b) for b in self._body) < _MAX_KEEP:
                self._body.append(chunk)
            return chunk
        out = self._whole_lines(chunk)
        if not out:
            return b""
        i = out.rfind(_MARK)
        if i >= 0:
            ls = out.rfind(b"\n", 0, i) + 1
            le = out.find(b"\n", i)
            self._last = out[ls : le if le >= 0 else len(out)]
        return out

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return usage_from_wire(usage)

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail if self.stream and self.sse else b""

    def usage(self) -> Usage | None:
        if self.stream and self.sse:
            line = self._last.strip()
            if not line.startswith(b"data:"):
                return None
            try:
                return _usage_of(orjson.loads(line[5:]))
            except orjson.JSONDecodeError:
                return None
        raw = b"".join(self._body).strip()
        for candidate in (raw, raw + b"]"):
            try:
                return _usage_of(orjson.loads(candidate))
            except orjson.JSONDecodeError:
                continue
        return None
