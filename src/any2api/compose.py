"""The composition root: builds the store, the shared state (Redis, when configured), the account pool, the
client-key authenticator and the usage writer, then the :class:`~any2api.gateway.Gateway` from them, and
the admin runtime over the same parts. Nothing swaps a part afterwards.

:func:`assemble` is what the app's lifespan runs; :func:`account_tester` is the smaller assembly the
command line uses to test accounts without serving."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .admin.probe import make_probe
from .admin.runtime import AdminRuntime, register, unregister
from .config import Config, ConfigError
from .core.seal import Sealer, set_default_sealer
from .gateway import Gateway
from .keys import KeyAuth
from .ports import ReadyCheck
from .routing.pool import Pool
from .routing.pool_settings import PoolSettings
from .store.crypto import load_master_key
from .store.engine import data_dir
from .store.pool_backend import SharedPoolState, StoreAccounts
from .store.seed import seed_from_config
from .store.shared import Shared
from .store.store import Store
from .usage import UsageWriter

log = logging.getLogger("any2api")

Closer = Callable[[], Awaitable[None]]


def pool_base(config: Config) -> PoolSettings:
    """Defaults with the config file's ``pool:`` section applied (a bad value is a config error)."""
    section = config.raw.get("pool") if isinstance(config.raw, dict) else None
    try:
        return PoolSettings().merged(section or {}, "pool")
    except ValueError as e:
        path, _, msg = str(e).partition(": ")
        raise ConfigError(path, msg) from None


async def pool_settings(store: Store, base: PoolSettings) -> PoolSettings:
    """``base`` with the overrides stored by the admin API (ignored when no longer valid)."""
    stored = await store.settings.get("pool") or {}
    try:
        return base.merged(stored)
    except ValueError:
        return base


@dataclass
class Assembly:
    """A built and started gateway with the parts it was built from."""

    gateway: Gateway
    admin: AdminRuntime
    store: Store
    shared: Shared | None
    pool: Pool
    auth: KeyAuth
    usage: UsageWriter
    _closers: list[Closer] = field(default_factory=list)

    async def close(self) -> None:
        """Stop everything (usage and account health are flushed on the way), last built first."""
        await _close_all(self._closers)


async def _close_all(closers: list[Closer]) -> None:
    while closers:
        c = closers.pop()
        try:
            await c()
        except Exception:
            log.exception("closing %r failed", c)


async def assemble(config: Config) -> Assembly:
    """Open the store (migrating it) and seed it from the config file, connect Redis when configured, and
    build and start the pool, the authenticator, the usage writer, the gateway and the admin runtime."""
    base = pool_base(config)
    closers: list[Closer] = []
    try:
        store = await Store.open(config.database_url)
        closers.append(store.close)
        # state sealed for clients (reasoning, compaction) opens on every instance sharing the store's key
        set_default_sealer(Sealer(load_master_key(data_dir())))
        shared: Shared | None = None
        if config.redis_url:
            shared = Shared(config.redis_url, store.identity)
            closers.append(shared.close)
            await shared.start()
        settings = await pool_settings(store, base)
        seeded = await seed_from_config(store, config, settings.default_max_inflight)
        if seeded.accounts or seeded.keys:
            log.info("seeded %d accounts and %d client keys from the config", seeded.accounts, seeded.keys)

        pool = Pool(
            StoreAccounts(store.accounts),
            config.providers,
            settings,
            SharedPoolState(shared) if shared is not None else None,
        )
        auth = KeyAuth(store, shared, config.admin_key, refresh_interval=settings.refresh_interval or 30.0)
        usage = UsageWriter(store)
        checks: dict[str, ReadyCheck] = {"store": store.ping}
        if shared is not None:
            checks["redis"] = shared.redis.ping
        gateway = Gateway(
            config, pool=pool, auth=auth, usage_sinks=(auth.record_usage, usage), ready_checks=checks
        )
        closers.insert(0, gateway.close)  # closed last: the pool's last re-test may still use a provider
        pool.probe = make_probe(gateway)  # accounts are tested through the gateway's own providers

        await pool.start()
        closers.append(pool.close)
        await auth.start()
        closers.append(auth.close)
        await usage.start()
        closers.append(usage.close)

        admin = AdminRuntime(gateway, config, store, shared, pool, auth, usage, base)
        closers.append(admin.runtime_providers.close)
        await admin.runtime_providers.sync()  # after the config's providers, before aliases that name them
        await admin.load_settings()
        admin.runtime_providers.start()
        register(admin)

        async def _unregister() -> None:
            unregister(admin)

        closers.append(_unregister)
        await gateway.start()
    except BaseException:
        await _close_all(closers)
        raise
    log.info("store %s (%s)%s", store.url, store.backend, " with Redis" if shared else "")
    return Assembly(gateway, admin, store, shared, pool, auth, usage, closers)


@dataclass
class AccountTester:
    """A pool over the store's accounts (not loaded yet), testing them through providers built from the
    config; close the gateway when done."""

    pool: Pool
    gateway: Gateway


def account_tester(config: Config, store: Store) -> AccountTester:
    """For ``any2api accounts test``: no serving, no background tasks, no Redis (the caller publishes)."""
    pool = Pool(StoreAccounts(store.accounts), config.providers)
    gateway = Gateway(config, pool=pool, auth=KeyAuth(store, None, config.admin_key))
    pool.probe = make_probe(gateway)
    return AccountTester(pool, gateway)
