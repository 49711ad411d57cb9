"""The Gemini API as a client dialect: its routes and the glue to parse / render / stream / sniff.

Gemini carries the model and the stream flag in the URL (``/v1beta/models/{model}:streamGenerateContent``),
the stream's framing in the query (``?alt=sse``: SSE; without it: one JSON array written as it grows) and the
key in ``x-goog-api-key``, ``?key=`` or a Bearer token. The registered dialect (:data:`GEMINI`) frames streams
as a JSON array; :meth:`GeminiDialect.variant` picks its SSE twin for ``alt=sse`` requests (both are built
once, at import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import orjson

from ...core.errors import GatewayError
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...wire.gemini import NAME, bare_model, error_json
from ..base import (
    Dialect,
    DialectRoute,
    ModelCard,
    RequestContext,
    StreamRenderer,
    UsageSniffer,
    bearer_token,
    chat_route,
    count_tokens_route,
    model_route,
    models_route,
)
from .parse import include_thoughts, parse_count_request, parse_request, peek, refuse_without_gemini
from .render import model_json, response_json
from .sniff import GeminiUsageSniffer
from .stream import stream_renderer

PREFIXES = ("/v1beta", "/gemini/v1beta", "/gemini/v1", "/v1")
"""Where Google's clients send requests: ``/v1beta`` (the SDKs' default), ``/v1`` (google-genai with
``api_version="v1"``), and both under ``/gemini`` (for proxies that prefix)."""

GOOGLE_HEADERS = ("x-goog-api-key", "x-goog-api-client")
"""Sent by Google's SDKs and the Gemini CLI: on the paths OpenAI's dialect also serves (``GET /v1/models``),
either picks this dialect."""

ACTIONS = {"generateContent": False, "streamGenerateContent": True}
"""Chat actions of ``{model}:{action}`` -> stream flag (``countTokens`` has its own route)."""


def _routes() -> tuple[DialectRoute, ...]:
    out: list[DialectRoute] = []
    for p in PREFIXES:
        for coll in ("models", "tunedModels"):
            # countTokens first: its route is tried before the chat route that would also match it
            out.append(count_tokens_route(f"{p}/{coll}/{{model:path}}:countTokens"))
            out.append(chat_route(f"{p}/{coll}/{{model:path}}:{{action}}"))
        if p == "/v1":  # shared with OpenAI's (and Anthropic's) model list: Google's clients only
            for h in GOOGLE_HEADERS:
                out.append(models_route("/v1/models", when_header=h))
                out.append(model_route("/v1/models/{model:path}", when_header=h))
        else:
            out.append(models_route(f"{p}/models"))
            out.append(model_route(f"{p}/models/{{model:path}}"))
    return tuple(out)


class GeminiDialect(Dialect):
    name: ClassVar[str] = NAME
    wire: ClassVar[str] = NAME
    namespaces: ClassVar[tuple[str, ...]] = ("/v1beta", "/gemini")

    def __init__(self, sse: bool = False) -> None:
        self.sse = sse
        self._sse_twin: GeminiDialect = self if sse else GeminiDialect(sse=True)

    # ---------------------------------------------------------------- declaration

    def routes(self) -> Sequence[DialectRoute]:
        return _routes()

    def variant(self, ctx: RequestContext) -> Dialect:
        """The SSE twin for ``?alt=sse``; this (JSON-array framing) otherwise."""
        return self._sse_twin if ctx.query_string and ctx.query.get("alt") == "sse" else self

    # ---------------------------------------------------------------- reading a request

    def credentials(self, ctx: RequestContext) -> str | None:
        key = ctx.headers.get("x-goog-api-key")
        if key:
            return key
        if ctx.query_string:
            key = ctx.query.get("key")
            if key:
                return key
        return bearer_token(ctx.headers)

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        action = str(ctx.path_params.get("action", ""))
        stream = ACTIONS.get(action)
        if stream is None:
            raise GatewayError("not_found", f"Method {action!r} is not supported by this gateway "
                               "(generateContent, streamGenerateContent, countTokens).", code="unknown_method")  # fmt: skip
        peek(ctx.json)
        return bare_model(str(ctx.path_params["model"])), stream

    async def before_translation(self, ctx: RequestContext, wires: frozenset[str]) -> None:
        if wires != {NAME}:
            refusal = refuse_without_gemini(ctx.json)
            if refusal is not None:
                raise refusal

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        model, stream = self.peek(ctx)
        return parse_request(ctx.json, model, stream)

    def parse_count_request(self, ctx: RequestContext) -> ChatRequest:
        return parse_count_request(ctx.json, bare_model(str(ctx.path_params["model"])))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return GeminiUsageSniffer(stream, self.sse)

    # ---------------------------------------------------------------- rendering

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        return orjson.dumps(response_json(resp, req, include_thoughts(req)))

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return stream_renderer(req, sse=self.sse, thoughts=include_thoughts(req))

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_json(err))

    def render_model_list(self, models: Sequence[ModelCard]) -> bytes:
        return orjson.dumps({"models": [model_json(m.id, m.owner) for m in models]})

    def render_model(self, model: ModelCard) -> bytes:
        return orjson.dumps(model_json(bare_model(model.id), model.owner))

    def render_token_count(self, n: int) -> bytes:
        return orjson.dumps({"totalTokens": n})


GEMINI = GeminiDialect()
"""The registered Gemini dialect (JSON-array stream framing; its SSE twin serves ``alt=sse``)."""
