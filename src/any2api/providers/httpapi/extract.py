"""Reading upstream responses: body framing (JSON, SSE, NDJSON, raw text) and per-event field rules."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any

import orjson

from ...core.errors import GatewayError
from ...core.response import Usage
from ...sse import SSEDecoder
from .paths import Path, get_first, get_path

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
)


@dataclass(slots=True, frozen=True)
class DoneWhen:
    """A terminal-event condition: SSE event name, raw data, or a JSON path (truthy, or equal to)."""

    event: str | None = None
    data: str | None = None
    path: Path | None = None
    equals: Any = None
    has_equals: bool = False

    def matches(self, event: str, data: str, payload: Any) -> bool:
        if self.event is not None and event != self.event:
            return False
        if self.data is not None and data.strip() != self.data:
            return False
        if self.path is not None:
            v = get_path(payload, self.path)
            if self.has_equals:
                return bool(v == self.equals)
            return bool(v)
        return self.event is not None or self.data is not None


@dataclass(slots=True)
class Rule:
    """Where the fields are in one event (or the whole JSON body)."""

    text: tuple[Path, ...] = ()
    reasoning: tuple[Path, ...] = ()
    finish: tuple[Path, ...] = ()
    usage: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    error: tuple[Path, ...] = ()
    id: tuple[Path, ...] = ()
    data_text: bool = False
    """The payload is text, not JSON (paths then address the text itself as ``$``)."""
    done: bool = False
    """Every event of this rule ends the stream."""
    skip: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.text or self.reasoning or self.finish or self.usage or self.error or self.id or self.done
        )


@dataclass(slots=True)
class Piece:
    """What one event contributed."""

    text: str | None = None
    reasoning: str | None = None
    finish: str | None = None
    usage: Usage | None = None
    error: str | None = None
    error_body: bytes = b""
    id: str | None = None
    done: bool = False

    @property
    def meaningful(self) -> bool:
        """Whether a response rule recognised anything (a bare terminal marker does not count)."""
        return (
            self.text is not None or self.reasoning is not None or self.finish is not None
            or self.usage is not None or self.error is not None
        )  # fmt: skip


@dataclass(slots=True)
class ResponseRules:
    format: str = "auto"
    """json | sse | ndjson | text | auto (by Content-Type)."""
    default: Rule = field(default_factory=Rule)
    events: dict[str, Rule] = field(default_factory=dict)
    done_when: tuple[DoneWhen, ...] = ()
    ignore_invalid: bool = False


def _text_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, list):  # content as a list of parts: take their text
        out = []
        for p in v:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                out.append(p["text"])
        return "".join(out)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return orjson.dumps(v).decode()


def _error_value(v: Any) -> str | None:
    if v is None or v is False or v == "":
        return None
    if isinstance(v, dict):
        for k in ("message", "msg", "detail", "error", "description"):
            if isinstance(v.get(k), str):
                return str(v[k])
        return orjson.dumps(v).decode()
    return v if isinstance(v, str) else orjson.dumps(v).decode()


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def apply_rule(rule: Rule, payload: Any, raw: bytes) -> Piece:
    p = Piece()
    if rule.text:
        p.text = _text_value(get_first(payload, rule.text))
    if rule.reasoning:
        p.reasoning = _text_value(get_first(payload, rule.reasoning))
    if rule.finish:
        f = get_first(payload, rule.finish)
        if f is not None and f != "":
            p.finish = str(f)
    if rule.usage:
        usage: Usage | None = None
        for name, paths in rule.usage.items():
            n = _int(get_first(payload, paths))
            if n is not None:
                usage = usage or Usage()
                setattr(usage, name, n)
        p.usage = usage
    if rule.error:
        p.error = _error_value(get_first(payload, rule.error))
        if p.error is not None:
            p.error_body = raw
    if rule.id:
        i = get_first(payload, rule.id)
        if i is not None:
            p.id = str(i)
    p.done = rule.done
    return p


class BodyReader:
    """Feed body bytes; get pieces. One per response."""

    def __init__(self, rules: ResponseRules, content_type: str = "") -> None:
        self.rules = rules
        fmt = rules.format
        if fmt == "auto":
            ct = content_type.split(";")[0].strip().lower()
            if ct == "text/event-stream":
                fmt = "sse"
            elif ct in (
                "application/x-ndjson",
                "application/jsonl",
                "application/json-lines",
                "application/jsonlines",
            ):
                fmt = "ndjson"
            elif ct == "application/json" or ct.endswith("+json"):
                fmt = "json"
            else:
                fmt = "text"
        self.format = fmt
        self.done = False
        self._buf = bytearray()
        self._sse = SSEDecoder() if fmt == "sse" else None
        self._text = codecs.getincrementaldecoder("utf-8")("replace") if fmt == "text" else None

    def feed(self, chunk: bytes) -> list[Piece]:
        if self.done or not chunk:
            return []
        if self._sse is not None:
            out: list[Piece] = []
            for ev in self._sse.feed(chunk):
                self._event(ev.event, ev.data, out)
                if self.done:
                    break
            return out
        if self.format == "ndjson":
            self._buf += chunk
            out = []
            while not self.done:
                nl = self._buf.find(b"\n")
                if nl == -1:
                    break
                line = bytes(self._buf[:nl]).strip()
                del self._buf[: nl + 1]
                if line:
                    self._event("", line.decode("utf-8", "replace"), out)
            return out
        if self._text is not None:
            s = self._text.decode(chunk)
            return [Piece(text=s)] if s else []
        self._buf += chunk
        return []

    def close(self) -> list[Piece]:
        if self.done:
            return []
        out: list[Piece] = []
        if self._sse is not None:
            for ev in self._sse.close():
                self._event(ev.event, ev.data, out)
                if self.done:
                    break
        elif self.format == "ndjson":
            line = bytes(self._buf).strip()
            self._buf.clear()
            if line:
                self._event("", line.decode("utf-8", "replace"), out)
        elif self._text is not None:
            s = self._text.decode(b"", final=True)
            if s:
                out.append(Piece(text=s))
        else:  # json
            body = bytes(self._buf)
            self._buf.clear()
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                snippet = body[:200].decode("utf-8", "replace")
                raise GatewayError(
                    "upstream", f"Upstream answered with something that is not JSON: {snippet!r}",
                    code="upstream_bad_response",
                ) from None  # fmt: skip
            out.append(apply_rule(self.rules.default, payload, body))
        self.done = True
        return out

    def _event(self, name: str, data: str, out: list[Piece]) -> None:
        rules = self.rules
        rule = rules.events.get(name, rules.default)
        if rule.skip:
            return
        payload: Any
        if rule.data_text:
            payload = data
        else:
            stripped = data.strip()
            if stripped == "[DONE]":
                self.done = True
                out.append(Piece(done=True))
                return
            if not stripped:
                payload = None
            else:
                try:
                    payload = orjson.loads(stripped)
                except orjson.JSONDecodeError:
                    payload = _INVALID
        for cond in rules.done_when:
            if cond.matches(name, data, payload if payload is not _INVALID else None):
                piece = apply_rule(rule, payload, data.encode()) if payload is not _INVALID else Piece()
                piece.done = True
                self.done = True
                out.append(piece)
                return
        if payload is _INVALID:
            if rules.ignore_invalid:
                return
            raise GatewayError(
                "upstream",
                f"Upstream sent an event that is not JSON: {data[:200]!r}",
                code="upstream_bad_response",
            )
        if payload is None and not rule.data_text:
            return
        piece = apply_rule(rule, payload, data.encode())
        if piece.done:
            self.done = True
        out.append(piece)


_INVALID: Any = object()
