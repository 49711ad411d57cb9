"""Providers added at run time through the admin API.

A block is validated by the config file's own provider parser (so errors name the field the same way:
``provider.response.text: ...``), stored encrypted (``store.providers``), and applied without a restart:
the gateway's providers and router, the account pool (each api key becomes an account; no key, one keyless
account, as for config providers). Other instances learn of a change from a Redis event, or else from a
periodic re-read of the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from ...config import Config, ConfigError, ProviderConfig, parse_provider
from ...store.providers import ProviderRecord
from ...store.shared import Shared
from ...store.store import Store
from ..errors import AdminError, InputError, not_found
from .ports import ProviderHost, ProviderPool

log = logging.getLogger("any2api.admin")

PATH = "provider"
MAX_NAME = 64
SOURCE = "provider"
"""``source`` of the accounts made from a runtime provider's api keys."""


def parse_block(block: object, config: Config) -> ProviderConfig:
    """Validate a provider block exactly as the config file's parser does; raises :class:`InputError`."""
    if not isinstance(block, dict):
        raise InputError(PATH, "must be an object (a provider block, as in the config file)")
    try:
        pc = parse_provider(block, PATH, config.server)
    except ConfigError as e:
        text = str(e)
        prefix = f"{e.path}: "
        raise InputError(e.path, text[len(prefix) :] if text.startswith(prefix) else text) from None
    if len(pc.name) > MAX_NAME:
        raise InputError(f"{PATH}.name", f"must be at most {MAX_NAME} characters")
    return pc


@dataclass(slots=True)
class ProviderEntry:
    """A provider as operators see it: from the config file or added at run time."""

    name: str
    type: str
    source: str
    """``config`` or ``runtime``."""
    models: list[str]
    block: Any
    """Its block (secrets in the clear: mask before showing it)."""


