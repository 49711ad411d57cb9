"""What the admin services need from the running parts, as protocols: the account pool, the client-key
cache, the gateway (for runtime providers). The server passes its live objects; the CLI passes a pool of its
own and no key cache."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ...config import ProviderConfig
from ...keys import KeyEntry
from ...providers.base import Provider
from ...routing.pool_ports import ProbeResult
from ...routing.pool_settings import PoolSettings
from ...routing.selection import AccountState


class AccountPool(Protocol):
    """The pool as the account operations see it (``routing.pool.Pool``)."""

    settings: PoolSettings

    def state(self, account_id: str) -> AccountState | None: ...

    def account_states(self) -> list[AccountState]: ...

    async def flush(self) -> None:
        """Write pending health changes (before a change to an account, so the store's version wins)."""

    async def reload_account(self, account_id: str, publish: bool = True) -> None: ...

    async def reload_all(self, publish: bool = True) -> None: ...

    async def clear_cooldown(self, account_id: str) -> bool: ...

    async def test(self, account_id: str) -> ProbeResult: ...

    async def status(self) -> dict[str, Any]: ...


class ProviderPool(AccountPool, Protocol):
    """The pool as runtime providers and runtime settings see it."""

    providers: dict[str, ProviderConfig]

    async def set_provider(self, config: ProviderConfig) -> None: ...

    async def remove_provider(self, name: str) -> None: ...

    def apply_settings(self, settings: PoolSettings) -> None: ...


class KeyCache(Protocol):
    """The client-key table of a running gateway (``KeyAuth``)."""

    refresh_interval: float

    def entry(self, key_id: str) -> KeyEntry | None: ...

    def by_digest(self, digest: str) -> KeyEntry | None: ...

    async def reload(self) -> None: ...

    async def reload_key(self, key_id: str, publish: bool = True) -> None: ...


class AliasTable(Protocol):
    def set_aliases(self, aliases: dict[str, list[str]]) -> None: ...


class ProviderHost(Protocol):
    """The gateway as runtime providers see it."""

    @property
    def providers(self) -> Mapping[str, Provider]: ...

    async def add_provider(self, config: ProviderConfig) -> Provider: ...

    async def remove_provider(self, name: str) -> bool: ...
