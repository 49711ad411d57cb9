"""Usage of a passed-through Responses answer, found without re-rendering it."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.response import Usage
from ...wire.openai_responses import TERMINAL_EVENTS, usage_from_wire
from ..base import UsageSniffer

_MARK = b'"usage":{'


class ResponsesUsageSniffer(UsageSniffer):
    """Streams are forwarded at line granularity (an unfinished line waits for its end, which never delays
    an event: SSE dispatches on the blank line). Only a ``data:`` line that holds a usage object is decoded:
    the terminal event (``response.completed`` / ``.incomplete`` / ``.failed``) carries the final usage in
    ``response.usage``. Nothing is removed (Responses streams always carry usage)."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream:
            self._tail += chunk
            return chunk
        out = self._whole_lines(chunk)
        if not out:
            return b""
        if _MARK in out:
            self._scan(out)
        return out

    def _scan(self, out: bytes) -> None:
        pos = 0
        while (i := out.find(_MARK, pos)) >= 0:
            ls = out.rfind(b"\n", 0, i) + 1
            le = out.find(b"\n", i) + 1 or len(out)
            pos = le
            line = out[ls:le].rstrip(b"\r\n")
            if not line.startswith(b"data:"):
                continue
            try:
                obj = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or obj.get("type") not in TERMINAL_EVENTS:
                continue
            resp = obj.get("response")
            u = resp.get("usage") if isinstance(resp, dict) else None
            if isinstance(u, dict):
                self._usage = usage_from_wire(u)

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return usage_from_wire(usage)
