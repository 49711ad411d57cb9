"""Usage in passed-through OpenAI bytes (pass-through path)."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.response import Usage
from ...wire.openai_chat import parse_usage
from ..base import UsageSniffer


class OpenAIUsageSniffer(UsageSniffer):
    """Finds usage in passed-through OpenAI bytes without decoding every chunk.

    Streams are forwarded at line granularity (an unfinished line is held until its end arrives, which
    never delays an event: SSE dispatches on the blank line). Only a line that mentions ``"usage"`` is
    decoded. With ``strip`` set, the usage-only chunk (``"choices":[]``) is removed -- used when the
    gateway asked the upstream for usage but the client did not."""

    __slots__ = ("_drop_blank", "strip")

    def __init__(self, stream: bool, strip: bool = False) -> None:
        super().__init__(stream)
        self.strip = strip
        self._drop_blank = False

    def feed(self, chunk: bytes) -> bytes:
        if not self.stream:
            self._tail += chunk
            return chunk
        out = self._whole_lines(chunk)
        if not out:
            return b""
        if not self._drop_blank and b'"usage":{' not in out and b'"usage": {' not in out:
            return out  # most chunks: no usage, or "usage":null
        return self._scan(out)

    def _scan(self, out: bytes) -> bytes:
        """Decode the lines that carry a usage object; drop the usage-only event when stripping."""
        if self._drop_blank:  # the blank line that ended a removed usage event
            self._drop_blank = False
            if out[:1] == b"\n":
                out = out[1:]
            elif out[:2] == b"\r\n":
                out = out[2:]
        kept: list[bytes] = []
        pos = start = 0
        while True:
            a, b = out.find(b'"usage":{', pos), out.find(b'"usage": {', pos)
            i = a if b < 0 or 0 <= a < b else b
            if i < 0:
                break
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
            u = obj.get("usage") if isinstance(obj, dict) else None
            if not isinstance(u, dict):
                continue
            self._usage = parse_usage(u)
            if self.strip and obj.get("choices") == []:
                kept.append(out[start:ls])
                start = le
                if out[le : le + 1] == b"\n":
                    start += 1
                elif out[le : le + 2] == b"\r\n":
                    start += 2
                elif le >= len(out):
                    self._drop_blank = True
                pos = start
        if not kept:
            return out
        kept.append(out[start:])
        return b"".join(kept)

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        return parse_usage(usage)
