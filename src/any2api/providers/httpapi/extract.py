"""Reading upstream responses: body framing (JSON, SSE, NDJSON, raw text) and per-event field rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from ...core.errors import GatewayError
from ...core.response import Usage
from ...sse import SSEEvent
from ..framing import Framing, frame_decoder, framing_for_content_type
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
    """Feed body bytes; get pieces. One per response. The framing is the rules' ``format`` (``auto``: by
    the response's Content-Type); :meth:`pieces` reads one frame when the framing is decoded elsewhere."""

    def __init__(self, rules: ResponseRules, content_type: str = "") -> None:
        self.rules = rules
        fmt = rules.format
        if fmt == "auto":
            fmt = framing_for_content_type(content_type)
        self.format: Framing = cast(Framing, fmt)
        self.done = False
        self._frames = frame_decoder(self.format)

    def feed(self, chunk: bytes) -> list[Piece]:
        if self.done or not chunk:
            return []
        out: list[Piece] = []
        for frame in self._frames.feed(chunk):
            out += self.pieces(frame)
            if self.done:
                break
        return out

    def close(self) -> list[Piece]:
        if self.done:
            return []
        out: list[Piece] = []
        for frame in self._frames.close():
            out += self.pieces(frame)
            if self.done:
                break
        self.done = True
        return out

    def pieces(self, frame: SSEEvent) -> list[Piece]:
        """What one frame of this reader's framing contributes."""
        fmt = self.format
        if fmt == "text":
            return [Piece(text=frame.data)] if frame.data else []
        if fmt == "json":
            return [self._body(frame.data)]
        out: list[Piece] = []
        self._event(frame.event, frame.data, out)
        return out

    def _body(self, text: str) -> Piece:
        body = text.encode()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise GatewayError(
                "upstream", f"Upstream answered with something that is not JSON: {text[:200]!r}",
                code="upstream_bad_response",
            ) from None  # fmt: skip
        return apply_rule(self.rules.default, payload, body)

    def _event(self, name: str, data: str, out: list[Piece]) -> None:
        rules = self.rules
        rule = rules.events.get(name, rules.default)
        if rule.skip:
            return
        payload = data if rule.data_text else self._payload(data)
        if payload is _DONE:
            self.done = True
            out.append(Piece(done=True))
            return
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

    @staticmethod
    def _payload(data: str) -> Any:
        stripped = data.strip()
        if stripped == "[DONE]":
            return _DONE
        if not stripped:
            return None
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return _INVALID


_INVALID: Any = object()
_DONE: Any = object()
