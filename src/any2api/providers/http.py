"""The ``http`` provider: any chat endpoint, described by configuration ("2API").

The spec (``providers/httpapi/spec.py``) says how to build the upstream request from the hub request
and where the answer is in the response. This module sends the request and turns the response into hub
events: text and reasoning (including ``<think>`` blocks), tool calls emulated in text
(``any2api.toolemu``), usage, finish reason, and errors mapped by the provider's error rules.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from ..config import ErrorRule, ProviderConfig
from ..core.errors import DEFAULT_STATUS, GatewayError
from ..core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from ..core.parts import FilePart, ReasoningPart, TextPart, ToolCallPart
from ..core.request import ChatRequest
from ..core.response import FinishReason, Usage
from ..toolemu import ParsedCall, ToolBox, ToolCallParser, toolbox_for
from ..upstream import Upstream, iter_body, map_upstream_error, match_rule, read_body
from .base import Account, Provider, register
from .httpapi.extract import BodyReader, Piece
from .httpapi.messages import build_context
from .httpapi.spec import HttpSpec, compile_spec
from .httpapi.template import OMIT
from .httpapi.think import ThinkSplitter

Trace = Callable[[str, Any], None]
"""Observer of the raw exchange (``adapter try``): ("request", PreparedRequest), ("response", the
aiohttp response head), ("chunk", bytes)."""

_ACCEPT = {"sse": "text/event-stream", "ndjson": "application/x-ndjson", "json": "application/json"}


@dataclass(slots=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    toolbox: ToolBox | None


def _header_value(name: str, v: Any) -> str:
    s = v if isinstance(v, str) else orjson.dumps(v).decode() if isinstance(v, (dict, list)) else str(v)
    if "\r" in s or "\n" in s:
        raise GatewayError(
            "invalid_request", f"The value of header {name} would contain a line break", code="invalid_header"
        )
    return s


@register("http")
class HttpProvider(Provider):
    def __init__(self, config: ProviderConfig, upstream: Upstream, spec: HttpSpec | None = None) -> None:
        super().__init__(config, upstream)
        self.spec = spec if spec is not None else compile_spec(config)
        self.rules: list[ErrorRule] = [*config.error_rules, *upstream.global_rules]
        self.trace: Trace | None = None

    # -- request ----------------------------------------------------------------------------------------

    def prepare(self, req: ChatRequest, model: str, account: Account) -> PreparedRequest:
        """The upstream request for ``req`` (raises a 400 ``GatewayError`` for content it cannot carry)."""
        spec = self.spec
        ctx = build_context(spec, req, model, account, self.config.base_url)
        url = spec.url(ctx)
        if url is OMIT or not isinstance(url, str):
            raise GatewayError("internal", f"The URL template of provider {self.name} rendered nothing")
        if spec.query:
            params = [(k, _header_value(k, v)) for k, r in spec.query if (v := r(ctx)) is not OMIT]
            if params:
                url += ("&" if "?" in url else "?") + urlencode(params)
        headers: dict[str, str] = {}
        for k, r in spec.headers:
            v = r(ctx)
            if v is not OMIT:
                headers[k] = _header_value(k, v)
        lower = {k.lower() for k in headers}
        style = (self.config.auth_header or "none").lower()
        if account.api_key and style != "none":
            if style == "bearer":
                headers["Authorization"] = f"Bearer {account.api_key}"
            else:
                headers["x-api-key" if style == "x-api-key" else self.config.auth_header or ""] = (
                    account.api_key
                )
        body: bytes | None = None
        if spec.body is not None:
            value = spec.body(ctx)
            body = orjson.dumps({} if value is OMIT else value)
            if "content-type" not in lower:
                headers["Content-Type"] = "application/json"
        if "accept" not in lower and spec.response.format in _ACCEPT:
            headers["Accept"] = _ACCEPT[spec.response.format]
        box = toolbox_for(req) if spec.tools == "emulate" else None
        return PreparedRequest(spec.method, url, headers, body, box)

    # -- response ---------------------------------------------------------------------------------------

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        if any(isinstance(p, FilePart) for m in req.messages for p in m.parts):
            prep = await asyncio.to_thread(self.prepare, req, model, account)  # PDF text extraction
        else:
            prep = self.prepare(req, model, account)
        trace = self.trace
        if trace is not None:
            trace("request", prep)
        t = self.config.timeouts or self.upstream.timeouts
        resp = await self.upstream.request(
            prep.method, prep.url, data=prep.body, headers=prep.headers, timeouts=t,
            proxy=account.proxy or self.config.proxy,
        )  # fmt: skip
        try:
            if trace is not None:
                trace("response", resp)
            if resp.status >= 300:
                body = await read_body(resp, t.idle)
                if trace is not None:
                    trace("chunk", body)
                raise map_upstream_error(resp.status, body, resp.headers, self.rules, self.name)
            reader = BodyReader(self.spec.response, resp.headers.get("Content-Type", ""))
            tr = Translator(self.spec, model, prep.toolbox)
            out: list[Event] = []
            try:
                async for chunk in iter_body(resp, t.idle):
                    if chunk is None:
                        continue
                    if trace is not None:
                        trace("chunk", chunk)
                    for piece in reader.feed(chunk):
                        self._piece(tr, piece, resp.status, out)
                    if out:
                        for ev in out:
                            yield ev
                        out.clear()
                    if reader.done:
                        break
                for piece in reader.close():
                    self._piece(tr, piece, resp.status, out)
                tr.end(out)
            except GatewayError as e:
                if not tr.started:
                    raise
                for ev in out:
                    yield ev
                yield ErrorEvent(e)
                return
            for ev in out:
                yield ev
        finally:
            resp.release()

    def _piece(self, tr: Translator, piece: Piece, status: int, out: list[Event]) -> None:
        if piece.error is not None:
            raise self.body_error(piece.error, piece.error_body or piece.error.encode(), status)
        tr.piece(piece, out)

    def body_error(self, message: str, body: bytes, status: int) -> GatewayError:
        """An error the upstream reported inside a successful response (or a stream event)."""
        rule = match_rule(self.rules, status, body)
        if rule is not None:
            kind = rule.kind
            return GatewayError(
                kind,  # type: ignore[arg-type]
                message, status=rule.status or DEFAULT_STATUS[kind],  # type: ignore[index]
                code=rule.code or kind, upstream_status=status,
            )  # fmt: skip
        return GatewayError(
            "upstream", f"Upstream error: {message}", code="upstream_error", upstream_status=status
        )


class Translator:
    """Pieces of an upstream response -> hub events (one instance per response)."""

    def __init__(self, spec: HttpSpec, model: str, toolbox: ToolBox | None) -> None:
        self.spec = spec
        self.model = model
        th = spec.think
        self.think = ThinkSplitter(th.open, th.close, th.anywhere) if th is not None else None
        self.parser = ToolCallParser(toolbox, bare_json=spec.bare_json) if toolbox else None
        self.started = False
        self.seen = False
        self.id: str | None = None
        self.usage: Usage | None = None
        self.finish: str | None = None
        self.calls = 0
        self._next = 0
        self._open = -1
        self._open_kind = ""
        self._pending_ws = ""
        self._prev_text = ""
        self._prev_reasoning = ""

    # -- input

    def piece(self, p: Piece, out: list[Event]) -> None:
        if p.id is not None and self.id is None:
            self.id = p.id
        if p.meaningful:
            self.seen = True
        if p.reasoning:
            r = self._cumulative(p.reasoning, reasoning=True) if self.spec.cumulative else p.reasoning
            if r:
                self._reasoning(r, out)
        if p.text:
            t = self._cumulative(p.text, reasoning=False) if self.spec.cumulative else p.text
            if t:
                self._text(t, out)
        if p.usage is not None:
            if self.usage is None:
                self.usage = Usage()
            self.usage.merge(p.usage)
        if p.finish is not None:
            self.finish = p.finish

    def end(self, out: list[Event]) -> None:
        if not self.seen:
            raise GatewayError(
                "upstream",
                "The upstream response held nothing the provider's response rules recognise "
                "(check response.text and the other paths)",
                code="upstream_bad_response",
            )
        if self.think is not None:
            for is_r, s in self.think.close():
                if is_r:
                    self._reasoning(s, out)
                else:
                    self._plain(s, out)
        if self.parser is not None:
            self._parsed(self.parser.close(), out)
            if self._pending_ws and not self.calls:
                self._emit_text(self._pending_ws, out)
            self._pending_ws = ""
        self._start(out)
        self._close_open(out)
        if self.usage is not None:
            out.append(UsageEvent(self.usage))
        reason: FinishReason = "stop"
        if self.finish is not None:
            reason = self.spec.finish_map.get(
                self.finish, self.spec.finish_map.get(self.finish.lower(), "stop")
            )
        if self.calls and reason == "stop":
            reason = "tool_calls"
        out.append(Finish(reason))

    # -- pipeline: cumulative -> think -> tool parser -> parts

    def _cumulative(self, s: str, reasoning: bool) -> str:
        prev = self._prev_reasoning if reasoning else self._prev_text
        if reasoning:
            self._prev_reasoning = s
        else:
            self._prev_text = s
        if s.startswith(prev):
            return s[len(prev) :]
        n = 0
        for a, b in zip(prev, s, strict=False):
            if a != b:
                break
            n += 1
        return s[n:]

    def _text(self, s: str, out: list[Event]) -> None:
        if self.think is None:
            self._plain(s, out)
            return
        for is_r, part in self.think.feed(s):
            if is_r:
                self._reasoning(part, out)
            else:
                self._plain(part, out)

    def _plain(self, s: str, out: list[Event]) -> None:
        if self.parser is None:
            self._emit_text(s, out)
        else:
            self._parsed(self.parser.feed(s), out)

    def _parsed(self, events: list[Any], out: list[Event]) -> None:
        for e in events:
            if isinstance(e, ParsedCall):
                self._pending_ws = ""  # whitespace around calls is layout, not an answer
                self._call(e, out)
            else:
                s = e.text
                if not s.strip():
                    self._pending_ws += s
                    continue
                if self._pending_ws:
                    s = self._pending_ws + s
                    self._pending_ws = ""
                self._emit_text(s, out)

    # -- output

    def _start(self, out: list[Event]) -> None:
        if not self.started:
            self.started = True
            out.append(ResponseStart(self.id or f"http-{uuid.uuid4().hex}", self.model, int(time.time())))

    def _close_open(self, out: list[Event]) -> None:
        if self._open >= 0:
            out.append(PartEnd(self._open))
            self._open = -1
            self._open_kind = ""

    def _delta(self, kind: str, s: str, out: list[Event]) -> None:
        if not s:
            return
        self._start(out)
        if self._open_kind != kind:
            self._close_open(out)
            self._open = self._next
            self._next += 1
            self._open_kind = kind
            out.append(PartStart(self._open, TextPart("") if kind == "text" else ReasoningPart("")))
        out.append(PartDelta(self._open, s))

    def _emit_text(self, s: str, out: list[Event]) -> None:
        self._delta("text", s, out)

    def _reasoning(self, s: str, out: list[Event]) -> None:
        self._delta("reasoning", s, out)

    def _call(self, call: ParsedCall, out: list[Event]) -> None:
        self._start(out)
        self._close_open(out)
        idx = self._next
        self._next += 1
        self.calls += 1
        out.append(PartStart(idx, ToolCallPart(f"call_{uuid.uuid4().hex[:24]}", call.name, "")))
        out.append(PartDelta(idx, call.arguments))
        out.append(PartEnd(idx))
