"""The Anthropic Messages dialect: its routes and the glue to parse / render / stream / sniff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import orjson

from ...core.errors import GatewayError
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...tokens import estimate_request_tokens, warm
from ...wire.anthropic_messages import NAME, error_json, error_status
from ..base import (
    Dialect,
    DialectRoute,
    ModelCard,
    RequestContext,
    StreamRenderer,
    UsageSniffer,
    chat_route,
    count_tokens_route,
    model_route,
    models_route,
)
from .parse import parse_request, peek
from .render import render_model, render_model_list, render_response, render_token_count
from .sniff import AnthropicUsageSniffer
from .stream import AnthropicStreamRenderer

VERSION_HEADER = "anthropic-version"
"""Sent by every Anthropic SDK: on the paths OpenAI's dialect also serves (``/v1/models``), it picks this one."""


class AnthropicMessages(Dialect):
    name: ClassVar[str] = NAME
    wire: ClassVar[str] = NAME
    namespaces: ClassVar[tuple[str, ...]] = ("/anthropic",)

    def routes(self) -> Sequence[DialectRoute]:
        return (
            chat_route("/v1/messages"),
            chat_route("/anthropic/v1/messages"),
            count_tokens_route("/v1/messages/count_tokens"),
            count_tokens_route("/anthropic/v1/messages/count_tokens"),
            models_route("/anthropic/v1/models"),
            model_route("/anthropic/v1/models/{model:path}"),
            models_route("/v1/models", when_header=VERSION_HEADER),
            model_route("/v1/models/{model:path}", when_header=VERSION_HEADER),
        )

    def warm(self) -> None:
        warm()  # the message_start estimator's encoding, loaded once before serving

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        return peek(ctx.json)

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        return parse_request(ctx.json, ctx.headers)

    def parse_count_request(self, ctx: RequestContext) -> ChatRequest:
        return parse_request(ctx.json, ctx.headers, count_tokens=True)

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return AnthropicStreamRenderer(req, estimate_request_tokens)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_json(err))

    def error_status(self, err: GatewayError) -> int:
        return error_status(err)

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return AnthropicUsageSniffer(stream)

    def render_model_list(self, models: Sequence[ModelCard]) -> bytes:
        return render_model_list(models)

    def render_model(self, model: ModelCard) -> bytes:
        return render_model(model)

    def render_token_count(self, n: int) -> bytes:
        return render_token_count(n)


ANTHROPIC_MESSAGES = AnthropicMessages()
DIALECT = ANTHROPIC_MESSAGES
