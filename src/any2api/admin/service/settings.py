"""Runtime settings: model alias overrides and pool settings, stored, applied without a restart, and
followed by the other instances."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...config import Config
from ...routing.pool_settings import PoolSettings
from ...store.shared import Shared
from ...store.store import Store
from ..errors import InputError
from ..models import parse_model_aliases
from .ports import AliasTable, KeyCache, ProviderPool

log = logging.getLogger("any2api.admin")


def pool_error(e: ValueError) -> InputError:
    """``PoolSettings.merged``'s ``path: message`` as an :class:`InputError`."""
    path, _, msg = str(e).partition(": ")
    return InputError(path, msg)


class SettingsService:
    def __init__(
        self,
        store: Store,
        config: Config,
        base_pool: PoolSettings,
        pool: ProviderPool,
        keys: KeyCache,
        router: AliasTable,
        shared: Shared | None,
        providers: Callable[[], set[str]],
    ) -> None:
        self.store = store
        self.config = config
        self.base_pool = base_pool
        """Defaults plus the config file's ``pool:`` section; stored overrides apply on top."""
        self.pool = pool
        self.keys = keys
        self.router = router
        self.shared = shared
        self.providers = providers
        self.model_overrides: dict[str, list[str] | None] = {}
        self.pool_overrides: dict[str, Any] = {}

    def effective_models(self) -> dict[str, list[str]]:
        out = dict(self.config.models)
        for alias, targets in self.model_overrides.items():
            if targets is None:
                out.pop(alias, None)
            else:
                out[alias] = targets
        return out

    def check_models(self, value: object, path: str = "models") -> dict[str, list[str] | None]:
        return parse_model_aliases(value, self.providers(), path)

    def check_pool(self, overrides: dict[str, Any], path: str = "pool") -> PoolSettings:
        try:
            return self.base_pool.merged(overrides, path)
        except ValueError as e:
            raise pool_error(e) from None

    async def load(self) -> None:
        """Apply the stored overrides (a stored value that no longer validates is ignored, with a warning)."""
        stored = await self.store.settings.values()
        try:
            self.model_overrides = self.check_models(stored.get("models") or {})
        except InputError as e:
            log.warning("ignoring stored model aliases: %s", e)
            self.model_overrides = {}
        try:
            self.pool.apply_settings(self.base_pool.merged(stored.get("pool") or {}))
            self.pool_overrides = dict(stored.get("pool") or {})
            self.keys.refresh_interval = self.pool.settings.refresh_interval
        except ValueError as e:
            log.warning("ignoring stored pool settings: %s", e)
        self.router.set_aliases(self.effective_models())

    async def changed(self) -> None:
        """After a stored change: apply it here, and tell the other instances."""
        await self.load()
        if self.shared is not None:
            await self.shared.publish({"t": "settings"})

    async def update(
        self, models: dict[str, list[str] | None] | None = None, pool: dict[str, Any] | None = None
    ) -> None:
        """Store validated overrides (merged into the stored ones) and apply them."""
        if models is not None:
            await self.store.settings.put("models", {**self.model_overrides, **models})
        if pool is not None:
            await self.store.settings.put("pool", pool)
        if models is not None or pool is not None:
            await self.changed()
