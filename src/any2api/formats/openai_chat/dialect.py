"""The OpenAI Chat Completions dialect: its routes and the glue to parse / render / stream / sniff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ...core.errors import GatewayError
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...wire.openai_chat import NAME as WIRE
from ...wire.openai_chat import error_json
from ..base import (
    Dialect,
    DialectRoute,
    ModelCard,
    RequestContext,
    StreamRenderer,
    UsageSniffer,
    chat_route,
    model_route,
    models_route,
)
from .parse import parse_request, validate_basics
from .render import render_model, render_model_list, render_response
from .sniff import OpenAIUsageSniffer
from .stream import OpenAIStreamRenderer


class OpenAIChat(Dialect):
    name = "openai_chat"
    wire = WIRE

    def routes(self) -> Sequence[DialectRoute]:
        return (
            chat_route("/v1/chat/completions"),
            chat_route("/chat/completions"),
            models_route("/v1/models"),
            models_route("/models"),
            model_route("/v1/models/{model:path}"),
        )

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        return validate_basics(ctx.json)

    def wants_usage(self, body: Any) -> bool:
        so = body.get("stream_options")
        return isinstance(so, dict) and bool(so.get("include_usage"))

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        return parse_request(ctx.json)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return OpenAIStreamRenderer(req, self.error_json)

    def error_json(self, err: GatewayError) -> Any:
        return error_json(err)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(self.error_json(err))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return OpenAIUsageSniffer(stream, strip)

    def render_model_list(self, models: Sequence[ModelCard]) -> bytes:
        return render_model_list(models)

    def render_model(self, model: ModelCard) -> bytes:
        return render_model(model)


OPENAI_CHAT = OpenAIChat()
