"""In-memory stand-ins for the account pool's two backends (no database, no Redis): an account store, and a
shared state that several pools ("instances") can use together, with the semantics of the Redis one."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from typing import Any

from any2api.routing.pool_ports import AccountRecord, EventHandler, SharedUnavailable

_ids = itertools.count(1)


def record(provider: str = "p", **kw: Any) -> AccountRecord:
    """An account record with a fresh id (``acc<n>``), created in id order."""
    n = next(_ids)
    kw.setdefault("id", f"acc{n:04d}")
    kw.setdefault("api_key", f"sk-{provider}-{n}")
    kw.setdefault("created_at", float(n))
    return AccountRecord(provider=provider, **kw)


class MemoryAccounts:
    """An :class:`~any2api.routing.pool_ports.AccountStore` over a dict; every load returns copies (as a
    database would), and ``saved`` counts health writes per account."""

    def __init__(self, *records: AccountRecord) -> None:
        self.rows: dict[str, AccountRecord] = {r.id: dataclasses.replace(r) for r in records}
        self.saved: dict[str, int] = {}

    def add(self, rec: AccountRecord) -> AccountRecord:
        self.rows[rec.id] = dataclasses.replace(rec)
        return rec

    async def all(self) -> list[AccountRecord]:
        rows = sorted(self.rows.values(), key=lambda r: (r.created_at, r.id))
        return [dataclasses.replace(r) for r in rows]

    async def get(self, account_id: str) -> AccountRecord | None:
        r = self.rows.get(account_id)
        return dataclasses.replace(r) if r is not None else None

    async def save_health(self, record: AccountRecord) -> None:
        r = self.rows.get(record.id)
        if r is None:
            return
        for f in ("enabled", "disabled_reason", "disabled_by", "cooldown_until", "failures", "last_error",
                  "last_used"):  # fmt: skip
            setattr(r, f, getattr(record, f))
        self.saved[record.id] = self.saved.get(record.id, 0) + 1


class SharedHub:
    """What Redis holds for one namespace: leases, cooldowns, claims, and the instances listening."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, float]] = {}
        """account id -> {token: expiry (epoch seconds)}"""
        self.cools: dict[str, float] = {}
        self.claims: dict[str, float] = {}
        self.instances: list[MemoryShared] = []
        self.down = False
        """True: every call but publish raises SharedUnavailable (Redis is unreachable)."""

    def instance(self) -> MemoryShared:
        inst = MemoryShared(self, f"i{len(self.instances)}")
        self.instances.append(inst)
        return inst

    def count(self, account_id: str, now: float) -> int:
        held = self.leases.get(account_id, {})
        for t in [t for t, exp in held.items() if exp <= now]:
            del held[t]
        return len(held)


class MemoryShared:
    """One instance's :class:`~any2api.routing.pool_ports.SharedState` over a :class:`SharedHub`."""

    def __init__(self, hub: SharedHub, name: str) -> None:
        self.hub = hub
        self.name = name
        self.handlers: list[EventHandler] = []
        self._tokens = itertools.count(1)
        self.published: list[dict[str, Any]] = []

    def _check(self) -> None:
        if self.hub.down:
            raise SharedUnavailable("connection refused")

    def on_event(self, handler: EventHandler) -> None:
        self.handlers.append(handler)

    async def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)
        self._broadcast(event)

    def _broadcast(self, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        for other in self.hub.instances:
            if other is self:
                continue
            for h in other.handlers:
                loop.call_soon(_deliver, h, dict(event))

    async def acquire(
        self, candidates: list[tuple[str, int]], ttl: float, least: bool = False
    ) -> tuple[int, str] | None:
        self._check()
        now = time.time()
        best, best_count = -1, 0
        for i, (acc, limit) in enumerate(candidates):
            if self.hub.cools.get(acc, 0.0) > now:
                continue
            c = self.hub.count(acc, now)
            if limit <= 0 or c < limit:
                if not least:
                    best = i
                    break
                if best < 0 or c < best_count:
                    best, best_count = i, c
        if best < 0:
            return None
        token = f"{self.name}:{next(self._tokens)}"
        self.hub.leases.setdefault(candidates[best][0], {})[token] = now + ttl
        return best, token

    async def release(self, account_id: str, token: str, provider: str) -> None:
        self._check()
        self.hub.leases.get(account_id, {}).pop(token, None)
        self._broadcast({"t": "rel", "p": provider})

    async def renew(self, leases: list[tuple[str, str]], ttl: float) -> None:
        self._check()
        exp = time.time() + ttl
        for acc, token in leases:
            held = self.hub.leases.get(acc, {})
            if token in held:
                held[token] = exp

    async def inflight(self, account_ids: list[str]) -> dict[str, int]:
        self._check()
        now = time.time()
        return {a: self.hub.count(a, now) for a in account_ids}

    async def set_cooldown(self, account_id: str, until: float) -> None:
        self._check()
        if until > time.time():
            self.hub.cools[account_id] = until

    async def clear_cooldown(self, account_id: str) -> None:
        self._check()
        self.hub.cools.pop(account_id, None)

    async def cooldowns(self, account_ids: list[str]) -> dict[str, float]:
        self._check()
        now = time.time()
        return {a: u for a in account_ids if (u := self.hub.cools.get(a, 0.0)) > now}

    async def claim(self, name: str, ttl: float) -> bool:
        self._check()
        now = time.time()
        if self.hub.claims.get(name, 0.0) > now:
            return False
        self.hub.claims[name] = now + ttl
        return True


_delivering: set[asyncio.Future[None]] = set()


def _deliver(handler: EventHandler, event: dict[str, Any]) -> None:
    r = handler(event)
    if r is not None:
        t = asyncio.ensure_future(r)
        _delivering.add(t)
        t.add_done_callback(_delivering.discard)
