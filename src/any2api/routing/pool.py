"""Upstream accounts: which credential serves the next request.

This in-process pool does round-robin over a provider's configured keys and tracks in-flight counts.
The store-backed pool (limits, cooldowns, health) implements the same interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from ..config import ProviderConfig
from ..core.errors import GatewayError
from ..providers.base import Account


class AccountPool(Protocol):
    def lease(self, provider: str, exclude: frozenset[str] = ...) -> AsyncIteratorContext: ...

    def report(self, account: Account, error: GatewayError | None) -> None: ...


class AsyncIteratorContext(Protocol):
    async def __aenter__(self) -> Account: ...

    async def __aexit__(self, *exc: object) -> None: ...


class StaticPool:
    def __init__(self, providers: list[ProviderConfig]) -> None:
        self._accounts: dict[str, list[Account]] = {}
        self._next: dict[str, int] = {}
        self.inflight: dict[str, int] = {}
        for p in providers:
            keys: list[str | None] = list(p.api_keys) or [None]
            self._accounts[p.name] = [
                Account(
                    id=f"{p.name}#{i}", provider=p.name, api_key=k, label=f"{p.name} key {i}", proxy=p.proxy
                )
                for i, k in enumerate(keys)
            ]
            self._next[p.name] = 0

    def accounts(self, provider: str) -> list[Account]:
        return self._accounts.get(provider, [])

    @asynccontextmanager
    async def lease(self, provider: str, exclude: frozenset[str] = frozenset()) -> AsyncIterator[Account]:
        accounts = self._accounts.get(provider)
        if not accounts:
            raise GatewayError("overloaded", f"No account configured for provider {provider!r}")
        n = len(accounts)
        i = self._next[provider]
        acc = accounts[i % n]
        if exclude:
            for k in range(n):
                cand = accounts[(i + k) % n]
                if cand.id not in exclude:
                    acc = cand
                    i += k
                    break
            else:
                raise GatewayError(
                    "overloaded", f"Every account of provider {provider!r} failed for this request"
                )
        self._next[provider] = (i + 1) % n
        self.inflight[acc.id] = self.inflight.get(acc.id, 0) + 1
        try:
            yield acc
        finally:
            self.inflight[acc.id] -= 1

    def report(self, account: Account, error: GatewayError | None) -> None:
        return None
