"""Providers added at run time through the admin API.

A block is validated by the config file's own provider parser (so errors name the field the same way:
``provider.response.text: ...``), stored encrypted (``store.providers``), and applied without a restart:
the gateway's providers and router, the account pool (each api key becomes an account; no key, one keyless
account, as for config providers). Other instances learn of a change from a Redis event, or else from a
periodic re-read of the store."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
from typing import TYPE_CHECKING, Any

from ..config import ConfigError, ProviderConfig, ServerConfig, _Lines, _provider, _Reader
from ..store.crypto import mask
from ..store.inputs import InputError
from ..store.providers import ProviderRecord

if TYPE_CHECKING:
    from .runtime import AdminRuntime

log = logging.getLogger("any2api.admin")

PATH = "provider"
MAX_NAME = 64
SOURCE = "provider"
"""``source`` of the accounts made from a runtime provider's api keys."""

_SENSITIVE = re.compile(r"auth|key|token|secret|cookie|session|passw|signature", re.IGNORECASE)


def parse_block(block: Any, server: ServerConfig) -> ProviderConfig:
    """Validate a provider block exactly as the config file's parser does; raises :class:`InputError`."""
    if not isinstance(block, dict):
        raise InputError(PATH, "must be an object (a provider block, as in the config file)")
    try:
        pc = _provider(_Reader(_Lines([])), block, PATH, server)
    except ConfigError as e:
        text = str(e)
        prefix = f"{e.path}: "
        raise InputError(e.path, text[len(prefix) :] if text.startswith(prefix) else text) from None
    if len(pc.name) > MAX_NAME:
        raise InputError(f"{PATH}.name", f"must be at most {MAX_NAME} characters")
    return pc


