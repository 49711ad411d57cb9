"""Providers added at run time (admin API): their blocks, kept as settings entries ``provider:<name>``.

A block is the JSON form of a config file's provider block. It is stored whole under the secret box
(AES-GCM, like account secrets): api keys, literal header values and proxy URLs are never in the clear."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .store import Store

PREFIX = "provider:"


@dataclass(slots=True)
class ProviderRecord:
    name: str
    block: dict[str, Any]
    created_at: float
    updated_at: float


class ProviderRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _record(self, name: str, value: Any) -> ProviderRecord:
        plain = self.store.box.decrypt(value["secret"])
        assert plain is not None
        return ProviderRecord(
            name, orjson.loads(plain), float(value["created_at"]), float(value["updated_at"])
        )

    async def all(self) -> list[ProviderRecord]:
        """Every runtime provider, oldest first."""
        out = [
            self._record(k[len(PREFIX) :], v)
            for k, v in (await self.store.settings.values()).items()
            if k.startswith(PREFIX) and isinstance(v, dict)
        ]
        out.sort(key=lambda r: (r.created_at, r.name))
        return out

    async def get(self, name: str) -> ProviderRecord | None:
        v = await self.store.settings.get(PREFIX + name)
        return self._record(name, v) if isinstance(v, dict) else None

    async def put(self, name: str, block: dict[str, Any]) -> ProviderRecord:
        """Create or replace (a replacement keeps its creation time, so its place in routing order)."""
        old = await self.get(name)
        now = time.time()
        created = old.created_at if old is not None else now
        secret = self.store.box.encrypt(orjson.dumps(block).decode())
        await self.store.settings.put(
            PREFIX + name, {"secret": secret, "created_at": created, "updated_at": now}
        )
        return ProviderRecord(name, block, created, now)

    async def delete(self, name: str) -> bool:
        if await self.store.settings.get(PREFIX + name) is None:
            return False
        await self.store.settings.delete(PREFIX + name)
        return True
