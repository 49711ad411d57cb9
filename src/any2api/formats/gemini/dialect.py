"""The Gemini client dialect on today's ``formats/base.py`` interface.

Gemini carries the model and the stream flag in the URL (``/v1beta/models/{model}:streamGenerateContent``)
and the framing in the query (``alt=sse``), so a dialect object is made per request with what the URL said
(:meth:`GeminiDialect.for_call`); its ``peek`` only checks the body. It also links the pass-through usage
sniffer and the stream renderer of that request: a JSON-array stream that breaks must close the array that
the passed-through bytes opened."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from ...core.errors import GatewayError
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...wire.gemini import NAME, error_json
from ..base import Dialect, StreamRenderer, UsageSniffer
from .parse import include_thoughts, parse_request, peek
from .render import response_json
from .sniff import GeminiUsageSniffer
from .stream import GeminiStreamRenderer


class GeminiDialect(Dialect):
    name: ClassVar[str] = NAME

    def __init__(self, model: str = "", stream: bool = False, sse: bool = True) -> None:
        self.model = model
        self.stream = stream
        self.sse = sse
        self._sniffer: GeminiUsageSniffer | None = None

    @classmethod
    def for_call(cls, model: str, stream: bool, sse: bool) -> GeminiDialect:
        return cls(model, stream, sse)

    def peek(self, body: Any) -> tuple[str, bool]:
        peek(body)
        return self.model, self.stream

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        return parse_request(body, self.model, self.stream)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return orjson.dumps(response_json(resp, req, include_thoughts(req)))

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        r = GeminiStreamRenderer(req, sse=self.sse, thoughts=include_thoughts(req))
        if self._sniffer is not None and not self.sse:  # pass-through: the array is already open
            r._elements = 1
        return r

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_json(err))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        self._sniffer = GeminiUsageSniffer(stream, self.sse)
        return self._sniffer


GEMINI = GeminiDialect()
"""A dialect for errors and model lists (requests get their own, see :meth:`GeminiDialect.for_call`)."""
