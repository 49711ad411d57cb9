"""The Starlette application: routes, lifespan, and JSON errors for unknown paths and methods."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..config import Config, load_config
from ..core.errors import GatewayError
from ..formats.base import Dialect
from ..formats.openai_chat import OPENAI_CHAT, PROXY_CHAT
from ..gateway import Gateway
from .asgi import Receive, Scope, Send, bearer_token, error_headers, header_map, send_bytes
from .chat import ChatEndpoint, Runtime

log = logging.getLogger("any2api")

SERVICE = "any2api"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dialect_for_path(path: str) -> Dialect:
    if path.startswith("/anthropic") or path.startswith("/v1/messages"):
        mod = _optional("any2api.formats.anthropic_messages")
        d = getattr(mod, "DIALECT", None) if mod else None
        if isinstance(d, Dialect):
            return d
    if path == "/chat" or (path.startswith("/chat/") and not path.startswith("/chat/completions")):
        return PROXY_CHAT
    return OPENAI_CHAT


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return None


class Endpoint:
    """A tiny raw-ASGI endpoint: authenticated (optionally) JSON answers."""

    def __init__(self, rt: Runtime, fn: Callable[[Gateway, Scope, dict[str, str]], Awaitable[bytes]],
                 auth: bool = True) -> None:  # fmt: skip
        self.rt = rt
        self.fn = fn
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        try:
            if self.auth:
                await gw.auth.authenticate(bearer_token(headers))
            body = await self.fn(gw, scope, headers)
        except GatewayError as e:
            d = dialect_for_path(scope["path"])
            await send_bytes(send, d.error_status(e), d.render_error(e), error_headers(e))
            return
        await send_bytes(send, 200, body)


async def list_models(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    if "anthropic-version" in headers:
        mod = _optional("any2api.api.anthropic_routes")
        render = getattr(mod, "models_list_body", None) if mod else None
        if render is not None:
            return render(gw)  # type: ignore[no-any-return]
    created = gw.started_at
    data = [{"id": mid, "object": "model", "created": created, "owned_by": owner}
            for mid, owner in gw.router.public_models()]  # fmt: skip
    return orjson.dumps({"object": "list", "data": data})


async def get_model(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    mid = scope["path_params"]["model_id"]
    if "anthropic-version" in headers:
        mod = _optional("any2api.api.anthropic_routes")
        render = getattr(mod, "model_body", None) if mod else None
        if render is not None:
            return render(gw, mid)  # type: ignore[no-any-return]
    routes = gw.router.resolve(mid)
    return orjson.dumps(
        {"id": mid, "object": "model", "created": gw.started_at, "owned_by": routes[0].provider.name}
    )


async def health(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    return orjson.dumps({"status": "ok", "service": SERVICE, "timestamp": _now_iso()})


async def healthz(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    return b'{"status":"ok"}'


async def readyz(gw: Gateway, scope: Scope, headers: dict[str, str]) -> bytes:
    checks: dict[str, str] = {"config": "ok"}
    for name, check in gw.ready_checks.items():
        try:
            await check()
            checks[name] = "ok"
        except Exception as e:
            checks[name] = f"error: {type(e).__name__}"
            raise GatewayError("overloaded", f"not ready: {name} unreachable", code="not_ready") from None
    return orjson.dumps({"status": "ready", "checks": checks})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    d = dialect_for_path(request.url.path)
    if exc.status_code == 405:
        err = GatewayError("method_not_allowed", f"Method {request.method} is not allowed on {request.url.path}.",
                           code="method_not_allowed")  # fmt: skip
        headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None
    elif exc.status_code == 404:
        err = GatewayError("not_found", f"Unknown path {request.url.path}.", code="unknown_url")
        headers = None
    else:
        err = GatewayError("invalid_request", str(exc.detail), status=exc.status_code)
        headers = None
    return Response(d.render_error(err), status_code=d.error_status(err), media_type="application/json",
                    headers=headers)  # fmt: skip


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    d = dialect_for_path(request.url.path)
    err = GatewayError("internal", "Internal server error.", code="internal_error")
    return Response(d.render_error(err), status_code=500, media_type="application/json")


def build_routes(rt: Runtime) -> list[BaseRoute]:
    openai_chat = ChatEndpoint(rt, OPENAI_CHAT)
    routes: list[BaseRoute] = [
        Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        Route("/chat/completions", openai_chat, methods=["POST"]),
        Route("/chat", ChatEndpoint(rt, PROXY_CHAT), methods=["POST"]),
        Route("/v1/models", Endpoint(rt, list_models), methods=["GET"]),
        Route("/models", Endpoint(rt, list_models), methods=["GET"]),
        Route("/v1/models/{model_id:path}", Endpoint(rt, get_model), methods=["GET"]),
        Route("/", Endpoint(rt, health, auth=False), methods=["GET"]),
        Route("/healthz", Endpoint(rt, healthz, auth=False), methods=["GET"]),
        Route("/readyz", Endpoint(rt, readyz, auth=False), methods=["GET"]),
    ]
    for modname in ("any2api.api.anthropic_routes", "any2api.api.responses_routes", "any2api.admin"):
        mod = _optional(modname)
        if mod is not None and hasattr(mod, "build_routes"):
            routes.extend(mod.build_routes(rt))
    return routes


class FrontDoor:
    """Pure ASGI: the chat endpoints are dispatched by an exact-path lookup, bypassing Starlette's routing
    and middleware on the hot path; everything else (and lifespan) goes to the Starlette app."""

    def __init__(self, app: Starlette, fast: dict[str, Any]) -> None:
        self.app = app
        self.fast = fast
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast.get(scope["path"])
            if endpoint is not None:
                try:
                    await endpoint(scope, receive, send)
                except Exception:
                    log.exception("unhandled error on %s", scope["path"])
                    d = dialect_for_path(scope["path"])
                    err = GatewayError("internal", "Internal server error.", code="internal_error")
                    with contextlib.suppress(Exception):  # the response may have started already
                        await send_bytes(send, 500, d.render_error(err))
                return
        await self.app(scope, receive, send)


def create_app(config: Config) -> FrontDoor:
    rt = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gw = Gateway(config)
        rt.gateway = gw
        closers: list[Callable[[], Awaitable[None]]] = []
        admin = _optional("any2api.admin")
        if admin is not None and hasattr(admin, "attach"):
            closer = await admin.attach(gw, config)
            if closer is not None:
                closers.append(closer)
        await gw.start()
        try:
            yield
        finally:
            for c in reversed(closers):
                await c()
            await gw.close()

    routes = build_routes(rt)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.runtime = rt
    fast = {r.path: r.app for r in routes if isinstance(r, Route) and isinstance(r.app, ChatEndpoint)}
    return FrontDoor(app, fast)


def app_factory() -> FrontDoor:
    """For ``uvicorn --factory`` (multi-worker serving): the config path comes from ``ANY2API_CONFIG``."""
    path = os.environ.get("ANY2API_CONFIG")
    if path == ":demo:":
        from ..demo import demo_config

        return create_app(demo_config())
    if not path:
        raise RuntimeError("ANY2API_CONFIG is not set")
    return create_app(load_config(path))
