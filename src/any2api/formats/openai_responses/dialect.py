"""The OpenAI Responses client dialect (``POST /v1/responses``)."""

from __future__ import annotations

from typing import Any

import orjson

from ...core.errors import GatewayError
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...wire.openai_responses import NAME, error_json
from ..base import Dialect, StreamRenderer, UsageSniffer
from .parse import parse_request, peek
from .render import render_response
from .sniff import ResponsesUsageSniffer
from .stream import ResponsesStreamRenderer


class OpenAIResponses(Dialect):
    name = NAME

    def peek(self, body: Any) -> tuple[str, bool]:
        return peek(body)

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        return parse_request(body)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return ResponsesStreamRenderer(req)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_json(err))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return ResponsesUsageSniffer(stream)


DIALECT = OpenAIResponses()
