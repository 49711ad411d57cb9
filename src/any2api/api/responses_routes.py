"""OpenAI Responses endpoints: ``POST /v1/responses`` (and ``/responses``), the generic chat handler with the
Responses dialect plus what only this dialect needs once the route is known:

* reasoning the gateway sealed into ``encrypted_content`` is opened for the provider the request goes to
  (``formats.openai_responses.parse.restore_reasoning``);
* hosted tools (``web_search`` ...) get a clear 400 naming the tool when the model is not served by a
  Responses upstream, unless that provider's ``options.hosted_tools`` is ``drop``.

When the dialect interface gains hooks before routing / after completion (architecture step), this class
becomes those hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route

from ..core.errors import GatewayError
from ..core.request import ChatRequest
from ..formats.openai_responses import DIALECT
from ..formats.openai_responses.parse import foreign_items, hosted_tools, restore_reasoning
from ..gateway import Gateway
from ..wire.openai_responses import NAME
from .asgi import Receive, Send
from .chat import ChatEndpoint, Runtime

if TYPE_CHECKING:
    from ..auth import Client
    from ..routing.router import Route as ModelRoute


def prepare(req: ChatRequest, routes: tuple[ModelRoute, ...]) -> None:
    """What depends on the upstream: hosted tools, sealed reasoning."""
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
    restore_reasoning(req, provider.name)


class ResponsesEndpoint(ChatEndpoint):
    """The chat handler with the Responses dialect and the per-route preparation above."""

    async def _complete(
        self, send: Send, gw: Gateway, client: Client, routes: tuple[ModelRoute, ...], req: ChatRequest,
        started: float,
    ) -> None:  # fmt: skip
        prepare(req, routes)
        await super()._complete(send, gw, client, routes, req, started)

    async def _stream(
        self, receive: Receive, send: Send, gw: Gateway, client: Client, routes: tuple[ModelRoute, ...],
        req: ChatRequest, started: float,
    ) -> None:  # fmt: skip
        prepare(req, routes)
        await super()._stream(receive, send, gw, client, routes, req, started)


def build_routes(rt: Runtime) -> list[BaseRoute]:
    endpoint = ResponsesEndpoint(rt, DIALECT)
    return [
        Route("/v1/responses", endpoint, methods=["POST"]),
        Route("/responses", endpoint, methods=["POST"]),
    ]
