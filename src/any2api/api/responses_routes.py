"""OpenAI Responses endpoints.

* ``POST /v1/responses`` (and ``/responses``): the generic chat handler with the Responses dialect (with this
  instance's response store), plus what only this dialect needs once the route is known: reasoning the
  gateway sealed into ``encrypted_content`` is opened for the provider the request goes to; hosted tools
  (``web_search`` ...) and their items get a clear 400 when the model is not served by a Responses upstream
  (unless that provider's ``options.hosted_tools`` is ``drop``).
* ``GET /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items``, ``DELETE /v1/responses/{id}``: stored
  responses (``formats/openai_responses/state.py``: in memory, per instance, bounded; only the key that made
  a response sees it).
* ``POST /v1/responses/input_tokens``: the input tokens of a request, counted with the routed model's tokenizer.
* ``POST /v1/responses/compact``: passed through to a Responses upstream; elsewhere a summarising call to the
  routed model (``formats/openai_responses/compact.py``).

When the dialect interface gains hooks before routing / after completion (architecture step), the endpoint
subclass below becomes those hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
from starlette.routing import BaseRoute, Route

from ..core.accumulator import accumulate_async
from ..core.errors import GatewayError, invalid
from ..core.request import ChatRequest
from ..formats.openai_responses.compact import compacted, summary_request
from ..formats.openai_responses.parse import foreign_items, hosted_tools, restore_reasoning
from ..formats.openai_responses.state import StatefulResponses, not_found, owner_of, unresolved_previous
from ..gateway import Gateway
from ..jsonutil import loads_body
from ..tokens import count_request_tokens, family_for
from ..upstream import read_body as read_upstream
from ..wire.openai_responses import COMPACT_HEADER, NAME
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

if TYPE_CHECKING:
    from ..auth import Client
    from ..routing.router import Route as ModelRoute


def prepare(req: ChatRequest, routes: tuple[ModelRoute, ...]) -> None:
    """What depends on the upstream: hosted tools and their items, stored ids, sealed reasoning."""
    provider = routes[0].provider
    if provider.dialect != NAME:
        hosted = hosted_tools(req)
        if hosted and provider.config.options.get("hosted_tools", "error") != "drop":
            raise GatewayError(
                "invalid_request",
                f"The hosted tool {hosted[0]!r} needs an OpenAI Responses upstream, but model {req.model!r} is "
                f"served by provider {provider.name!r}. Remove the tool, or set 'options.hosted_tools: drop' on "
                "that provider to leave hosted tools out.",
                param="tools", code="unsupported_tool",
            )  # fmt: skip
        items = foreign_items(req)
        if items:
            field, kind = items[0]
            raise GatewayError(
                "invalid_request",
                f"Input item '{field}' ({kind}) comes from a tool only the OpenAI Responses API runs; model "
                f"{req.model!r} is served by provider {provider.name!r}, which cannot take it.",
                param=field, code="unsupported_content",
            )  # fmt: skip
        prev = unresolved_previous(req)
        if prev is not None:
            raise not_found(prev, "Previous response", "previous_response_id")
    restore_reasoning(req, provider.name)


PARAMS = {
    "response_format": "text.format",
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
}
"""Hub / other-dialect parameter names an upstream's refusal may name -> the Responses field."""


def _own_param(e: GatewayError) -> GatewayError:
    if e.param in PARAMS:
        e.message = e.message.replace(e.param, PARAMS[e.param])
        e.param = PARAMS[e.param]
    return e


class ResponsesEndpoint(ChatEndpoint):
    """The chat handler with the Responses dialect and the per-route preparation above."""

    async def _complete(
        self, send: Send, gw: Gateway, client: Client, routes: tuple[ModelRoute, ...], req: ChatRequest,
        started: float,
    ) -> None:  # fmt: skip
        prepare(req, routes)
        try:
            await super()._complete(send, gw, client, routes, req, started)
        except GatewayError as e:
            raise _own_param(e) from None

    async def _stream(
        self, receive: Receive, send: Send, gw: Gateway, client: Client, routes: tuple[ModelRoute, ...],
        req: ChatRequest, started: float,
    ) -> None:  # fmt: skip
        prepare(req, routes)
        try:
            await super()._stream(receive, send, gw, client, routes, req, started)
        except GatewayError as e:
            raise _own_param(e) from None


Handler = Callable[[Gateway, Scope, dict[str, str], bytes], Awaitable[tuple[int, bytes]]]


