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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from ..core.errors import DEFAULT_STATUS, GatewayError
from ..core.events import Event, Finish, ResponseStart, UsageEvent
from ..core.parts import FilePart, ToolCallPart
from ..core.parts_manager import PartsManager, new_call_id
from ..core.request import ChatRequest
from ..core.response import FinishReason, Usage
from ..sse import SSEEvent
from ..toolemu import ParsedCall, ToolBox, ToolCallParser, toolbox_for
from ..upstream import match_rule
from .base import Account
from .http_json import JsonHttpProvider, WireRequest
from .httpapi.extract import BodyReader, Piece
from .httpapi.messages import build_context
from .httpapi.spec import HttpSpec, compile_spec
from .httpapi.template import OMIT
from .httpapi.think import ThinkSplitter
from .registry import register_provider
from .stream_parser import StreamParser

if TYPE_CHECKING:
    from ..config_types import ConfigPath, ProviderConfig
    from ..upstream import Upstream

_ACCEPT = {"sse": "text/event-stream", "ndjson": "application/x-ndjson", "json": "application/json"}


@dataclass(slots=True)
class PreparedRequest(WireRequest):
    toolbox: ToolBox | None = None


def _header_value(name: str, v: Any) -> str:
    s = v if isinstance(v, str) else orjson.dumps(v).decode() if isinstance(v, (dict, list)) else str(v)
    if "\r" in s or "\n" in s:
        raise GatewayError(
            "invalid_request", f"The value of header {name} would contain a line break", code="invalid_header"
        )
    return s


class HttpProvider(JsonHttpProvider):
    auth_style = "none"

    def __init__(self, config: ProviderConfig, upstream: Upstream, spec: HttpSpec | None = None) -> None:
        super().__init__(config, upstream)
        self.spec = spec if spec is not None else compile_spec(config)

    def base_headers(self) -> dict[str, str]:
        return {}  # every header comes from the spec's templates

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
        headers = {k: _header_value(k, v) for k, r in spec.headers if (v := r(ctx)) is not OMIT}
        lower = {k.lower() for k in headers}
        auth = self.auth_header(account.api_key)
        if auth is not None:
            headers["x-api-key" if auth[0].lower() == "x-api-key" else auth[0]] = auth[1]
        body: bytes | None = None
        if spec.body is not None:
            value = spec.body(ctx)
            body = orjson.dumps({} if value is OMIT else value)
            if "content-type" not in lower:
                headers["Content-Type"] = "application/json"
        if "accept" not in lower and spec.response.format in _ACCEPT:
            headers["Accept"] = _ACCEPT[spec.response.format]
        box = toolbox_for(req) if spec.tools == "emulate" else None
        return PreparedRequest(url, body, headers, spec.method, box)

    async def build(self, req: ChatRequest, model: str, account: Account) -> PreparedRequest:
        if any(isinstance(p, FilePart) for m in req.messages for p in m.parts):
            return await asyncio.to_thread(self.prepare, req, model, account)  # PDF text extraction
        return self.prepare(req, model, account)

    # -- response ---------------------------------------------------------------------------------------

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        prep = await self.build(req, model, account)
        if self.trace is not None:
            self.trace("request", prep)
        resp = await self.send(prep.url, prep.body, prep.headers, self.proxy(account), prep.method)
        try:
            reader = BodyReader(self.spec.response, resp.headers.get("Content-Type", ""))
            status = resp.status
            parser = HttpParser(self.spec, model, prep.toolbox, reader,
                                lambda message, body: self.body_error(message, body, status))  # fmt: skip
            async for e in self.events(resp, parser, reader.format):
                yield e
        finally:
            resp.release()

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


def _cumulative_tail(prev: str, s: str) -> str:
    """What a cumulative text adds to the previous one (from the first difference on)."""
    if s.startswith(prev):
        return s[len(prev) :]
    n = 0
    for a, b in zip(prev, s, strict=False):
        if a != b:
            break
        n += 1
    return s[n:]


