"""The account pool's two backends on the store side: accounts in the database
(:class:`~any2api.routing.pool_ports.AccountStore`) and the state instances share through Redis
(:class:`~any2api.routing.pool_ports.SharedState`)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from ..routing.pool_ports import AccountRecord, EventHandler, SharedUnavailable
from .accounts import AccountRepo, AccountRow
from .shared import Shared


def record_of(row: AccountRow) -> AccountRecord:
    return AccountRecord(
        id=row.id, provider=row.provider, api_key=row.api_key, label=row.label, weight=row.weight,
        max_inflight=row.max_inflight, proxy=row.proxy, enabled=row.enabled, disabled_reason=row.disabled_reason,
        disabled_by=row.disabled_by, cooldown_until=row.cooldown_until, failures=row.failures,
        last_error=row.last_error, last_used=row.last_used, created_at=row.created_at,
    )  # fmt: skip


def _health_row(rec: AccountRecord) -> AccountRow:
    """A row carrying what ``AccountRepo.save_health`` writes (the id and the health fields)."""
    return AccountRow(
        id=rec.id, provider=rec.provider, api_key=None, fingerprint="", enabled=rec.enabled,
        disabled_reason=rec.disabled_reason, disabled_by=rec.disabled_by, cooldown_until=rec.cooldown_until,
        failures=rec.failures, last_error=rec.last_error, last_used=rec.last_used,
    )  # fmt: skip


class StoreAccounts:
    """Accounts from the store's ``accounts`` table (credentials decrypted on load)."""

    def __init__(self, repo: AccountRepo) -> None:
        self.repo = repo

    async def all(self) -> list[AccountRecord]:
        return [record_of(r) for r in await self.repo.all()]

    async def get(self, account_id: str) -> AccountRecord | None:
        row = await self.repo.get(account_id)
        return record_of(row) if row is not None else None

    async def save_health(self, record: AccountRecord) -> None:
        await self.repo.save_health(_health_row(record))


_DOWN = (RedisError, OSError)


class SharedPoolState:
    """The pool's view of :class:`~any2api.store.shared.Shared`: Redis failures become
    :class:`SharedUnavailable`."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def on_event(self, handler: EventHandler) -> None:
        self.shared.on_event(handler)

    async def publish(self, event: dict[str, Any]) -> None:
        await self.shared.publish(event)

    async def acquire(
        self, candidates: list[tuple[str, int]], ttl: float, least: bool = False
    ) -> tuple[int, str] | None:
        try:
            return await self.shared.acquire(candidates, ttl, least)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def release(self, account_id: str, token: str, provider: str) -> None:
        try:
            await self.shared.release(account_id, token, provider)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def renew(self, leases: list[tuple[str, str]], ttl: float) -> None:
        try:
            await self.shared.renew(leases, ttl)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def inflight(self, account_ids: list[str]) -> dict[str, int]:
        try:
            return await self.shared.inflight(account_ids)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def set_cooldown(self, account_id: str, until: float) -> None:
        try:
            await self.shared.set_cooldown(account_id, until)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def clear_cooldown(self, account_id: str) -> None:
        try:
            await self.shared.clear_cooldown(account_id)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def cooldowns(self, account_ids: list[str]) -> dict[str, float]:
        try:
            return await self.shared.cooldowns(account_ids)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e

    async def claim(self, name: str, ttl: float) -> bool:
        try:
            return await self.shared.claim(name, ttl)
        except _DOWN as e:
            raise SharedUnavailable(str(e)) from e
