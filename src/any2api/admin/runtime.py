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
from ..store.inputs import InputError
from ..store.shared import Shared
from ..store.store import Store
from ..usage import UsageWriter
from .providers import RuntimeProviders
from .security import AdminTokens, LoginLimiter

if TYPE_CHECKING:
    from ..gateway import Gateway

log = logging.getLogger("any2api.admin")


def validate_models(value: Any, providers: set[str], path: str = "models") -> dict[str, list[str] | None]:
    """Alias overrides: ``{alias: [provider/model, ...]}``; ``null`` removes an alias."""
    if not isinstance(value, dict):
        raise InputError(path, "must be an object of alias -> list of provider/model")
    out: dict[str, list[str] | None] = {}
    for alias, targets in value.items():
        p = f"{path}.{alias}"
        if not isinstance(alias, str) or not alias:
            raise InputError(path, "alias names must be non-empty strings")
        if targets is None:
            out[alias] = None
            continue
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
            raise InputError(p, "must be a non-empty list of provider/model strings (or null to remove)")
        for t in targets:
            prov, _, mid = t.partition("/")
            if not mid:
                raise InputError(p, f"{t!r} must have the form provider/model")
            if prov not in providers:
                raise InputError(p, f"{t!r} names unknown provider {prov!r}")
        out[alias] = list(targets)
    return out


class AdminRuntime:
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
        self.tokens = AdminTokens(
            store.box.jwt_key(config.admin_key) if config.admin_key else None, config.admin_key
        )
        self.limiter = LoginLimiter(shared)
        self.model_overrides: dict[str, list[str] | None] = {}
        self.pool_overrides: dict[str, Any] = {}
        self.runtime_providers = RuntimeProviders(self)
        if shared is not None:
            shared.on_event(self._on_event)

    @property
    def provider_names(self) -> set[str]:
        return {p.name for p in self.config.providers} | set(self.runtime_providers.active)

    def effective_models(self) -> dict[str, list[str]]:
        out = dict(self.config.models)
        for alias, targets in self.model_overrides.items():
            if targets is None:
                out.pop(alias, None)
            else:
                out[alias] = targets
        return out

    async def load_settings(self) -> None:
        stored = await self.store.settings.values()
        models = stored.get("models") or {}
        try:
            self.model_overrides = validate_models(models, self.provider_names)
        except InputError as e:
            log.warning("ignoring stored model aliases: %s", e)
            self.model_overrides = {}
        try:
            self.pool.apply_settings(self.base_pool.merged(stored.get("pool") or {}))
            self.pool_overrides = dict(stored.get("pool") or {})
            self.auth.refresh_interval = self.pool.settings.refresh_interval
        except ValueError as e:
            log.warning("ignoring stored pool settings: %s", e)
        self.gateway.router.set_aliases(self.effective_models())

    async def settings_changed(self) -> None:
        await self.load_settings()
        if self.shared is not None:
            await self.shared.publish({"t": "settings"})

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
