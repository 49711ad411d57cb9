"""The store-backed account pool: per-account in-flight limits, selection strategies, a bounded FIFO wait
queue, and health learned from real outcomes.

Same interface as :class:`~any2api.routing.pool.StaticPool`: ``lease(provider, exclude)`` is an async context
manager yielding an :class:`Account`; ``report(account, error)`` tells the pool how the attempt went.

- Selection among accounts that are enabled, not cooling down and below their in-flight limit:
  ``round_robin`` (default), ``least_inflight`` or ``weighted`` (smooth weighted round-robin).
- Nothing free: the request waits in the provider's FIFO queue; past ``queue_size`` waiters or
  ``queue_timeout`` seconds it gets ``rate_limit`` (429) with a Retry-After estimate.
- Health: 401/403 disable the account (reason kept); 429 cools it down until the upstream's Retry-After;
  5xx/timeouts past ``failure_threshold`` consecutive failures cool it down with exponential backoff. A
  periodic re-test re-enables accounts the pool disabled. Changes are written to the store off the request
  path; with Redis, leases (expiring), cooldowns and changes are shared by every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from ..config import ProviderConfig
from ..core.errors import GatewayError
from ..providers.base import Account
from ..store.accounts import AccountRow
from ..store.shared import Shared
from ..store.store import Store

log = logging.getLogger("any2api.pool")

STRATEGIES = ("round_robin", "least_inflight", "weighted")

PINNED_ACCOUNT: ContextVar[str | None] = ContextVar("any2api_pinned_account", default=None)
"""Set (for an admin key's request) to force one account; health and exclusions are ignored for it."""

PIN_HEADER = "x-any2api-account"


@dataclass(slots=True)
class PoolSettings:
    strategy: str = "round_robin"
    default_max_inflight: int = 2
    queue_size: int = 100
    """Waiters per provider; more get 429 at once."""
    queue_timeout: float = 30.0
    failure_threshold: int = 3
    cooldown_base: float = 5.0
    cooldown_max: float = 300.0
    rate_limit_cooldown: float = 30.0
    """Cooldown after an upstream 429 that gave no Retry-After."""
    retest_interval: float = 60.0
    """Seconds between re-tests of accounts the pool disabled (0: never)."""
    lease_ttl: float = 30.0
    """With Redis: a lease not renewed for this long (its instance died) frees its slot."""
    refresh_interval: float = 30.0
    """Seconds between full reloads of accounts from the store (catches changes made elsewhere)."""

    def merged(self, data: dict[str, Any] | None, path: str = "pool") -> PoolSettings:
        """A copy with ``data`` applied; a wrong key or value raises ``ValueError`` naming it."""
        if not data:
            return PoolSettings(**self.to_dict())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: must be an object")
        out = self.to_dict()
        types = {f.name: f.type for f in fields(self)}
        for k, v in data.items():
            if k not in types:
                raise ValueError(f"{path}.{k}: unknown setting (one of: {', '.join(sorted(types))})")
            if k == "strategy":
                if v not in STRATEGIES:
                    raise ValueError(f"{path}.strategy: must be one of {', '.join(STRATEGIES)}")
            elif types[k] == "int":
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError(f"{path}.{k}: must be a non-negative integer")
            else:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ValueError(f"{path}.{k}: must be a non-negative number")
                v = float(v)
            out[k] = v
        return PoolSettings(**out)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True, eq=False)
class AccountState:
    row: AccountRow
    account: Account
    served: bool
    """Its provider is configured (accounts of removed providers stay in the store, unused)."""
    inflight: int = 0
    current_weight: int = 0
    dirty: bool = False

    @property
    def id(self) -> str:
        return self.row.id

    def cooling(self, now: float) -> bool:
        return self.row.cooldown_until is not None and self.row.cooldown_until > now

    def has_room(self) -> bool:
        return self.row.max_inflight <= 0 or self.inflight < self.row.max_inflight


@dataclass(slots=True, eq=False)
class _Lease:
    state: AccountState
    token: str | None
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True, eq=False)
class _Waiter:
    future: asyncio.Future[_Lease]
    exclude: frozenset[str]
    pin: str | None


