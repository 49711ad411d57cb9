"""The gateway object: providers, router, and the retrying request loop over the parts it is built with
(account pool, authenticator, usage sinks; see :mod:`any2api.ports` and :mod:`any2api.compose`)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Set
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import aiohttp

from .config import Config, ProviderConfig
from .core.errors import GatewayError
from .core.events import ErrorEvent, Event, ResponseStart
from .core.request import ChatRequest
from .ports import AccountPool, Authenticator, Lease, ReadyCheck, UsageSink
from .ports import UsageRecord as UsageRecord  # re-exported: callers record usage through the gateway
from .providers.base import Account, Provider
from .providers.registry import create_provider
from .routing.router import Route, Router
from .upstream import Upstream, iter_body, read_body

log = logging.getLogger("any2api")

_NONE_TRIED: frozenset[str] = frozenset()


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
    lease: Lease
    tried: Set[str]

    @property
    def account(self) -> Account:
        return self.lease.account


class Gateway:
    """Built once, by the composition root, from its parts; nothing replaces them afterwards."""

    def __init__(
        self,
        config: Config,
        *,
        pool: AccountPool,
        auth: Authenticator,
        usage_sinks: Iterable[UsageSink] = (),
        ready_checks: Mapping[str, ReadyCheck] | None = None,
    ) -> None:
        self.config = config
        self.upstream = Upstream(config.server.timeouts, config.error_rules)
        self.providers: dict[str, Provider] = {
            p.name: create_provider(p, self.upstream) for p in config.providers
        }
        self.router = Router(config, self.providers)
        self.pool = pool
        self.auth = auth
        self.usage_sinks: tuple[UsageSink, ...] = tuple(usage_sinks)
        self.ready_checks: dict[str, ReadyCheck] = dict(ready_checks or {})
        """``/readyz``: each must answer (the store, Redis)."""
        self.max_attempts_per_route = 3
        self.started_at = int(time.time())

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
        self, routes: tuple[Route, ...], errors: list[GatewayError], pin: str | None
    ) -> AsyncGenerator[_Attempt, None]:
        """Leased accounts to try, in order: each route's accounts (up to ``max_attempts_per_route``), then
        the next route. When a route has no account left, its lease error is kept only if nothing better
        (an upstream's own error) is known. ``pin``: the one account to use (admin keys only)."""
        pool = self.pool
        for route in routes:
            tried: Set[str] = _NONE_TRIED
            for _ in range(self.max_attempts_per_route):
                try:
                    lease = await pool.acquire(route.provider.name, tried, pin)
                except GatewayError as e:
                    if not errors:
                        errors.append(e)
                    break
                at = _Attempt(route, lease, tried)
                yield at
                tried = at.tried

    @staticmethod
    def _retry_or_raise(at: _Attempt, err: GatewayError, errors: list[GatewayError]) -> None:
        errors.append(err)
        if not err.retryable:
            raise err
        at.tried = {*at.tried, at.account.id}
        log.info("retrying after %s on %s (%s)", err.kind, at.account.id, err.message)

    async def events(
        self, req: ChatRequest, routes: tuple[Route, ...], pin: str | None = None
    ) -> AsyncGenerator[Event, None]:
        """Hub events from the first route/account that accepts the request.

        Failures before the first event are retried on another account, then down the fallback chain
        (never for client errors); after it, the error is an ``ErrorEvent`` and the stream ends."""
        errors: list[GatewayError] = []
        async with aclosing(self._attempts(routes, errors, pin)) as attempts:
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
                        if isinstance(first, ResponseStart) and first.provider is None:
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
                    at.lease.release(failure)
        raise errors[-1]

    async def forward(
        self,
        routes: tuple[Route, ...],
        body: dict[str, Any],
        stream: bool,
        headers: dict[str, str] | None = None,
        pin: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Forwarded:
        """Pass-through: send the client's own-dialect body to the first route/account that answers 2xx.
        ``headers`` and ``query`` are the client's (the provider picks what its wire format needs)."""
        errors: list[GatewayError] = []
        async with aclosing(self._attempts(routes, errors, pin)) as attempts:
            async for at in attempts:
                try:
                    resp = await at.route.provider.forward(
                        body, at.route.model, at.account, stream, headers, query
                    )
                except GatewayError as e:
                    at.lease.release(e)
                    self._retry_or_raise(at, e, errors)
                    continue
                except BaseException:
                    at.lease.abandon()
                    raise

                async def release(err: GatewayError | None, _lease: Lease = at.lease) -> None:
                    _lease.release(err)

                return Forwarded(at.route, at.account, resp, release, at.route.provider.timeouts.idle)
        raise errors[-1]