def _mask_headers(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        literal = isinstance(v, str) and "{{" not in v
        out[k] = mask(v) if literal and _SENSITIVE.search(str(k)) else v
    return out


def masked_block(block: Any) -> Any:
    """What an operator may see of a block: api keys masked, secret-looking literal headers masked."""
    if not isinstance(block, dict):
        return block
    b = copy.deepcopy(block)
    for k in ("api_keys", "api_key"):
        v = b.get(k)
        if isinstance(v, list):
            b[k] = [mask(x) if isinstance(x, str) else x for x in v]
        elif isinstance(v, str):
            b[k] = mask(v)
    if b.get("proxy"):
        b["proxy"] = "***"
    b["headers"] = _mask_headers(b.get("headers")) if "headers" in b else None
    if b["headers"] is None:
        del b["headers"]
    req = b.get("request")
    if isinstance(req, dict):
        for k in ("headers", "query"):
            if k in req:
                req[k] = _mask_headers(req[k])
    return b


class RuntimeProviders:
    def __init__(self, rt: AdminRuntime) -> None:
        self.rt = rt
        self.active: dict[str, ProviderRecord] = {}
        """Applied runtime providers, by name."""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def config_names(self) -> set[str]:
        return {p.name for p in self.rt.config.providers}

    def parse(self, block: Any) -> ProviderConfig:
        return parse_block(block, self.rt.config.server)

    # -- applying -------------------------------------------------------------------------------------

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
        await self.rt.gateway.add_provider(pc)
        await self.rt.pool.set_provider(pc)
        self.active[rec.name] = rec
        return True

    async def _unapply(self, name: str) -> None:
        self.active.pop(name, None)
        await self.rt.gateway.remove_provider(name)
        await self.rt.pool.remove_provider(name)

    async def sync(self) -> None:
        """Make the running providers match the store (new, changed and removed ones)."""
        async with self._lock:
            records = await self.rt.store.providers.all()
            seen = set()
            for rec in records:
                seen.add(rec.name)
                cur = self.active.get(rec.name)
                if cur is None or cur.updated_at != rec.updated_at:
                    await self._apply(rec)
            for name in [n for n in self.active if n not in seen]:
                await self._unapply(name)

    async def _changed(self) -> None:
        if self.rt.shared is not None:
            await self.rt.shared.publish({"t": "providers"})

    # -- accounts ---------------------------------------------------------------------------------------

    async def _sync_accounts(self, pc: ProviderConfig) -> None:
        """The provider's api keys as accounts: new keys added, keys no longer listed removed (accounts
        added by hand through ``/admin/accounts`` are kept)."""
        store = self.rt.store
        wanted: list[str | None] = list(dict.fromkeys(pc.api_keys)) or [None]
        fps = {store.box.fingerprint(k) for k in wanted}
        for row in await store.accounts.all(pc.name):
            if row.source == SOURCE and row.fingerprint not in fps:
                await store.accounts.delete(row.id)
        default = self.rt.pool.settings.default_max_inflight
        rows = [
            store.accounts.new(
                pc.name, k, label=f"{pc.name} key {i + 1}" if k else pc.name,
                max_inflight=default if k else 0, source=SOURCE,
            )
            for i, k in enumerate(wanted)
        ]  # fmt: skip
        await store.accounts.add_many(rows)

    # -- admin operations ---------------------------------------------------------------------------------

    async def create(self, block: dict[str, Any]) -> ProviderRecord:
        from .routes import AdminError

        pc = self.parse(block)
        if pc.name in self.config_names:
            raise AdminError(409, f"Provider {pc.name!r} is defined in the config file; choose another name",
                             "provider_exists", f"{PATH}.name")  # fmt: skip
        if await self.rt.store.providers.get(pc.name) is not None:
            raise AdminError(409, f"Provider {pc.name!r} already exists; use PUT /admin/providers/{pc.name} "
                             "to replace it", "provider_exists", f"{PATH}.name")  # fmt: skip
        return await self._store(pc, block)

    async def replace(self, name: str, block: dict[str, Any]) -> ProviderRecord:
        from .routes import AdminError

        if name in self.config_names:
            raise AdminError(409, f"Provider {name!r} is defined in the config file and cannot be changed "
                             "through the admin API (edit the config file)", "config_provider")  # fmt: skip
        if await self.rt.store.providers.get(name) is None:
            raise AdminError(404, f"No runtime provider {name!r}", "provider_not_found")
        if isinstance(block, dict) and "name" not in block:
            block = {"name": name, **block}
        pc = self.parse(block)
        if pc.name != name:
            raise InputError(
                f"{PATH}.name", f"must be {name!r} (the provider in the URL); renaming is not supported"
            )
        return await self._store(pc, block)

    async def _store(self, pc: ProviderConfig, block: dict[str, Any]) -> ProviderRecord:
        await self.rt.pool.flush()
        rec = await self.rt.store.providers.put(pc.name, block)
        await self._sync_accounts(pc)
        async with self._lock:
            await self.rt.gateway.add_provider(pc)
            self.rt.pool.providers[pc.name] = pc
            self.active[pc.name] = rec
        await self.rt.pool.reload_all()
        await self._changed()
        return rec

    async def delete(self, name: str) -> None:
        from .routes import AdminError

        if name in self.config_names:
            raise AdminError(409, f"Provider {name!r} is defined in the config file and cannot be deleted "
                             "through the admin API (remove it from the config file)", "config_provider")  # fmt: skip
        await self.rt.pool.flush()
        if not await self.rt.store.providers.delete(name):
            raise AdminError(404, f"No runtime provider {name!r}", "provider_not_found")
        for row in await self.rt.store.accounts.all(name):
            await self.rt.store.accounts.delete(row.id)
        async with self._lock:
            await self._unapply(name)
        await self.rt.pool.reload_all()
        await self._changed()

    # -- views ------------------------------------------------------------------------------------------

    def views(self) -> list[dict[str, Any]]:
        out = []
        raw = self.rt.config.raw.get("providers") if isinstance(self.rt.config.raw, dict) else None
        for i, p in enumerate(self.rt.config.providers):
            block = raw[i] if isinstance(raw, list) and i < len(raw) else {"name": p.name, "type": p.type}
            out.append(self._view(p.name, p.type, "config", block, [m.id for m in p.models]))
        for rec in self.active.values():
            out.append(self.view(rec))
        return out

    def view(self, rec: ProviderRecord) -> dict[str, Any]:
        prov = self.rt.gateway.providers.get(rec.name)
        models = [m.id for m in prov.config.models] if prov is not None else []
        return self._view(rec.name, str(rec.block.get("type")), "runtime", rec.block, models)

    @staticmethod
    def _view(name: str, ptype: str, source: str, block: Any, models: list[str]) -> dict[str, Any]:
        return {"name": name, "type": ptype, "source": source, "models": models, "spec": masked_block(block)}

    # -- lifecycle -----------------------------------------------------------------------------------------

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
            interval = self.rt.pool.settings.refresh_interval
            await asyncio.sleep(interval if interval > 0 else 30.0)
            if interval <= 0:
                continue
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("re-reading runtime providers failed")