class HttpParser(StreamParser):
    """Frames of an ``http`` provider's response -> hub events: the spec's response rules make pieces
    (text, reasoning, usage, finish, errors); pieces go through cumulative text, ``<think>`` splitting and
    tool-call emulation into parts."""

    def __init__(
        self, spec: HttpSpec, model: str, toolbox: ToolBox | None, reader: BodyReader,
        error_of: Callable[[str, bytes], GatewayError],
    ) -> None:  # fmt: skip
        super().__init__()
        self.parts = PartsManager(split_start=True)
        self.spec = spec
        self.model = model
        self.reader = reader
        self.error_of = error_of
        th = spec.think
        self.think = ThinkSplitter(th.open, th.close, th.anywhere) if th is not None else None
        self.parser = ToolCallParser(toolbox, bare_json=spec.bare_json) if toolbox else None
        self.seen = False
        self.id: str | None = None
        self.usage: Usage | None = None
        self.finish: str | None = None
        self.calls = 0
        self._pending_ws = ""
        self._prev_text = ""
        self._prev_reasoning = ""

    def feed_frame(self, frame: SSEEvent) -> list[Event]:
        for p in self.reader.pieces(frame):
            if p.error is not None:
                raise self.error_of(p.error, p.error_body or p.error.encode())
            self.piece(p)
        if self.reader.done:
            self.done = True
        return self.parts.take()

    def close(self) -> list[Event]:
        self.end()
        return self.parts.take()

    # -- input

    def piece(self, p: Piece) -> None:
        if p.id is not None and self.id is None:
            self.id = p.id
        if p.meaningful:
            self.seen = True
        if p.reasoning:
            r = p.reasoning
            if self.spec.cumulative:
                r, self._prev_reasoning = _cumulative_tail(self._prev_reasoning, r), r
            if r:
                self._reasoning(r)
        if p.text:
            t = p.text
            if self.spec.cumulative:
                t, self._prev_text = _cumulative_tail(self._prev_text, t), t
            if t:
                self._text(t)
        if p.usage is not None:
            if self.usage is None:
                self.usage = Usage()
            self.usage.merge(p.usage)
        if p.finish is not None:
            self.finish = p.finish

    def end(self) -> None:
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
                    self._reasoning(s)
                else:
                    self._plain(s)
        if self.parser is not None:
            self._parsed(self.parser.close())
            if self._pending_ws and not self.calls:
                self._emit_text(self._pending_ws)
            self._pending_ws = ""
        self._start()
        self.parts.close()
        if self.usage is not None:
            self.parts.events.append(UsageEvent(self.usage))
        self.parts.events.append(Finish(self._finish_reason()))

    def _finish_reason(self) -> FinishReason:
        reason: FinishReason = "stop"
        if self.finish is not None:
            fm = self.spec.finish_map
            reason = fm.get(self.finish, fm.get(self.finish.lower(), "stop"))
        if self.calls and reason == "stop":
            reason = "tool_calls"
        return reason

    # -- pipeline: think -> tool parser -> parts

    def _text(self, s: str) -> None:
        if self.think is None:
            self._plain(s)
            return
        for is_r, part in self.think.feed(s):
            if is_r:
                self._reasoning(part)
            else:
                self._plain(part)

    def _plain(self, s: str) -> None:
        if self.parser is None:
            self._emit_text(s)
        else:
            self._parsed(self.parser.feed(s))

    def _parsed(self, events: list[Any]) -> None:
        for e in events:
            if isinstance(e, ParsedCall):
                self._pending_ws = ""  # whitespace around calls is layout, not an answer
                self._call(e)
            else:
                s = e.text
                if not s.strip():
                    self._pending_ws += s
                    continue
                if self._pending_ws:
                    s = self._pending_ws + s
                    self._pending_ws = ""
                self._emit_text(s)

    # -- output

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self.parts.events.append(ResponseStart(self.id or f"http-{uuid.uuid4().hex}", self.model,
                                                   int(time.time())))  # fmt: skip

    def _emit_text(self, s: str) -> None:
        if s:
            self._start()
            self.parts.text(s)

    def _reasoning(self, s: str) -> None:
        if s:
            self._start()
            self.parts.reasoning(s)

    def _call(self, call: ParsedCall) -> None:
        self._start()
        self.calls += 1
        parts = self.parts
        index = parts.start(ToolCallPart(new_call_id(), call.name, ""))
        parts.delta(index, call.arguments)
        parts.end(index)


def http_options(config: ProviderConfig, where: ConfigPath) -> HttpSpec:
    """The ``http`` type's options validator: the spec, compiled (errors name the key and its line)."""
    return compile_spec(config, where.path, where.line_of)


register_provider("http", HttpProvider, wire="http", options=http_options, inline_options=True)
