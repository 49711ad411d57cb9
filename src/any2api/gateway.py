"""The gateway object: providers, router, auth, account pool and the retrying request loop."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import aiohttp

from .auth import Authenticator, Client, StaticAuth
from .config import Config, ProviderConfig
from .core.errors import GatewayError
from .core.events import ErrorEvent, Event, ResponseStart
from .core.request import ChatRequest
from .core.response import Usage
from .providers.base import Account, Provider, create_provider
from .routing.pool import StaticPool
from .routing.router import Route, Router
from .upstream import Upstream, iter_body, read_body

log = logging.getLogger("any2api")


class Forwarded:
    """A pass-through upstream answer (2xx) and where it came from: what the handler needs, no aiohttp.

    Read it either whole (``read``) or as chunks (``chunks``), then always ``release`` it, with the error
    that ended it if any (the account's health is reported then)."""

    __slots__ = ("_done", "_idle", "_resp", "account", "route")

    def __init__(self, route: Route, account: Account, resp: aiohttp.ClientResponse,
                 done: Callable[[GatewayError | None], Awaitable[None]], idle: float) -> None:  # fmt: skip
        self.route = route
        self.account = account
        self._resp = resp
        self._done = done
        self._idle = idle

    @property
    def status(self) -> int:
        return self._resp.status

    @property
    def content_type(self) -> str:
        return self._resp.headers.get("Content-Type", "application/json")

    async def read(self) -> bytes:
        """The whole body (bounded by the provider's idle timeout); failures raise ``GatewayError``."""
        return await read_body(self._resp, self._idle)

    def chunks(self, heartbeat: float | None = None) -> AsyncIterator[bytes | None]:
        """Body chunks as they arrive; ``None`` after each ``heartbeat`` seconds of silence. Raises
        ``GatewayError`` when the upstream goes silent for the idle timeout or the connection breaks."""
        return iter_body(self._resp, self._idle, heartbeat)

    async def release(self, err: GatewayError | None) -> None:
        self._resp.release()
        await self._done(err)


@dataclass(slots=True)
class _Attempt:
    route: Route
    account: Account
    lease: Any
    tried: set[str]


@dataclass(slots=True)
class UsageRecord:
    client: Client
    public_model: str
    provider: str
    account: str
    usage: Usage | None
    latency_ms: float
    status: int
    error_kind: str | None = None


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.upstream = Upstream(config.server.timeouts, config.error_rules)
        self.providers: dict[str, Provider] = {
            p.name: create_provider(p, self.upstream) for p in config.providers
        }
        self.router = Router(config, self.providers)
        self.auth: Authenticator = StaticAuth(config.auth_keys, config.admin_key)
        self.pool: Any = StaticPool(config.providers)
        self.usage_sinks: list[Callable[[UsageRecord], None]] = []
        self.max_attempts_per_route = 3
        self.started_at = int(time.time())
        self.ready_checks: dict[str, Callable[[], Awaitable[Any]]] = {}

    async def start(self) -> None:
        for prov in self.providers.values():
            if prov.config.discover_models:
                try:
                    models = await prov.list_models()
                except GatewayError as e:
                    log.warning("model discovery for %s failed: %s", prov.name, e.message)
                    continue
                self.router.add_discovered(prov, [m.id for m in models])

    async def add_provider(self, config: ProviderConfig) -> Provider:
        """Create and route to a provider at run time (one of the same name is replaced)."""
        prov = create_provider(config, self.upstream)
        old = self.providers.get(config.name)
        self.router.add_provider(prov)
        self.providers[config.name] = prov
        if config.discover_models:
            try:
                self.router.add_discovered(prov, [m.id for m in await prov.list_models()])
            except GatewayError as e:
                log.warning("model discovery for %s failed: %s", prov.name, e.message)
        if old is not None and old is not prov:
            await old.close()
        return prov

    async def remove_provider(self, name: str) -> bool:
        prov = self.router.remove_provider(name)
        self.providers.pop(name, None)
        if prov is None:
            return False
        await prov.close()
        return True

    async def close(self) -> None:
        for p in self.providers.values():
            await p.close()
        await self.upstream.close()

    def record(self, rec: UsageRecord) -> None:
        for sink in self.usage_sinks:
            try:
                sink(rec)
            except Exception:  # a sink must never break a request
                log.exception("usage sink failed")

    async def _attempts(
        self, routes: tuple[Route, ...], errors: list[GatewayError]
    ) -> AsyncGenerator[_Attempt, None]:
        """Leased accounts to try, in order: each route's accounts (up to ``max_attempts_per_route``), then
        the next route. When a route has no account left, its lease error is kept only if nothing better
        (an upstream's own error) is known."""
        for route in routes:
            tried: set[str] = set()
            for _ in range(self.max_attempts_per_route):
                try:
                    lease = self.pool.lease(route.provider.name, frozenset(tried))
                    account: Account = await lease.__aenter__()
                except GatewayError as e:
                    if not errors:
                        errors.append(e)
                    break
                yield _Attempt(route, account, lease, tried)

    @staticmethod
    def _retry_or_raise(at: _Attempt, err: GatewayError, errors: list[GatewayError]) -> None:
        errors.append(err)
        if not err.retryable:
            raise err
        at.tried.add(at.account.id)
        log.info("retrying after %s on %s (%s)", err.kind, at.account.id, err.message)

    async def events(self, req: ChatRequest, routes: tuple[Route, ...]) -> AsyncGenerator[Event, None]:
        """Hub events from the first route/account that accepts the request.

        Failures before the first event are retried on another account, then down the fallback chain
        (never for client errors); after it, the error is an ``ErrorEvent`` and the stream ends."""
        errors: list[GatewayError] = []
        async with aclosing(self._attempts(routes, errors)) as attempts:
            async for at in attempts:
                failure: GatewayError | None = None
                started = False
                try:
                    async with aclosing(at.route.provider.stream(req, at.route.model, at.account)) as agen:
                        try:
                            first = await anext(agen)
                        except StopAsyncIteration:
                            raise GatewayError("upstream", "Upstream returned an empty response") from None
                        started = True
                        if isinstance(first, ResponseStart):
                            first.provider = at.route.provider.name
                        yield first
                        async for ev in agen:
                            if isinstance(ev, ErrorEvent):
                                failure = ev.error
                            yield ev
                        return
                except GatewayError as e:
                    failure = e
                    if started:  # output already went to the client: never retried
                        raise
                    self._retry_or_raise(at, e, errors)
                finally:
                    self.pool.report(at.account, failure)
                    await at.lease.__aexit__(None, None, None)
        raise errors[-1]

    async def forward(
        self,
        routes: tuple[Route, ...],
        body: dict[str, Any],
        stream: bool,
        headers: dict[str, str] | None = None,
    ) -> Forwarded:
        """Pass-through: send the client's own-dialect body to the first route/account that answers 2xx."""
        errors: list[GatewayError] = []
        async with aclosing(self._attempts(routes, errors)) as attempts:
            async for at in attempts:
                try:
                    resp = await at.route.provider.forward(body, at.route.model, at.account, stream, headers)
                except GatewayError as e:
                    self.pool.report(at.account, e)
                    await at.lease.__aexit__(None, None, None)
                    self._retry_or_raise(at, e, errors)
                    continue
                except BaseException:
                    await at.lease.__aexit__(None, None, None)
                    raise

                async def release(err: GatewayError | None, _at: _Attempt = at) -> None:
                    self.pool.report(_at.account, err)
                    await _at.lease.__aexit__(None, None, None)

                return Forwarded(at.route, at.account, resp, release, at.route.provider.timeouts.idle)
        raise errors[-1]