@dataclass(slots=True)
class ProbeResult:
    ok: bool
    error: GatewayError | None = None
    details: dict[str, Any] = field(default_factory=dict)


Probe = Callable[[Account], Awaitable[ProbeResult]]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class StorePool:
    def __init__(
        self,
        store: Store,
        providers: list[ProviderConfig],
        settings: PoolSettings | None = None,
        shared: Shared | None = None,
        probe: Probe | None = None,
    ) -> None:
        self.store = store
        self.providers = {p.name: p for p in providers}
        self.settings = settings or PoolSettings()
        self.shared = shared
        self.probe = probe
        self._states: dict[str, AccountState] = {}
        self._by_provider: dict[str, list[AccountState]] = {}
        self._cursor: dict[str, int] = {}
        self._queues: dict[str, deque[_Waiter]] = {}
        self._hold_ema: dict[str, float] = {}
        self._held: dict[str, str] = {}
        """Redis lease token -> account id (renewed while held)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._dispatching: set[str] = set()
        self._redispatch: set[str] = set()
        self._redis_warned = 0.0
        if shared is not None:
            shared.on_event(self._on_event)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self._loops = [
            asyncio.create_task(self._every(1.0, self.flush), name="pool-flush"),
            asyncio.create_task(self._retest_loop(), name="pool-retest"),
            asyncio.create_task(
                self._every(lambda: self.settings.refresh_interval, self._refresh), name="pool-refresh"
            ),
        ]
        if self.shared is not None:
            self._loops.append(
                asyncio.create_task(self._every(lambda: max(0.5, self.settings.lease_ttl / 3), self._renew))
            )
            self._loops.append(asyncio.create_task(self._every(0.25, self._poll_waiters)))

    async def close(self) -> None:
        for t in self._loops:
            t.cancel()
        for t in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._loops = []
        for q in self._queues.values():
            for w in q:
                if not w.future.done():
                    w.future.set_exception(GatewayError("overloaded", "The gateway is shutting down"))
            q.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()

    async def _every(self, interval: float | Callable[[], float], fn: Callable[[], Awaitable[None]]) -> None:
        """Run ``fn`` every ``interval`` seconds (a callable is re-read, so setting changes apply; <= 0: never)."""
        last = time.monotonic()
        while True:
            wait = interval() if callable(interval) else interval
            await asyncio.sleep(min(wait, 0.5) if wait > 0 else 0.5)
            if wait <= 0 or time.monotonic() - last < wait:
                continue
            last = time.monotonic()
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pool background task failed")

    def _spawn(self, coro: Awaitable[Any]) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._task_done)

    def _task_done(self, t: asyncio.Task[Any]) -> None:
        self._tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.warning("pool task failed: %r", t.exception())

    # -- loading ------------------------------------------------------------------------------------------

    def _account(self, row: AccountRow) -> Account:
        p = self.providers.get(row.provider)
        return Account(
            id=row.id, provider=row.provider, api_key=row.api_key, label=row.label or row.id,
            proxy=row.proxy or (p.proxy if p else None), weight=max(1, row.weight), max_inflight=row.max_inflight,
        )  # fmt: skip

    async def reload(self, flush: bool = True) -> None:
        """Re-read every account from the store (local in-flight counts are kept). ``flush``: write local
        health changes first; without it (another instance changed the store) they are dropped."""
        if flush:
            await self.flush()
        else:
            for s in self._states.values():
                s.dirty = False
        rows = await self.store.accounts.all()
        if self.shared is not None:
            try:
                cools = await self.shared.cooldowns([r.id for r in rows])
            except RedisError:
                cools = {}
            for r in rows:
                if r.id in cools:
                    r.cooldown_until = max(r.cooldown_until or 0.0, cools[r.id])
        self._install(rows)

    def _install(self, rows: list[AccountRow]) -> None:
        old = self._states
        states: dict[str, AccountState] = {}
        by_provider: dict[str, list[AccountState]] = {}
        for r in rows:
            st = old.get(r.id)
            if st is None:
                st = AccountState(r, self._account(r), r.provider in self.providers)
            else:  # the same object, so leases taken before the reload release into it
                if st.row.last_used and (r.last_used or 0) < st.row.last_used:
                    r.last_used = st.row.last_used
                st.row = r
                st.account = self._account(r)
                st.served = r.provider in self.providers
            states[r.id] = st
            if st.served:
                by_provider.setdefault(r.provider, []).append(st)
        self._states = states
        self._by_provider = by_provider
        for p in by_provider:
            self._kick(p)

    async def reload_account(self, account_id: str, publish: bool = True) -> None:
        """Re-read one account after a change to it in the store (``publish``: tell the other instances too).

        The store's version wins over unsaved local health: call :meth:`flush` before changing an account."""
        st = self._states.get(account_id)
        if st is not None:
            st.dirty = False
        row = await self.store.accounts.get(account_id)
        rows = [s.row for s in self._states.values() if s.id != account_id]
        if row is not None:
            if self.shared is not None:
                with contextlib.suppress(RedisError):
                    if row.cooldown_until is None or row.cooldown_until <= time.time():
                        await self.shared.clear_cooldown(account_id)
                    else:
                        await self.shared.set_cooldown(account_id, row.cooldown_until)
            rows.append(row)
            rows.sort(key=lambda r: (r.created_at, r.id))
        self._install(rows)
        if publish and self.shared is not None:
            await self.shared.publish({"t": "account", "id": account_id})

    async def reload_all(self, publish: bool = True) -> None:
        await self.reload()
        if publish and self.shared is not None:
            await self.shared.publish({"t": "accounts"})

    async def _refresh(self) -> None:
        await self.reload()

    async def _on_event(self, ev: dict[str, Any]) -> None:
        t = ev.get("t")
        if t == "rel":
            p = ev.get("p")
            if isinstance(p, str) and self._queues.get(p):
                self._kick(p)
        elif t == "health":
            st = self._states.get(str(ev.get("id")))
            if st is not None:
                r = st.row
                r.enabled = bool(ev.get("enabled", r.enabled))
                r.disabled_reason = ev.get("disabled_reason")
                r.disabled_by = ev.get("disabled_by")
                r.cooldown_until = ev.get("cooldown_until")
                r.failures = int(ev.get("failures") or 0)
                r.last_error = ev.get("last_error")
                self._kick(r.provider)
        elif t == "account":
            await self.reload_account(str(ev.get("id")), publish=False)
        elif t == "accounts":
            await self.reload(flush=False)
        elif t == "resync":
            await self.reload()

    async def set_provider(self, config: ProviderConfig) -> None:
        """Serve the accounts of a provider added (or replaced) at run time."""
        self.providers[config.name] = config
        await self.reload()

    async def remove_provider(self, name: str) -> None:
        """Stop serving a provider's accounts (rows left in the store become orphaned)."""
        if self.providers.pop(name, None) is not None:
            await self.reload()

    def apply_settings(self, settings: PoolSettings) -> None:
        self.settings = settings
        for p in list(self._queues):
            self._kick(p)

    # -- leasing ------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def lease(self, provider: str, exclude: frozenset[str] = frozenset()) -> AsyncIterator[Account]:
        lease = await self._acquire(provider, exclude, PINNED_ACCOUNT.get())
        try:
            yield lease.state.account
        finally:
            self._release(lease)

    def _ordered(
        self, provider: str, exclude: frozenset[str], pin: str | None, first_only: bool
    ) -> list[AccountState]:
        states = self._by_provider.get(provider, ())
        if pin is not None:
            return [s for s in states if s.id == pin and s.has_room()]
        now = time.time()
        n = len(states)
        if n == 0:
            return []
        strategy = self.settings.strategy
        cur = self._cursor.get(provider, 0) % n
        out: list[AccountState] = []
        for k in range(n):
            s = states[(cur + k) % n]
            if s.row.enabled and s.id not in exclude and s.has_room() and not s.cooling(now):
                out.append(s)
                if first_only and strategy == "round_robin":
                    break
        if len(out) <= 1:
            return out
        if strategy == "least_inflight":
            out.sort(key=lambda s: s.inflight)  # stable: ties keep round-robin order
        elif strategy == "weighted":
            total = 0
            best = out[0]
            for s in out:
                w = max(1, s.row.weight)
                s.current_weight += w
                total += w
                if s.current_weight > best.current_weight:
                    best = s
            best.current_weight -= total
            out.remove(best)
            out.sort(key=lambda s: -s.current_weight)
            out.insert(0, best)
        return out

    def _take(self, s: AccountState, token: str | None) -> _Lease:
        s.inflight += 1
        states = self._by_provider.get(s.row.provider, ())
        if self.settings.strategy != "weighted":
            with contextlib.suppress(ValueError):
                self._cursor[s.row.provider] = states.index(s) + 1
        if token is not None:
            self._held[token] = s.id
        return _Lease(s, token)

    async def _try_acquire(self, provider: str, exclude: frozenset[str], pin: str | None) -> _Lease | None:
        shared = self.shared
        cands = self._ordered(provider, exclude, pin, first_only=shared is None)
        if not cands:
            return None
        if shared is None:
            return self._take(cands[0], None)
        try:
            got = await shared.acquire(
                [(s.id, s.row.max_inflight) for s in cands],
                self.settings.lease_ttl,
                least=self.settings.strategy == "least_inflight",
            )
        except (RedisError, OSError) as e:
            now = time.monotonic()
            if now - self._redis_warned > 30:
                self._redis_warned = now
                log.warning("Redis unavailable (%s): in-flight limits are per instance until it returns", e)
            return self._take(cands[0], None)
        if got is None:
            return None
        idx, token = got
        return self._take(cands[idx], token)

    async def _acquire(self, provider: str, exclude: frozenset[str], pin: str | None) -> _Lease:
        states = self._by_provider.get(provider)
        if not states:
            raise GatewayError(
                "overloaded",
                f"No account configured for provider {provider!r}",
                code="no_account",
                retryable=False,
            )
        if pin is not None and not any(s.id == pin for s in states):
            raise GatewayError(
                "not_found", f"Pinned account {pin!r} is not an account of provider {provider!r}",
                code="pinned_account_not_found", retryable=False,
            )  # fmt: skip
        queue = self._queues.setdefault(provider, deque())
        if not queue:
            got = await self._try_acquire(provider, exclude, pin)
            if got is not None:
                return got
        now = time.time()
        st = self.settings
        if pin is None:
            usable = [s for s in states if s.row.enabled and s.id not in exclude]
            if not usable:
                why = "failed for this request" if exclude else "is disabled"
                raise GatewayError(
                    "overloaded", f"Every account of provider {provider!r} {why}",
                    code="no_account_available", retryable=False,
                )  # fmt: skip
            cooling = [s for s in usable if s.cooling(now)]
            if cooling:
                wait = min(s.row.cooldown_until or now for s in cooling) - now
                if len(cooling) == len(usable) and (wait > st.queue_timeout or st.queue_size == 0):
                    last = next((c.row.last_error for c in cooling if c.row.last_error), None)
                    raise GatewayError(
                        "rate_limit", f"Every account of provider {provider!r} is cooling down after upstream errors"
                        + (f" (last: {last})" if last else ""),
                        code="accounts_cooling_down", retry_after=max(1, math.ceil(wait)),
                    )  # fmt: skip
                if wait < st.queue_timeout:
                    asyncio.get_running_loop().call_later(wait + 0.01, self._kick, provider)
        if len(queue) >= st.queue_size:
            raise GatewayError(
                "rate_limit", f"All accounts of provider {provider!r} are busy and {len(queue)} requests are waiting",
                code="queue_full", retry_after=self._retry_after(provider),
            )  # fmt: skip
        waiter = _Waiter(asyncio.get_running_loop().create_future(), exclude, pin)
        queue.append(waiter)
        try:
            async with asyncio.timeout(st.queue_timeout):
                return await waiter.future
        except TimeoutError:
            if waiter.future.done() and not waiter.future.cancelled() and waiter.future.exception() is None:
                return waiter.future.result()
            raise GatewayError(
                "rate_limit",
                f"All accounts of provider {provider!r} stayed busy for {st.queue_timeout:g}s",
                code="queue_timeout",
                retry_after=self._retry_after(provider),
            ) from None
        except BaseException:
            f = waiter.future
            if f.done() and not f.cancelled() and f.exception() is None:
                self._release(f.result())
            raise
        finally:
            if waiter in queue:
                queue.remove(waiter)

    def _retry_after(self, provider: str) -> int:
        """Seconds until a slot is likely: the mean hold time, times the waiters per slot."""
        states = self._by_provider.get(provider, ())
        slots = (
            sum(s.row.max_inflight if s.row.max_inflight > 0 else 16 for s in states if s.row.enabled) or 1
        )
        ema = self._hold_ema.get(provider, 1.0)
        waiting = len(self._queues.get(provider, ()))
        return max(1, math.ceil(ema * (waiting + 1) / slots))

    def _release(self, lease: _Lease) -> None:
        s = lease.state
        s.inflight = max(0, s.inflight - 1)
        provider = s.row.provider
        held = time.monotonic() - lease.started
        prev = self._hold_ema.get(provider)
        self._hold_ema[provider] = held if prev is None else prev * 0.8 + held * 0.2
        token = lease.token
        if token is not None:
            self._held.pop(token, None)
            self._spawn(self._release_shared(s.id, token, provider))
        elif self._queues.get(provider):
            self._kick(provider)

    async def _release_shared(self, account_id: str, token: str, provider: str) -> None:
        assert self.shared is not None
        try:
            await self.shared.release(account_id, token, provider)
        except (RedisError, OSError) as e:
            log.warning("cannot release lease in Redis (it expires by itself): %s", e)
        if self._queues.get(provider):
            await self._dispatch(provider)

    def _kick(self, provider: str) -> None:
        if self._queues.get(provider):
            self._spawn(self._dispatch(provider))

    async def _poll_waiters(self) -> None:
        for p, q in list(self._queues.items()):
            if q:
                await self._dispatch(p)

    async def _dispatch(self, provider: str) -> None:
        """Hand free accounts to waiters, first come first served."""
        if provider in self._dispatching:
            self._redispatch.add(provider)
            return
        self._dispatching.add(provider)
        try:
            while True:
                self._redispatch.discard(provider)
                await self._dispatch_once(provider)
                if provider not in self._redispatch:
                    break
        finally:
            self._dispatching.discard(provider)

    async def _dispatch_once(self, provider: str) -> None:
        queue = self._queues.get(provider)
        while queue:
            served = False
            plain_failed = False
            for w in list(queue):
                if w.future.done():
                    with contextlib.suppress(ValueError):
                        queue.remove(w)
                    continue
                plain = not w.exclude and w.pin is None
                if plain and plain_failed:
                    continue
                got = await self._try_acquire(provider, w.exclude, w.pin)
                if got is None:
                    plain_failed = plain_failed or plain
                    continue
                if w.future.done():  # gave up while we were acquiring
                    self._release(got)
                    continue
                with contextlib.suppress(ValueError):
                    queue.remove(w)
                w.future.set_result(got)
                served = True
                break
            if not served:
                return

    async def _renew(self) -> None:
        if self.shared is None or not self._held:
            return
        try:
            await self.shared.renew([(a, t) for t, a in list(self._held.items())], self.settings.lease_ttl)
        except (RedisError, OSError) as e:
            log.warning("cannot renew leases in Redis: %s", e)

    # -- health -------------------------------------------------------------------------------------------

    def report(self, account: Account, error: GatewayError | None) -> None:
        s = self._states.get(account.id)
        if s is None:
            return
        r = s.row
        now = time.time()
        if error is None:
            r.last_used = now
            s.dirty = True
            if r.failures:
                r.failures = 0
                r.last_error = None
            return
        us = error.upstream_status
        st = self.settings
        if us in (401, 403) or error.code == "upstream_auth_failed":
            self._disable(s, f"Upstream rejected the credentials (HTTP {us}): {error.message}")
        elif error.kind in ("rate_limit", "quota_exceeded") or us == 429:
            if error.retry_after:
                wait = error.retry_after
            else:
                wait = st.cooldown_max if error.kind == "quota_exceeded" else st.rate_limit_cooldown
            self._cool(s, now + wait, error.message)
        elif error.kind in ("upstream", "overloaded", "timeout"):
            r.failures += 1
            r.last_error = error.message
            r.last_used = now
            if r.failures >= st.failure_threshold:
                backoff = min(st.cooldown_max, st.cooldown_base * 2 ** (r.failures - st.failure_threshold))
                self._cool(s, now + max(backoff, error.retry_after or 0), error.message)
            else:
                s.dirty = True
        # anything else (bad request, unknown model, ...) is the request's fault, not the account's

    def _disable(self, s: AccountState, reason: str, by: str = "health") -> None:
        r = s.row
        r.enabled = False
        r.disabled_reason = reason
        r.disabled_by = by
        r.last_error = reason
        log.warning("account %s (%s) disabled: %s", r.id, r.provider, reason)
        self._changed(s)

    def _cool(self, s: AccountState, until: float, reason: str) -> None:
        r = s.row
        r.cooldown_until = max(until, r.cooldown_until or 0.0)
        r.last_error = reason
        log.info("account %s (%s) cooling down for %.0fs: %s", r.id, r.provider, until - time.time(), reason)
        if self.shared is not None:
            self._spawn(self._share_cooldown(r.id, r.cooldown_until))
        self._changed(s)
        if self._queues.get(r.provider):
            asyncio.get_running_loop().call_later(
                max(0.0, until - time.time()) + 0.01, self._kick, r.provider
            )

    async def _share_cooldown(self, account_id: str, until: float) -> None:
        assert self.shared is not None
        try:
            await self.shared.set_cooldown(account_id, until)
        except (RedisError, OSError) as e:
            log.warning("cannot share cooldown through Redis: %s", e)

    def _changed(self, s: AccountState) -> None:
        s.dirty = True
        if self.shared is not None:
            r = s.row
            self._spawn(
                self.shared.publish(
                    {
                        "t": "health", "id": r.id, "enabled": r.enabled, "disabled_reason": r.disabled_reason,
                        "disabled_by": r.disabled_by, "cooldown_until": r.cooldown_until, "failures": r.failures,
                        "last_error": r.last_error,
                    }
                )
            )  # fmt: skip

    async def _save(self, s: AccountState) -> None:
        s.dirty = False
        try:
            await self.store.accounts.save_health(s.row)
        except Exception:
            s.dirty = True
            raise

    async def flush(self) -> None:
        """Write pending health and last-used changes to the store."""
        for s in list(self._states.values()):
            if s.dirty:
                await self._save(s)

    async def clear_cooldown(self, account_id: str) -> bool:
        """Clear an account's cooldown and failure count by hand (it is usable at once)."""
        s = self._states.get(account_id)
        row = s.row if s is not None else await self.store.accounts.get(account_id)
        if row is None:
            return False
        row.cooldown_until = None
        row.failures = 0
        if s is not None:
            s.dirty = True
            await self._save(s)
        else:
            await self.store.accounts.save_health(row)
        if self.shared is not None:
            with contextlib.suppress(RedisError):
                await self.shared.clear_cooldown(account_id)
        await self.reload_account(account_id)
        return True

    async def apply_probe(self, account_id: str, result: ProbeResult) -> None:
        """Learn from an explicit test: success re-enables a pool-disabled account and clears its cooldown;
        rejected credentials disable it."""
        s = self._states.get(account_id)
        if s is None:
            return
        r = s.row
        if result.ok:
            r.failures = 0
            r.last_error = None
            r.cooldown_until = None
            if not r.enabled and r.disabled_by == "health":
                r.enabled = True
                r.disabled_reason = None
                r.disabled_by = None
                log.info("account %s (%s) re-enabled after a successful test", r.id, r.provider)
            if self.shared is not None:
                with contextlib.suppress(RedisError):
                    await self.shared.clear_cooldown(account_id)
            self._changed(s)
            self._kick(r.provider)
        elif result.error is not None:
            e = result.error
            if e.upstream_status in (401, 403) or e.code == "upstream_auth_failed":
                if r.enabled or r.disabled_by == "health":
                    self._disable(
                        s, f"Upstream rejected the credentials (HTTP {e.upstream_status}): {e.message}"
                    )
            else:
                r.last_error = e.message
                s.dirty = True
        await self.flush()

    async def test(self, account_id: str) -> ProbeResult:
        s = self._states.get(account_id)
        if s is None:
            return ProbeResult(False, GatewayError("not_found", f"No account {account_id!r}"))
        if self.probe is None:
            return ProbeResult(False, GatewayError("internal", "No tester configured"))
        if not s.served:
            return ProbeResult(
                False, GatewayError("not_found", f"Provider {s.row.provider!r} is not configured")
            )
        result = await self.probe(s.account)
        await self.apply_probe(account_id, result)
        return result

    async def _retest_loop(self) -> None:
        while True:
            interval = self.settings.retest_interval
            await asyncio.sleep(interval if interval > 0 else 30.0)
            if interval <= 0 or self.probe is None:
                continue
            try:
                await self.retest_disabled()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("account re-test failed")

    async def retest_disabled(self) -> int:
        """Re-test every account the pool disabled; returns how many came back."""
        back = 0
        for s in list(self._states.values()):
            r = s.row
            if r.enabled or r.disabled_by != "health" or not s.served:
                continue
            if self.shared is not None:
                try:
                    if not await self.shared.claim(
                        f"retest:{r.id}", max(5.0, self.settings.retest_interval * 0.8)
                    ):
                        continue
                except RedisError:
                    pass
            result = await self.test(r.id)
            back += result.ok
        return back

    # -- status --------------------------------------------------------------------------------------------

    def account_states(self) -> list[AccountState]:
        return list(self._states.values())

    def state(self, account_id: str) -> AccountState | None:
        return self._states.get(account_id)

    async def status(self) -> dict[str, Any]:
        now = time.time()
        ids = list(self._states)
        inflight = {i: self._states[i].inflight for i in ids}
        global_counts = False
        if self.shared is not None and ids:
            try:
                inflight = await self.shared.inflight(ids)
                cools = await self.shared.cooldowns(ids)
                global_counts = True
                for i, until in cools.items():
                    r = self._states[i].row
                    r.cooldown_until = max(r.cooldown_until or 0.0, until)
            except (RedisError, OSError):
                pass
        accounts = []
        healthy = 0
        for s in self._states.values():
            r = s.row
            n = inflight.get(s.id, 0)
            if not s.served:
                status = "orphaned"
            elif not r.enabled:
                status = "disabled"
            elif s.cooling(now):
                status = "cooling_down"
            elif r.max_inflight > 0 and n >= r.max_inflight:
                status = "busy"
            else:
                status = "healthy"
            if status in ("healthy", "busy"):
                healthy += 1
            accounts.append(
                {
                    "id": r.id, "provider": r.provider, "label": r.label, "status": status, "enabled": r.enabled,
                    "in_flight": n, "max_inflight": r.max_inflight, "weight": r.weight,
                    "cooldown_until": iso(r.cooldown_until) if s.cooling(now) else None,
                    "cooldown_remaining": round(r.cooldown_until - now, 1) if s.cooling(now) and r.cooldown_until else 0,
                    "failures": r.failures, "last_used": iso(r.last_used), "last_error": r.last_error,
                    "disabled_reason": r.disabled_reason, "disabled_by": r.disabled_by,
                }
            )  # fmt: skip
        queues = {p: len(q) for p, q in self._queues.items() if q}
        return {
            "total_accounts": len(accounts),
            "healthy_accounts": healthy,
            "queue_size": sum(queues.values()),
            "queues": queues,
            "strategy": self.settings.strategy,
            "shared": global_counts,
            "accounts": accounts,
        }
