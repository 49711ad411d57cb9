"""Anthropic Messages endpoints: messages (the generic chat handler with the Anthropic dialect),
count_tokens, and the model list in Anthropic's format. Errors are rendered in Anthropic's error body."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.routing import BaseRoute, Route

from ..core.errors import GatewayError
from ..formats.anthropic_messages import DIALECT, parse_request
from ..gateway import Gateway
from ..jsonutil import loads_body
from ..tokens import count_request_tokens, family_for, warm
from .asgi import (
    ClientGone,
    Receive,
    Scope,
    Send,
    bearer_token,
    error_headers,
    header_map,
    read_body,
    send_bytes,
)
from .chat import ChatEndpoint, Runtime

_SLOW_FAMILIES = ("claude", "deepseek")
"""Tokenizers that hold the GIL for long texts: counted in a worker thread."""


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _model_json(gw: Gateway, mid: str, owner: str) -> dict[str, Any]:
    # Anthropic's fields (type, display_name, created_at) plus OpenAI's (object, owned_by): both kinds
    # of client read the same list.
    return {"type": "model", "id": mid, "display_name": mid, "created_at": _iso(gw.started_at),
            "object": "model", "owned_by": owner}  # fmt: skip


def models_list_body(gw: Gateway) -> bytes:
    """``GET /v1/models`` for a client that sent ``anthropic-version`` (and ``GET /anthropic/v1/models``)."""
    data = [_model_json(gw, mid, owner) for mid, owner in gw.router.public_models()]
    return orjson.dumps({
        "data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None, "object": "list",
    })  # fmt: skip


def model_body(gw: Gateway, mid: str) -> bytes:
    """``GET /v1/models/{id}`` in Anthropic's format (unknown ids: ``not_found``)."""
    routes = gw.router.resolve(mid)
    return orjson.dumps(_model_json(gw, mid, routes[0].provider.name))


async def _models(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    return models_list_body(gw)


async def _model(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    return model_body(gw, scope["path_params"]["model_id"])


class CountTokensEndpoint:
    """``POST /v1/messages/count_tokens``: the request's input tokens, counted with the tokenizer of the
    model it routes to (see :mod:`any2api.tokens`)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        try:
            client = await gw.auth.authenticate(bearer_token(headers))
            raw = await read_body(receive, headers, gw.config.server.max_body_bytes)
            req = parse_request(loads_body(raw), headers, count_tokens=True)
            client.check_model(req.model)
            route = gw.router.resolve(req.model)[0]
            family = family_for(route.model, route.provider.config.type)
            if family in _SLOW_FAMILIES:
                n = await asyncio.to_thread(count_request_tokens, req, family)
            else:
                n = count_request_tokens(req, family)
        except GatewayError as e:
            await send_bytes(send, DIALECT.error_status(e), DIALECT.render_error(e), error_headers(e))
            return
        except ClientGone:
            return
        await send_bytes(send, 200, b'{"input_tokens":' + str(n).encode() + b"}")


def build_routes(rt: Runtime) -> list[BaseRoute]:
    warm()  # the message_start estimator's encoding, loaded once before serving
    messages = ChatEndpoint(rt, DIALECT)
    count = CountTokensEndpoint(rt)
    from .app import Endpoint  # the app imports this module while building its routes

    models = Endpoint(rt, _models)
    model = Endpoint(rt, _model)
    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/anthropic/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count, methods=["POST"]),
        Route("/anthropic/v1/messages/count_tokens", count, methods=["POST"]),
        Route("/anthropic/v1/models", models, methods=["GET"]),
        Route("/anthropic/v1/models/{model_id:path}", model, methods=["GET"]),
    ]