class ProviderService:
    def __init__(
        self, store: Store, config: Config, gateway: ProviderHost, pool: ProviderPool, shared: Shared | None
    ) -> None:
        self.store = store
        self.config = config
        self.gateway = gateway
        self.pool = pool
        self.shared = shared
        self.active: dict[str, ProviderRecord] = {}
        """Applied runtime providers, by name."""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def config_names(self) -> set[str]:
        return {p.name for p in self.config.providers}

    def names(self) -> set[str]:
        """Every provider an account or alias may name: the config's and the runtime ones."""
        return self.config_names | set(self.active)

    def parse(self, block: object) -> ProviderConfig:
        return parse_block(block, self.config)

    # -- applying -----------------------------------------------------------------------------------------

    async def _apply(self, rec: ProviderRecord) -> bool:
        try:
            pc = self.parse(rec.block)
        except InputError as e:
            log.warning("ignoring stored runtime provider %r: %s", rec.name, e)
            return False
        if pc.name != rec.name or pc.name in self.config_names:
            log.warning(
                "ignoring stored runtime provider %r: its name clashes with a config provider", rec.name
            )
            return False
        await self.gateway.add_provider(pc)
        await self.pool.set_provider(pc)
        self.active[rec.name] = rec
        return True

    async def _unapply(self, name: str) -> None:
        self.active.pop(name, None)
        await self.gateway.remove_provider(name)
        await self.pool.remove_provider(name)

    async def sync(self) -> None:
        """Make the running providers match the store (new, changed and removed ones)."""
        async with self._lock:
            records = await self.store.providers.all()
            seen = set()
            for rec in records:
                seen.add(rec.name)
                cur = self.active.get(rec.name)
                if cur is None or cur.updated_at != rec.updated_at:
                    await self._apply(rec)
            for name in [n for n in self.active if n not in seen]:
                await self._unapply(name)

    async def _changed(self) -> None:
        if self.shared is not None:
            await self.shared.publish({"t": "providers"})

    async def _sync_accounts(self, pc: ProviderConfig) -> None:
        """The provider's api keys as accounts: new keys added, keys no longer listed removed (accounts
        added by hand through ``/admin/accounts`` are kept)."""
        store = self.store
        wanted: list[str | None] = list(dict.fromkeys(pc.api_keys)) or [None]
        fps = {store.box.fingerprint(k) for k in wanted}
        for row in await store.accounts.all(pc.name):
            if row.source == SOURCE and row.fingerprint not in fps:
                await store.accounts.delete(row.id)
        default = self.pool.settings.default_max_inflight
        rows = [
            store.accounts.new(
                pc.name, k, label=f"{pc.name} key {i + 1}" if k else pc.name,
                max_inflight=default if k else 0, source=SOURCE,
            )
            for i, k in enumerate(wanted)
        ]  # fmt: skip
        await store.accounts.add_many(rows)

    # -- admin operations -----------------------------------------------------------------------------------

    async def create(self, block: object) -> ProviderRecord:
        pc = self.parse(block)
        assert isinstance(block, dict)
        if pc.name in self.config_names:
            raise AdminError(409, f"Provider {pc.name!r} is defined in the config file; choose another name",
                             "provider_exists", f"{PATH}.name")  # fmt: skip
        if await self.store.providers.get(pc.name) is not None:
            raise AdminError(409, f"Provider {pc.name!r} already exists; use PUT /admin/providers/{pc.name} "
                             "to replace it", "provider_exists", f"{PATH}.name")  # fmt: skip
        return await self._store(pc, block)

    async def replace(self, name: str, block: object) -> ProviderRecord:
        if name in self.config_names:
            raise AdminError(409, f"Provider {name!r} is defined in the config file and cannot be changed "
                             "through the admin API (edit the config file)", "config_provider")  # fmt: skip
        if await self.store.providers.get(name) is None:
            raise not_found("runtime provider", name, "provider_not_found")
        if isinstance(block, dict) and "name" not in block:
            block = {"name": name, **block}
        pc = self.parse(block)
        assert isinstance(block, dict)
        if pc.name != name:
            raise InputError(
                f"{PATH}.name", f"must be {name!r} (the provider in the URL); renaming is not supported"
            )
        return await self._store(pc, block)

    async def _store(self, pc: ProviderConfig, block: dict[str, Any]) -> ProviderRecord:
        await self.pool.flush()
        rec = await self.store.providers.put(pc.name, block)
        await self._sync_accounts(pc)
        async with self._lock:
            await self.gateway.add_provider(pc)
            self.pool.providers[pc.name] = pc
            self.active[pc.name] = rec
        await self.pool.reload_all()
        await self._changed()
        return rec

    async def delete(self, name: str) -> None:
        if name in self.config_names:
            raise AdminError(409, f"Provider {name!r} is defined in the config file and cannot be deleted "
                             "through the admin API (remove it from the config file)", "config_provider")  # fmt: skip
        await self.pool.flush()
        if not await self.store.providers.delete(name):
            raise not_found("runtime provider", name, "provider_not_found")
        for row in await self.store.accounts.all(name):
            await self.store.accounts.delete(row.id)
        async with self._lock:
            await self._unapply(name)
        await self.pool.reload_all()
        await self._changed()

    # -- listing --------------------------------------------------------------------------------------------

    def entries(self) -> list[ProviderEntry]:
        """The config file's providers, then the runtime ones (oldest first)."""
        out = []
        raw = self.config.raw.get("providers") if isinstance(self.config.raw, dict) else None
        for i, p in enumerate(self.config.providers):
            block = raw[i] if isinstance(raw, list) and i < len(raw) else {"name": p.name, "type": p.type}
            out.append(ProviderEntry(p.name, p.type, "config", [m.id for m in p.models], block))
        out.extend(self.entry(rec) for rec in self.active.values())
        return out

    def entry(self, rec: ProviderRecord) -> ProviderEntry:
        prov = self.gateway.providers.get(rec.name)
        models = [m.id for m in prov.config.models] if prov is not None else []
        return ProviderEntry(rec.name, str(rec.block.get("type")), "runtime", models, rec.block)

    def find(self, name: str) -> ProviderEntry:
        for e in self.entries():
            if e.name == name:
                return e
        raise not_found("provider", name, "provider_not_found")

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="admin-providers-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _refresh_loop(self) -> None:
        """The fallback for instances that share a database but get no Redis event."""
        while True:
            interval = self.pool.settings.refresh_interval
            await asyncio.sleep(interval if interval > 0 else 30.0)
            if interval <= 0:
                continue
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("re-reading runtime providers failed")