class StateEndpoint:
    """An authenticated JSON endpoint with errors in OpenAI's shape."""

    def __init__(self, rt: Runtime, dialect: StatefulResponses, fn: Handler) -> None:
        self.rt = rt
        self.dialect = dialect
        self.fn = fn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        try:
            await gw.auth.authenticate(bearer_token(headers))
            body = (
                await read_body(receive, headers, gw.config.server.max_body_bytes)
                if scope["method"] == "POST"
                else b""
            )
            status, out = await self.fn(gw, scope, headers, body)
        except GatewayError as e:
            await send_bytes(
                send, self.dialect.error_status(e), self.dialect.render_error(e), error_headers(e)
            )
            return
        except ClientGone:
            return
        await send_bytes(send, status, out)


def _query(scope: Scope) -> dict[str, str]:
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {k: v[-1] for k, v in q.items()}


def build_routes(rt: Runtime) -> list[BaseRoute]:
    dialect = StatefulResponses()
    store = dialect.store
    endpoint = ResponsesEndpoint(rt, dialect)

    async def retrieve(gw: Gateway, scope: Scope, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        rid = scope["path_params"]["response_id"]
        entry = store.get(rid, owner_of(headers))
        if entry is None:
            raise not_found(rid)
        return 200, orjson.dumps(entry.response)

    async def delete(gw: Gateway, scope: Scope, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        rid = scope["path_params"]["response_id"]
        if not store.delete(rid, owner_of(headers)):
            raise not_found(rid)
        return 200, orjson.dumps({"id": rid, "object": "response", "deleted": True})

    async def input_items(
        gw: Gateway, scope: Scope, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        rid = scope["path_params"]["response_id"]
        entry = store.get(rid, owner_of(headers))
        if entry is None:
            raise not_found(rid)
        q = _query(scope)
        order = q.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid(
                f"Invalid value for 'order': {order!r}. Supported values are: 'asc' and 'desc'.", "order"
            )
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            raise invalid("'limit' must be an integer.", "limit") from None
        if not 1 <= limit <= 100:
            raise invalid("'limit' must be between 1 and 100.", "limit")
        items: list[dict[str, Any]] = list(
            entry.input_items if order == "asc" else reversed(entry.input_items)
        )
        after = q.get("after")
        if after:
            ids = [it.get("id") for it in items]
            if after not in ids:
                raise not_found(after, "Item", "after")
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return 200, orjson.dumps({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                                  "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})  # fmt: skip

    async def input_tokens(
        gw: Gateway, scope: Scope, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        client = await gw.auth.authenticate(bearer_token(headers))
        obj = loads_body(body)
        if isinstance(obj, dict):
            obj = {**obj, "store": False}
        req = dialect.parse_request(obj, headers)
        client.check_model(req.model)
        route = gw.router.resolve(req.model)[0]
        family = family_for(route.model, route.provider.config.type)
        n = await asyncio.to_thread(count_request_tokens, req, family)
        return 200, orjson.dumps({"object": "response.input_tokens", "input_tokens": n})

    async def compact(gw: Gateway, scope: Scope, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        client = await gw.auth.authenticate(bearer_token(headers))
        obj = loads_body(body)
        if isinstance(obj, dict):
            obj = {**obj, "store": False}
            obj.pop("stream", None)
        req = dialect.parse_request(obj, headers)
        client.check_model(req.model)
        routes = gw.router.resolve(req.model)
        if all(r.provider.dialect == NAME and r.provider.passthrough for r in routes):
            fwd = await gw.forward(routes, obj, False, {**headers, COMPACT_HEADER: "1"})
            try:
                raw = await read_upstream(fwd.response, gw.config.server.timeouts.idle)
            finally:
                fwd.response.release()
                await fwd.release(None)
            return 200, raw
        summary = summary_request(req)
        prepare(summary, routes)
        resp = await accumulate_async(gw.events(summary, routes))
        return 200, orjson.dumps(compacted(obj, resp))

    def ep(fn: Handler) -> StateEndpoint:
        return StateEndpoint(rt, dialect, fn)

    return [
        Route("/v1/responses", endpoint, methods=["POST"]),
        Route("/responses", endpoint, methods=["POST"]),
        Route("/v1/responses/input_tokens", ep(input_tokens), methods=["POST"]),
        Route("/v1/responses/compact", ep(compact), methods=["POST"]),
        Route("/responses/compact", ep(compact), methods=["POST"]),
        Route("/responses/input_tokens", ep(input_tokens), methods=["POST"]),
        Route("/v1/responses/{response_id}", ep(retrieve), methods=["GET"]),
        Route("/v1/responses/{response_id}", ep(delete), methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", ep(input_items), methods=["GET"]),
        Route("/responses/{response_id}", ep(retrieve), methods=["GET"]),
        Route("/responses/{response_id}", ep(delete), methods=["DELETE"]),
        Route("/responses/{response_id}/input_items", ep(input_items), methods=["GET"]),
    ]
