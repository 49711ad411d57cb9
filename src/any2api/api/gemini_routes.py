"""Gemini API endpoints: ``POST …/models/{model}:generateContent | :streamGenerateContent | :countTokens`` and
the model list / model in Google's shape, under ``/v1beta``, ``/v1`` (google-genai's default) and
``/gemini/v1beta`` (for proxies that prefix). Keys come from ``x-goog-api-key``, ``?key=`` or Bearer.

This module is only glue: the model and stream flag come from the URL, the framing from ``alt``; everything
else (pass-through or translation, retries, streaming) is the generic chat handler's, with a Gemini dialect
object made for the request (see ``formats/gemini/dialect.py``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope as StarletteScope

from ..core.errors import GatewayError
from ..formats.gemini import GEMINI, GeminiDialect
from ..formats.gemini.parse import parse_count_request, refuse_without_gemini
from ..gateway import Gateway
from ..jsonutil import loads_body
from ..tokens import count_request_tokens, family_for
from ..wire.gemini import JSON_STREAM_HEADER, NAME, bare_model
from .asgi import (
    SSE_HEADERS,
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
from .chat import ChatEndpoint, Runtime, _pin_account

PREFIXES = ("/v1beta", "/v1", "/gemini/v1beta", "/gemini/v1")
JSON_STREAM_HEADERS = [(b"content-type", b"application/json; charset=UTF-8"), (b"cache-control", b"no-cache"),
                       (b"x-accel-buffering", b"no")]  # fmt: skip
_ACTIONS = ("generateContent", "streamGenerateContent", "countTokens")

_LIMITS: tuple[tuple[str, int, int], ...] = (
    ("gemini-", 1_048_576, 65_536),
    ("claude-", 200_000, 64_000),
    ("deepseek-", 128_000, 8_192),
    ("gpt-", 128_000, 16_384),
)
"""Token limits shown in the model list, by name prefix (the gateway does not know the upstream's own)."""
_DEFAULT_LIMITS = (128_000, 8_192)


def _query(scope: Scope) -> dict[str, str]:
    qs = scope.get("query_string") or b""
    return dict(parse_qsl(qs.decode("latin-1"))) if qs else {}


def google_key(headers: dict[str, str], query: dict[str, str]) -> str | None:
    """The client's key: ``x-goog-api-key``, ``?key=``, or a Bearer token (and ``x-api-key``)."""
    return headers.get("x-goog-api-key") or query.get("key") or bearer_token(headers)


def _is_google(scope: StarletteScope) -> bool:
    for k, _ in scope.get("headers") or ():
        if k in (b"x-goog-api-key", b"x-goog-api-client"):
            return True
    return b"key=" in (scope.get("query_string") or b"")


class GoogleRoute(Route):
    """A route that matches only requests from Google clients (``x-goog-*`` headers or ``?key=``), so
    ``GET /v1/models`` stays OpenAI's for everyone else."""

    def matches(self, scope: StarletteScope) -> tuple[Match, StarletteScope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not _is_google(scope):
            return Match.NONE, {}
        return match, child


def _json_stream_send(send: Send) -> Send:
    """``send`` with the stream's SSE content type replaced by JSON's (a JSON-array stream)."""

    async def wrapped(msg: Any) -> None:
        if msg["type"] == "http.response.start" and msg.get("headers") is SSE_HEADERS:
            msg = {**msg, "headers": JSON_STREAM_HEADERS}
        await send(msg)

    return wrapped


class GeminiEndpoint:
    """``POST {prefix}/models/{model}:{action}``."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        query = _query(scope)
        params = scope.get("path_params") or {}
        model = bare_model(str(params.get("model", "")))
        action = str(params.get("action", ""))
        sse = query.get("alt") == "sse"
        stream = action == "streamGenerateContent"
        dialect = GeminiDialect.for_call(model, stream, sse)
        call = ChatEndpoint(self.rt, dialect)
        if stream and not sse:
            send = _json_stream_send(send)
        started = time.monotonic()
        try:
            if action not in _ACTIONS:
                raise GatewayError("not_found", f"Method {action!r} is not supported by this gateway "
                                   "(generateContent, streamGenerateContent, countTokens).", code="unknown_method")  # fmt: skip
            client = await gw.auth.authenticate(google_key(headers, query))
            pin = headers.get("x-any2api-account")
            if pin is not None:
                _pin_account(client, pin)
            body = await read_body(receive, headers, gw.config.server.max_body_bytes)
            obj = loads_body(body)
            client.check_model(model)
            if action == "countTokens":
                await self._count(send, gw, obj, model)
                return
            dialect.peek(obj)
            routes = gw.router.resolve(model)
            if not all(r.provider.dialect == NAME for r in routes):
                refusal = refuse_without_gemini(obj)
                if refusal is not None:
                    raise refusal
            if all(r.provider.dialect == NAME and r.provider.passthrough and r.provider.can_forward(obj)
                   for r in routes):  # fmt: skip
                fwd_headers = {**headers, JSON_STREAM_HEADER: "json"} if stream and not sse else headers
                await call._forward(
                    receive, send, gw, client, routes, obj, model, stream, started, fwd_headers
                )
                return
            req = dialect.parse_request(obj, headers)
            req.model = model
            if stream:
                await call._stream(receive, send, gw, client, routes, req, started)
            else:
                await call._complete(send, gw, client, routes, req, started)
        except GatewayError as e:
            await call._error(send, e)
        except ClientGone:
            return

    async def _count(self, send: Send, gw: Gateway, obj: Any, model: str) -> None:
        """Exact counts from a Gemini upstream; the tokenizer of the routed model otherwise."""
        route = gw.router.resolve(model)[0]
        count_upstream = getattr(route.provider, "count_tokens", None)
        if route.provider.dialect == NAME and count_upstream is not None:
            lease = gw.pool.lease(route.provider.name, frozenset())
            account = await lease.__aenter__()
            failure: GatewayError | None = None
            try:
                result = await count_upstream(obj, route.model, account)
            except GatewayError as e:
                failure = e
                raise
            finally:
                gw.pool.report(account, failure)
                await lease.__aexit__(None, None, None)
            await send_bytes(send, 200, orjson.dumps(result))
            return
        req = parse_count_request(obj, model)
        family = family_for(route.model, route.provider.config.type)
        n = await asyncio.to_thread(count_request_tokens, req, family)
        await send_bytes(send, 200, orjson.dumps({"totalTokens": n}))


def _limits(mid: str) -> tuple[int, int]:
    for prefix, inp, out in _LIMITS:
        if mid.startswith(prefix):
            return inp, out
    return _DEFAULT_LIMITS


def model_json(mid: str, owner: str) -> dict[str, Any]:
    """A gateway model as Google's ``Model`` resource."""
    inp, out = _limits(mid.rsplit("/", 1)[-1])
    return {
        "name": f"models/{mid}",
        "version": "001",
        "displayName": mid,
        "description": f"{mid} through any2api (provider {owner})",
        "inputTokenLimit": inp,
        "outputTokenLimit": out,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


class GeminiModels:
    """``GET {prefix}/models`` and ``GET {prefix}/models/{model}`` in Google's shape."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        try:
            await gw.auth.authenticate(google_key(headers, _query(scope)))
            params = scope.get("path_params") or {}
            if "model" in params:
                mid = bare_model(str(params["model"]))
                try:
                    routes = gw.router.resolve(mid)
                except GatewayError:
                    raise GatewayError("not_found", f"models/{mid} is not found for API version v1beta, or is not "
                                       "supported for generateContent.", code="model_not_found") from None  # fmt: skip
                body = orjson.dumps(model_json(mid, routes[0].provider.name))
            else:
                body = orjson.dumps({"models": [model_json(m, o) for m, o in gw.router.public_models()]})
        except GatewayError as e:
            await send_bytes(send, GEMINI.error_status(e), GEMINI.render_error(e), error_headers(e))
            return
        await send_bytes(send, 200, body)


def build_routes(rt: Runtime) -> list[BaseRoute]:
    endpoint = GeminiEndpoint(rt)
    models = GeminiModels(rt)
    routes: list[BaseRoute] = []
    for prefix in PREFIXES:
        listing = GoogleRoute if prefix == "/v1" else Route
        routes += [
            Route(f"{prefix}/models/{{model:path}}:{{action}}", endpoint, methods=["POST"]),
            Route(f"{prefix}/tunedModels/{{model:path}}:{{action}}", endpoint, methods=["POST"]),
            listing(f"{prefix}/models", models, methods=["GET"]),
            listing(f"{prefix}/models/{{model:path}}", models, methods=["GET"]),
        ]
    return routes
