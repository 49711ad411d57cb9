"""The Starlette application: routes, lifespan, and JSON errors for unknown paths and methods."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..admin import build_routes as admin_routes
from ..compose import assemble
from ..config import Config, load_config
from ..core.errors import GatewayError
from ..demo import demo_config
from ..formats.registry import dialects
from ..formats.registry import fallback as fallback_dialect
from ..gateway import Gateway
from .asgi import Receive, Scope, Send, send_bytes
from .chat import Runtime
from .dispatch import Dispatch, ErrorOwners, build_dispatch, match_param_route
from .endpoints import AppEndpoint

log = logging.getLogger("any2api")

SERVICE = "any2api"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def health(gw: Gateway) -> bytes:
    return orjson.dumps({"status": "ok", "service": SERVICE, "timestamp": _now_iso()})


async def healthz(gw: Gateway) -> bytes:
    return b'{"status":"ok"}'


async def readyz(gw: Gateway) -> bytes:
    checks: dict[str, str] = {"config": "ok"}
    for name, check in gw.ready_checks.items():
        try:
            await check()
            checks[name] = "ok"
        except Exception as e:
            checks[name] = f"error: {type(e).__name__}"
            raise GatewayError("overloaded", f"not ready: {name} unreachable", code="not_ready") from None
    return orjson.dumps({"status": "ready", "checks": checks})


class ErrorPages:
    """Starlette's exception handlers: unknown paths, wrong methods and crashes answered in the shape of the
    dialect that owns the path."""

    def __init__(self, owners: ErrorOwners) -> None:
        self.owners = owners

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        d = self.owners(request.url.path)
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

    async def server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        d = self.owners(request.url.path)
        err = GatewayError("internal", "Internal server error.", code="internal_error")
        return Response(d.render_error(err), status_code=500, media_type="application/json")


def build_routes(rt: Runtime, dispatch: Dispatch) -> list[BaseRoute]:
    """The registered dialects' routes, the health endpoints and the admin API."""
    owners = dispatch.owners
    routes: list[BaseRoute] = [
        *dispatch.routes,
        Route("/", AppEndpoint(rt, health, owners("/")), methods=["GET"]),
        Route("/healthz", AppEndpoint(rt, healthz, owners("/healthz")), methods=["GET"]),
        Route("/readyz", AppEndpoint(rt, readyz, owners("/readyz")), methods=["GET"]),
    ]
    routes.extend(admin_routes(rt))
    return routes


class FrontDoor:
    """Pure ASGI: chat POSTs are dispatched by an exact-path dict lookup (then, only on a miss, by the few
    chat routes with path parameters), bypassing Starlette's routing and middleware on the hot path;
    everything else (and lifespan) goes to the Starlette app."""

    def __init__(self, app: Starlette, dispatch: Dispatch) -> None:
        self.app = app
        self.fast = dispatch.fast
        self.fast_params = dispatch.fast_params
        self.exact_paths = dispatch.exact_paths
        self.owners = dispatch.owners
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            endpoint = self.fast.get(path)
            if endpoint is None and self.fast_params and path not in self.exact_paths:
                endpoint = match_param_route(self.fast_params, scope)
            if endpoint is not None:
                try:
                    await endpoint(scope, receive, send)
                except Exception:
                    log.exception("unhandled error on %s", path)
                    d = self.owners(path)
                    err = GatewayError("internal", "Internal server error.", code="internal_error")
                    with contextlib.suppress(Exception):  # the response may have started already
                        await send_bytes(send, 500, d.render_error(err))
                return
        await self.app(scope, receive, send)


def create_app(config: Config) -> FrontDoor:
    rt = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        parts = await assemble(config)
        rt.gateway = parts.gateway
        try:
            yield
        finally:
            await parts.close()

    registered = dialects()
    for d in registered:
        d.warm()
    dispatch = build_dispatch(rt, registered, fallback_dialect())
    pages = ErrorPages(dispatch.owners)
    app = Starlette(
        routes=build_routes(rt, dispatch),
        lifespan=lifespan,
        exception_handlers={HTTPException: pages.http_error, Exception: pages.server_error},
    )
    app.state.runtime = rt
    return FrontDoor(app, dispatch)


def app_factory() -> FrontDoor:
    """For ``uvicorn --factory`` (multi-worker serving): the config path comes from ``ANY2API_CONFIG``."""
    path = os.environ.get("ANY2API_CONFIG")
    if path == ":demo:":
        return create_app(demo_config())
    if not path:
        raise RuntimeError("ANY2API_CONFIG is not set")
    return create_app(load_config(path))
