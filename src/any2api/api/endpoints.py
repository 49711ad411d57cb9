"""The generic handlers of a dialect's non-chat routes (model list, one model, count_tokens, its own
endpoints) and of the app's own JSON endpoints (health). Authentication, body reading and error rendering
are done here; what the answer looks like comes from the dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..auth import Client
from ..core.errors import GatewayError
from ..formats.base import CustomHandler, Dialect, ModelCard, RequestContext
from ..gateway import Gateway
from ..tokens import count_request_tokens, family_for
from .asgi import (
    ClientGone,
    Receive,
    Scope,
    Send,
    error_headers,
    header_map,
    read_body,
    request_context,
    send_bytes,
)
from .chat import Runtime

_SLOW_FAMILIES = ("claude", "deepseek")
"""Tokenizers that hold the GIL for long texts: counted in a worker thread."""

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class DialectEndpoint:
    """A raw-ASGI endpoint of one dialect's route: authenticated (unless the route says otherwise), the
    body read for methods that carry one, a JSON answer from :meth:`answer`, errors in the dialect's shape."""

    def __init__(self, rt: Runtime, dialect: Dialect, auth: bool = True) -> None:
        self.rt = rt
        self.dialect = dialect
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        d = self.dialect
        headers = header_map(scope)
        ctx = request_context(scope, headers)
        try:
            client = None
            if self.auth:
                client = await gw.auth.authenticate(d.credentials(ctx))
                ctx.client_id = client.key_id
            if scope["method"] in _WITH_BODY:
                ctx.body = await read_body(receive, headers, gw.config.server.max_body_bytes)
            body = await self.answer(gw, client, ctx)
        except GatewayError as e:
            await send_bytes(send, d.error_status(e), d.render_error(e), error_headers(e))
            return
        except ClientGone:
            return
        await send_bytes(send, 200, body)

    async def answer(self, gw: Gateway, client: Client | None, ctx: RequestContext) -> bytes:
        raise NotImplementedError


def model_cards(gw: Gateway) -> list[ModelCard]:
    created = gw.started_at
    return [ModelCard(mid, owner, created) for mid, owner in gw.router.public_models()]


class ModelsEndpoint(DialectEndpoint):
    async def answer(self, gw: Gateway, client: Client | None, ctx: RequestContext) -> bytes:
        return self.dialect.render_model_list(model_cards(gw))


class ModelEndpoint(DialectEndpoint):
    """One model, named by the route's ``model`` path parameter (unknown ids: ``not_found``)."""

    async def answer(self, gw: Gateway, client: Client | None, ctx: RequestContext) -> bytes:
        mid = str(ctx.path_params["model"])
        routes = gw.router.resolve(mid)
        return self.dialect.render_model(ModelCard(mid, routes[0].provider.name, gw.started_at))


class CountTokensEndpoint(DialectEndpoint):
    """The request's input tokens, counted with the tokenizer of the model it routes to (see
    :mod:`any2api.tokens`); nothing goes upstream."""

    async def answer(self, gw: Gateway, client: Client | None, ctx: RequestContext) -> bytes:
        req = self.dialect.parse_count_request(ctx)
        if client is not None:
            client.check_model(req.model)
        route = gw.router.resolve(req.model)[0]
        family = family_for(route.model, route.provider.config.type)
        if family in _SLOW_FAMILIES:
            n = await asyncio.to_thread(count_request_tokens, req, family)
        else:
            n = count_request_tokens(req, family)
        return self.dialect.render_token_count(n)


class CustomEndpoint(DialectEndpoint):
    """A dialect-specific route: the dialect's own handler."""

    def __init__(self, rt: Runtime, dialect: Dialect, handler: CustomHandler, auth: bool = True) -> None:
        super().__init__(rt, dialect, auth)
        self.handler = handler

    async def answer(self, gw: Gateway, client: Client | None, ctx: RequestContext) -> bytes:
        return await self.handler(ctx)


AppHandler = Callable[[Gateway], Awaitable[bytes]]


class AppEndpoint:
    """One of the app's own JSON endpoints (health); errors in the shape of the dialect owning the path."""

    def __init__(self, rt: Runtime, fn: AppHandler, dialect: Dialect) -> None:
        self.rt = rt
        self.fn = fn
        self.dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self.fn(self.rt.gateway)
        except GatewayError as e:
            d = self.dialect
            await send_bytes(send, d.error_status(e), d.render_error(e), error_headers(e))
            return
        await send_bytes(send, 200, body)
