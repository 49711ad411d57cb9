"""Wiring the store into a running Gateway: pool, client keys, usage writer, runtime settings.

``attach(gateway, config)`` opens the store (migrating it), seeds it from the config file, swaps the
gateway's pool / authenticator for the store-backed ones, adds the usage sinks and returns the coroutine
function that undoes it all (flushing usage and health on the way)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..config import Config, ConfigError
from ..keys import KeyAuth
from ..routing.store_pool import PoolSettings, StorePool
from ..store.seed import seed_from_config
from ..store.shared import Shared
from ..store.store import Store
from ..usage import UsageWriter
from .probe import make_probe
from .service import AdminService

if TYPE_CHECKING:
    from ..gateway import Gateway, UsageRecord

log = logging.getLogger("any2api.admin")

Closer = Callable[[], Awaitable[None]]


class AdminRuntime:
    """The running parts an admin operation touches, and the admin service built over them."""

    def __init__(
        self,
        gateway: Gateway,
        config: Config,
        store: Store,
        shared: Shared | None,
        pool: StorePool,
        auth: KeyAuth,
        usage: UsageWriter,
        base_pool: PoolSettings,
    ) -> None:
        self.gateway = gateway
        self.config = config
        self.store = store
        self.shared = shared
        self.pool = pool
        self.auth = auth
        self.usage = usage
        self.base_pool = base_pool
        """Defaults plus the config file's ``pool:`` section; stored overrides apply on top."""
        self.service = AdminService.build(
            store=store, config=config, gateway=gateway, router=gateway.router, pool=pool, keys=auth,
            shared=shared, base_pool=base_pool, flush_usage=usage.flush,
        )  # fmt: skip
        self.runtime_providers = self.service.providers
        if shared is not None:
            shared.on_event(self._on_event)

    async def load_settings(self) -> None:
        """Apply the stored alias and pool overrides."""
        await self.service.settings.load()

    async def _on_event(self, ev: dict[str, Any]) -> None:
        t = ev.get("t")
        if t in ("providers", "resync"):
            await self.runtime_providers.sync()
        if t in ("settings", "resync", "providers"):
            await self.load_settings()


_current: AdminRuntime | None = None
_by_gateway: weakref.WeakKeyDictionary[Gateway, AdminRuntime] = weakref.WeakKeyDictionary()


def current() -> AdminRuntime | None:
    """The most recently attached runtime."""
    return _current


def runtime_for(gateway: Gateway | None) -> AdminRuntime | None:
    return _by_gateway.get(gateway) if gateway is not None else None


def _pool_base(config: Config) -> PoolSettings:
    """Defaults with the config file's ``pool:`` section applied (a bad value is a config error)."""
    section = config.raw.get("pool") if isinstance(config.raw, dict) else None
    try:
        return PoolSettings().merged(section or {}, "pool")
    except ValueError as e:
        path, _, msg = str(e).partition(": ")
        raise ConfigError(path, msg) from None


async def attach(gateway: Gateway, config: Config) -> Closer:
    """Put the store-backed pool, client keys and usage writer into ``gateway``; returns ``close()``."""
    global _current
    base = _pool_base(config)
    store = await Store.open(config.database_url)
    shared: Shared | None = None
    pool: StorePool | None = None
    auth: KeyAuth | None = None
    writer: UsageWriter | None = None
    try:
        if config.redis_url:
            shared = Shared(config.redis_url, store.identity)
            await shared.start()
        stored_pool = await store.settings.get("pool") or {}
        try:
            settings = base.merged(stored_pool)
        except ValueError:
            settings = base
        seeded = await seed_from_config(store, config, settings.default_max_inflight)
        if seeded.accounts or seeded.keys:
            log.info("seeded %d accounts and %d client keys from the config", seeded.accounts, seeded.keys)
        pool = StorePool(store, config.providers, settings, shared, make_probe(gateway))
        await pool.start()
        auth = KeyAuth(store, shared, config.admin_key, refresh_interval=settings.refresh_interval or 30.0)
        await auth.start()
        writer = UsageWriter(store)
        await writer.start()
        runtime = AdminRuntime(gateway, config, store, shared, pool, auth, writer, base)
        await runtime.runtime_providers.sync()  # after the config's providers, before aliases that name them
        await runtime.load_settings()
        runtime.runtime_providers.start()
    except BaseException:
        for part in (writer, auth, pool, shared):
            if part is not None:
                try:
                    await part.close()
                except Exception:
                    log.exception("cleanup after a failed start")
        await store.close()
        raise

    previous = (gateway.pool, gateway.auth)
    gateway.pool = pool
    gateway.auth = auth
    sinks: list[Callable[[UsageRecord], None]] = [auth.record_usage, writer]
    gateway.usage_sinks.extend(sinks)
    _current = runtime
    _by_gateway[gateway] = runtime
    checks: dict[str, Callable[[], Awaitable[Any]]] | None = getattr(gateway, "ready_checks", None)
    if checks is not None:  # /readyz: the store (and Redis) must answer
        checks["store"] = store.ping
        if shared is not None:
            checks["redis"] = shared.redis.ping
    log.info("store %s (%s)%s", store.url, store.backend, " with Redis" if shared else "")

    async def close() -> None:
        global _current
        if _current is runtime:
            _current = None
        _by_gateway.pop(gateway, None)
        if checks is not None:
            checks.pop("store", None)
            checks.pop("redis", None)
        for s in sinks:
            if s in gateway.usage_sinks:
                gateway.usage_sinks.remove(s)
        if gateway.pool is pool and gateway.auth is auth:
            gateway.pool, gateway.auth = previous
        await runtime.runtime_providers.close()
        await writer.close()
        await auth.close()
        await pool.close()
        if shared is not None:
            await shared.close()
        await store.close()

    return close
