"""Client keys: create (the secret is returned once, only its SHA-256 is stored), change, revoke."""

from __future__ import annotations

from ...auth import hash_key
from ...store.client_keys import KeyRow
from ...store.shared import Shared
from ...store.store import Store
from ..errors import invalid, not_found
from ..models import KeyIn, parse
from .ports import KeyCache


class KeyService:
    def __init__(
        self, store: Store, cache: KeyCache | None = None, shared: Shared | None = None, source: str = "admin"
    ) -> None:
        self.store = store
        self.cache = cache
        """A running gateway's key table (``None`` in the CLI: instances learn of changes by event)."""
        self.shared = shared
        self.source = source

    async def all(self) -> list[KeyRow]:
        return await self.store.keys.all()

    async def get(self, key_id: str) -> KeyRow:
        row = await self.store.keys.get(key_id)
        if row is None:
            raise not_found("key", key_id, "key_not_found")
        return row

    def used(self, row: KeyRow) -> int:
        """Tokens spent so far (the running gateway's count may be ahead of the store's)."""
        e = self.cache.entry(row.id) if self.cache is not None else None
        return max(row.tokens_used, e.used) if e is not None else row.tokens_used

    async def _changed(self, key_id: str) -> None:
        if self.cache is not None:
            await self.cache.reload_key(key_id)

    async def reloaded_all(self) -> None:
        """After many keys changed at once (import, config): reload, and tell the other instances."""
        if self.cache is not None:
            await self.cache.reload()
        if self.shared is not None:
            await self.shared.publish({"t": "keys"})

    async def create(self, data: object) -> tuple[KeyRow, str]:
        """A new key from a description (name, models, rpm, tpm, token_budget, expires_at or
        expires_in_days, is_admin) and its secret, shown only this once."""
        return await self.create_from(parse(KeyIn, data))

    async def create_from(self, k: KeyIn, publish: bool = True) -> tuple[KeyRow, str]:
        row, secret = await self.store.keys.create(source=self.source, **k.settings())
        if publish:
            await self._changed(row.id)
        return row, secret

    async def add_secret(self, secret: str, name: str) -> KeyRow | None:
        """A key whose secret the operator chose (DS2API's plain string keys); ``None`` when it exists."""
        if await self.store.keys.by_hash(hash_key(secret)) is not None:
            return None
        row, _ = await self.store.keys.create(name, secret=secret, source=self.source)
        return row

    async def update(self, key_id: str, data: object) -> KeyRow:
        """Change the fields the description gives."""
        changes = parse(KeyIn, data).changes()
        if not changes:
            raise invalid("Nothing to change")
        row = await self.store.keys.update(key_id, **changes)
        if row is None:
            raise not_found("key", key_id, "key_not_found")
        if "token_budget" in changes and self.shared is not None:
            await self.shared.seed_used({key_id: self.used(row)})
        await self._changed(key_id)
        return row

    async def revoke(self, key_id: str) -> tuple[KeyRow, bool]:
        """Revoke a key (requests with it get 401 from then on); returns it and whether it was active."""
        row = await self.store.keys.revoke(key_id)
        revoked_now = row is not None
        if row is None:
            row = await self.get(key_id)
        await self._changed(key_id)
        return row, revoked_now
