"""Usage in passed-through Messages bytes (pass-through path)."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.response import Usage
from ...wire.anthropic_messages import usage_from_wire
from ..base import UsageSniffer


class AnthropicUsageSniffer(UsageSniffer):
    """Finds usage in passed-through Messages bytes: ``message_start`` (input, cache) and ``message_delta``
    (output, and the final input figures). Only lines that mention ``"usage"`` are decoded.

    Streamed bytes are forwarded at *event* granularity (up to the last blank line): an Anthropic event
    is two lines (``event:`` and ``data:``), and a heartbeat ``ping`` slipped between them would retype
    the event. Nothing is delayed, since a client dispatches an event only on its blank line."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream:
            self._tail += chunk
            return chunk
        data = self._tail + chunk if self._tail else chunk
        end = _event_end(data)
        if end == 0:
            self._tail = data
            return b""
        out, self._tail = (data, b"") if end == len(data) else (data[:end], data[end:])
        if b'"usage"' in out:
            for line in out.splitlines():
                if b'"usage"' in line and line.startswith(b"data:"):
                    self._take(line[5:])
        return out

    def _take(self, data: bytes) -> None:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        u = obj.get("usage")
        if u is None and isinstance(obj.get("message"), dict):
            u = obj["message"].get("usage")
        if not isinstance(u, dict):
            return
        parsed = usage_from_wire(u)
        if obj.get("type") == "message_start":
            parsed.output_tokens = 0  # a placeholder there; the real count comes in message_delta
            parsed.provider_details = None
        if self._usage is None:
            self._usage = parsed
        else:
            self._usage.merge(parsed)

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return usage_from_wire(usage)


def _event_end(data: bytes) -> int:
    """Offset just past the last complete SSE event in ``data`` (0 when there is none)."""
    best = 0
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        i = data.rfind(sep)
        if i >= 0 and i + len(sep) > best:
            best = i + len(sep)
    return best
