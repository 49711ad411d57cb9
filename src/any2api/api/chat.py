"""The one chat handler every client dialect uses: auth, routing, pass-through or translation, streaming."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..auth import PIN_HEADER, check_pin
from ..core.accumulator import Accumulator
from ..core.errors import GatewayError
from ..core.events import ErrorEvent, Event, UsageEvent
from ..core.parts import UnsupportedContentError
from ..core.request import ChatRequest
from ..core.response import ChatResponse, Usage
from ..formats.base import Dialect, RequestContext, UpstreamTarget, overrides
from ..gateway import Gateway, UsageRecord
from .asgi import (
    ClientGone,
    Receive,
    Scope,
    Send,
    error_headers,
    header_map,
    read_body,
    request_context,
    stream_headers,
)

if TYPE_CHECKING:
    from ..auth import Client
    from ..routing.router import Route

log = logging.getLogger("any2api.chat")
_END = object()


class Runtime:
    """Holds the live gateway (created in the app's lifespan, inside the serving process)."""

    gateway: Gateway


class ChatEndpoint:
    """A raw ASGI app for one dialect's chat route: everything dialect-specific comes from the dialect."""

    def __init__(self, runtime: Runtime, dialect: Dialect) -> None:
        self.rt = runtime
        self.dialect = dialect
        # the state hooks, only when the dialect has them (no awaits, no accumulation otherwise)
        self._before = dialect.before_routing if overrides(dialect, "before_routing") else None
        self._after = dialect.after_completion if overrides(dialect, "after_completion") else None
        self._variant = dialect.variant if overrides(dialect, "variant") else None
        self._translating = dialect.before_translation if overrides(dialect, "before_translation") else None
        self._upstream = dialect.before_upstream if overrides(dialect, "before_upstream") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gw = self.rt.gateway
        headers = header_map(scope)
        ctx = request_context(scope, headers)
        d = self.dialect if self._variant is None else self._variant(ctx)
        started = time.monotonic()
        try:
            client = await gw.auth.authenticate(d.credentials(ctx))
            pin = headers.get(PIN_HEADER)
            if pin is not None:
                check_pin(client, pin)
            body = await read_body(receive, headers, gw.config.server.max_body_bytes)
            ctx.body = body
            ctx.client_id = client.key_id
            model, stream = d.peek(ctx)
            client.check_model(model)
            if self._before is not None:
                await self._before(ctx)
            obj = ctx.json
            routes = gw.router.resolve(model)
            wire = d.wire
            if all(r.provider.dialect == wire and r.provider.passthrough and r.provider.can_forward(obj)
                   for r in routes):  # fmt: skip
                await self._forward(receive, send, d, gw, client, routes, ctx, model, stream, started, pin)
                return
            if self._translating is not None:
                await self._translating(ctx, frozenset(r.provider.dialect for r in routes))
            req = d.parse_request(ctx)
            req.model = model
            if self._upstream is not None:
                p = routes[0].provider
                self._upstream(
                    ctx, req, UpstreamTarget(p.name, p.dialect, p.config.options, p.config.hosted_tools)
                )
            if req.stream:
                await self._stream(receive, send, d, gw, client, routes, req, started, ctx, pin)
            else:
                await self._complete(send, d, gw, client, routes, req, started, ctx, pin)
        except GatewayError as e:
            await self._error(send, d, e)
        except UnsupportedContentError as e:  # hub content the upstream's wire format cannot carry
            await self._error(
                send, d, GatewayError("invalid_request", str(e), param=e.param, code="unsupported_content")
            )
        except ClientGone:
            return

    async def _error(self, send: Send, d: Dialect, err: GatewayError) -> None:
        body = d.render_error(err)
        status = d.error_status(err)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*error_headers(err), (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def _completed(self, ctx: RequestContext, req: ChatRequest, resp: ChatResponse) -> None:
        assert self._after is not None
        try:
            await self._after(ctx, req, resp)
        except Exception:  # the answer is out already; a hook's failure must not break the connection
            log.exception("%s after_completion hook failed", self.dialect.name)

    # ---------------------------------------------------------------- translating path

    async def _complete(
        self, send: Send, d: Dialect, gw: Gateway, client: Client, routes: tuple[Route, ...], req: ChatRequest, started: float,
        ctx: RequestContext, pin: str | None = None,
    ) -> None:  # fmt: skip
        acc = Accumulator()
        try:
            async with contextlib.aclosing(gw.events(req, routes, pin)) as agen:
                async for ev in agen:
                    acc.add(ev)
                    if acc.error is not None:
                        break
            resp = acc.result()
        except GatewayError as e:
            self._record(gw, client, routes[0], acc.response.usage, started, e.status, e.kind)
            raise
        body = d.render_response(resp, req)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
        self._record(gw, client, routes[0], resp.usage, started, 200, None)
        if self._after is not None:
            await self._completed(ctx, req, resp)

    async def _stream(
        self, receive: Receive, send: Send, d: Dialect, gw: Gateway, client: Client, routes: tuple[Route, ...],
        req: ChatRequest, started: float, ctx: RequestContext, pin: str | None = None,
    ) -> None:  # fmt: skip
        renderer = d.stream_renderer(req)
        agen = gw.events(req, routes, pin)
        first = await anext(agen)  # failures before the first event are plain HTTP errors (after retries)
        await send(
            {"type": "http.response.start", "status": 200, "headers": stream_headers(renderer.content_type)}
        )
        usage = Usage()
        status, kind = 200, None
        beat = renderer.heartbeat()
        hb = gw.config.server.heartbeat_seconds if beat else 0
        acc = Accumulator() if self._after is not None else None
        done = False

        async def body() -> None:
            nonlocal status, kind, done
            if acc is not None:
                acc.add(first)
            await send({"type": "http.response.body", "body": renderer.start() + renderer.event(first),
                        "more_body": True})  # fmt: skip
            async for ev in _with_heartbeats(agen, hb):
                if ev is None:
                    await send({"type": "http.response.body", "body": beat, "more_body": True})
                    continue
                if acc is not None:
                    acc.add(ev)
                if isinstance(ev, UsageEvent):
                    usage.merge(ev.usage)
                elif isinstance(ev, ErrorEvent):
                    status, kind = ev.error.status, ev.error.kind
                    await send({"type": "http.response.body", "body": renderer.event(ev), "more_body": False})
                    return
                out = renderer.event(ev)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            await send({"type": "http.response.body", "body": renderer.end(), "more_body": False})
            done = True

        try:
            await _until_disconnect(receive, body())
        except GatewayError as e:  # a failure the provider raised instead of yielding
            status, kind = e.status, e.kind
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": renderer.error(e), "more_body": False})
        finally:
            await agen.aclose()
        self._record(gw, client, routes[0], usage, started, status, kind)
        if acc is not None and done:
            await self._completed(ctx, req, acc.response)

    # ---------------------------------------------------------------- pass-through path

    async def _forward(
        self, receive: Receive, send: Send, d: Dialect, gw: Gateway, client: Client, routes: tuple[Route, ...],
        ctx: RequestContext, model: str, stream: bool, started: float, pin: str | None = None,
    ) -> None:  # fmt: skip
        obj = ctx.json
        strip = stream and not d.wants_usage(obj)
        query = ctx.query if ctx.query_string else None
        fwd = await gw.forward(routes, obj, stream, ctx.headers, pin, query)
        sniffer = d.usage_sniffer(stream, strip=strip)
        err: GatewayError | None = None
        try:
            if not stream:
                raw = await fwd.read()
                if sniffer is not None:
                    sniffer.feed(raw)
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", fwd.content_type.encode("latin-1")),
                                        (b"content-length", str(len(raw)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": raw})
            else:
                renderer = d.stream_renderer(ChatRequest(model=model, messages=[]))
                await send({"type": "http.response.start", "status": 200,
                            "headers": stream_headers(renderer.content_type)})  # fmt: skip
                beat = renderer.heartbeat()
                hb = (gw.config.server.heartbeat_seconds or None) if beat else None

                async def body() -> None:
                    nonlocal err
                    try:
                        async for chunk in fwd.chunks(hb):
                            if chunk is None:
                                await send({"type": "http.response.body", "body": beat, "more_body": True})
                                continue
                            out = sniffer.feed(chunk) if sniffer is not None else chunk
                            if out:
                                await send({"type": "http.response.body", "body": out, "more_body": True})
                    except GatewayError as e:
                        err = e
                        tail = sniffer.flush() if sniffer is not None else b""
                        if tail:
                            tail += b"\n\n"
                        await send({"type": "http.response.body", "body": tail + renderer.error(e),
                                    "more_body": False})  # fmt: skip
                        return
                    tail = sniffer.flush() if sniffer is not None else b""
                    await send({"type": "http.response.body", "body": tail, "more_body": False})

                await _until_disconnect(receive, body())
        finally:
            await fwd.release(err)
        usage = sniffer.usage() if sniffer is not None else None
        self._record(gw, client, fwd.route, usage, started, err.status if err else 200, err.kind if err else None,
                     account=fwd.account.id)  # fmt: skip

    def _record(
        self, gw: Gateway, client: Client, route: Route, usage: Usage | None, started: float, status: int,
        kind: str | None, account: str = "",
    ) -> None:  # fmt: skip
        if not gw.usage_sinks:
            return
        gw.record(UsageRecord(client, route.public_model, route.provider.name, account, usage,
                              (time.monotonic() - started) * 1000, status, kind))  # fmt: skip


async def _until_disconnect(receive: Receive, work: Any) -> None:
    """Run ``work`` in this task; if the client disconnects first, cancel it (which cancels the upstream
    request). One watcher task per streamed response."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                gone = True
                task.cancel()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
    finally:
        watcher.cancel()


async def _with_heartbeats(agen: AsyncIterator[Event], every: float) -> AsyncIterator[Event | None]:
    """Relay events; yield ``None`` after each ``every`` seconds without one (0 disables)."""
    if not every:
        async for ev in agen:
            yield ev
        return
    q: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)

    async def pump() -> None:
        try:
            async for ev in agen:
                await q.put(ev)
        except Exception as e:  # delivered to the consumer
            await q.put(e)
            return
        await q.put(_END)

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                async with asyncio.timeout(every):
                    item = await q.get()
            except TimeoutError:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
