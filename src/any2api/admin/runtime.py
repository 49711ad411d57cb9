"""What the admin routes work on: the running gateway's store, pool, client keys, usage writer and runtime
settings. The composition root (:mod:`any2api.compose`) builds an :class:`AdminRuntime` from the parts it
built the gateway with and registers it, so the admin routes find it by gateway."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..keys import KeyAuth
from ..routing.pool import Pool
from ..routing.pool_settings import PoolSettings
from ..store.shared import Shared
from ..store.store import Store
from ..usage import UsageWriter
from .service import AdminService

if TYPE_CHECKING:
    from ..gateway import Gateway

log = logging.getLogger("any2api.admin")


class AdminRuntime:
    """The running parts an admin operation touches, and the admin service built over them."""

    def __init__(
        self,
        gateway: Gateway,
        config: Config,
        store: Store,
        shared: Shared | None,
        pool: Pool,
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
    """The most recently registered runtime."""
    return _current


def runtime_for(gateway: Gateway | None) -> AdminRuntime | None:
    return _by_gateway.get(gateway) if gateway is not None else None


def register(runtime: AdminRuntime) -> None:
    """Make ``runtime`` the one the admin routes of its gateway (and :func:`current`) use."""
    global _current
    _current = runtime
    _by_gateway[runtime.gateway] = runtime


def unregister(runtime: AdminRuntime) -> None:
    global _current
    if _current is runtime:
        _current = None
    if _by_gateway.get(runtime.gateway) is runtime:
        del _by_gateway[runtime.gateway]
