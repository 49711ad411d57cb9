"""The account pool: which upstream account serves the next attempt.

- Selection among a provider's accounts that are enabled, not cooling down and below their in-flight
  limit (:mod:`.selection`: ``round_robin`` by default, ``least_inflight``, ``weighted``).
- Nothing free: the request waits in the provider's FIFO queue; past ``queue_size`` waiters or
  ``queue_timeout`` seconds it gets ``rate_limit`` (429) with a Retry-After estimate.
- Health learned from real outcomes (:mod:`.health`); a periodic re-test re-enables accounts the pool
  disabled.

All of that is in-memory and needs no I/O per request. Around it, through two protocols
(:mod:`.pool_ports`): an :class:`AccountStore` the accounts are loaded from and health is written to, off
the request path; and, optionally, a :class:`SharedState` (Redis) through which every instance shares
in-flight leases (expiring), cooldowns and changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Set
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from ..config import ProviderConfig
from ..core.errors import GatewayError
from ..providers.base import Account
from . import health
from .health import Change
from .pool_ports import AccountRecord, AccountStore, Probe, ProbeResult, SharedState, SharedUnavailable
from .pool_settings import PoolSettings
from .selection import AccountState, pick, pinned, ranked

log = logging.getLogger("any2api.pool")

_NOTHING: frozenset[str] = frozenset()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Line:
    """One provider's accounts, round-robin cursor, wait queue and mean lease hold time."""

    __slots__ = ("cursor", "hold_ema", "queue", "states")

    def __init__(self) -> None:
        self.states: list[AccountState] = []
        self.cursor = 0
        self.queue: deque[_Waiter] = deque()
        self.hold_ema: float | None = None


class PoolLease:
    """An account held for one attempt (the gateway's :class:`~any2api.ports.Lease`)."""

    __slots__ = ("account", "line", "pool", "started", "state", "token")

    def __init__(self, pool: Pool, line: _Line, state: AccountState, token: str | None) -> None:
        self.pool = pool
        self.line = line
        self.state = state
        self.account: Account = state.account
        self.token = token
        self.started = time.monotonic()

    def release(self, error: GatewayError | None) -> None:
        self.pool.report(self.account, error)
        self.pool._release(self)

    def abandon(self) -> None:
        self.pool._release(self)


class _Waiter:
    __slots__ = ("exclude", "future", "pin")

    def __init__(self, future: asyncio.Future[PoolLease], exclude: Set[str], pin: str | None) -> None:
        self.future = future
        self.exclude = exclude
        self.pin = pin


def _no_account(provider: str) -> GatewayError:
    return GatewayError(
        "overloaded", f"No account configured for provider {provider!r}", code="no_account", retryable=False
    )


class Pool:
    """The account pool of one gateway (an :class:`~any2api.ports.AccountPool`); see the module docstring."""

    def __init__(
        self,
        accounts: AccountStore,
        providers: list[ProviderConfig],
        settings: PoolSettings | None = None,
        shared: SharedState | None = None,
        probe: Probe | None = None,
    ) -> None:
        self.accounts = accounts
        self.providers = {p.name: p for p in providers}
        """The providers whose accounts are served, by name."""
        self.settings = settings or PoolSettings()
        self.shared = shared
        self.probe = probe
        """How :meth:`test` reaches an account (set once by whoever builds the pool and the providers)."""
        self._states: dict[str, AccountState] = {}
        self._lines: dict[str, _Line] = {}
        self._held: dict[str, str] = {}
        """Shared lease token -> account id (renewed while held)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._dispatching: set[str] = set()
        self._redispatch: set[str] = set()
        self._shared_warned = 0.0
        if shared is not None:
            shared.on_event(self._on_event)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self._loops = [
            asyncio.create_task(self._every(1.0, self.flush), name="pool-flush"),
            asyncio.create_task(self._retest_loop(), name="pool-retest"),
            asyncio.create_task(
                self._every(lambda: self.settings.refresh_interval, self.reload), name="pool-refresh"
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
        for line in self._lines.values():
            for w in line.queue:
                if not w.future.done():
                    w.future.set_exception(GatewayError("overloaded", "The gateway is shutting down"))
            line.queue.clear()
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

    def _shared_down(self, e: Exception, what: str) -> None:
        now = time.monotonic()
        if now - self._shared_warned > 30:
            self._shared_warned = now
            log.warning("shared state unavailable (%s): %s", e, what)

    # -- loading ------------------------------------------------------------------------------------------

    def _account(self, row: AccountRecord) -> Account:
        p = self.providers.get(row.provider)
        return Account(
            id=row.id, provider=row.provider, api_key=row.api_key, label=row.label or row.id,
            proxy=row.proxy or (p.proxy if p else None), weight=max(1, row.weight), max_inflight=row.max_inflight,
        )  # fmt: skip

    def _line(self, provider: str) -> _Line:
        line = self._lines.get(provider)
        if line is None:
            line = self._lines[provider] = _Line()
        return line

    async def reload(self, flush: bool = True) -> None:
        """Re-read every account from the store (local in-flight counts are kept). ``flush``: write local
        health changes first; without it (another instance changed the store) they are dropped."""
        if flush:
            await self.flush()
        else:
            for s in self._states.values():
                s.dirty = False
        rows = await self.accounts.all()
        if self.shared is not None:
            try:
                cools = await self.shared.cooldowns([r.id for r in rows])
            except SharedUnavailable:
                cools = {}
            for r in rows:
                if r.id in cools:
                    r.cooldown_until = max(r.cooldown_until or 0.0, cools[r.id])
        self._install(rows)

    def _install(self, rows: list[AccountRecord]) -> None:
        old = self._states
        states: dict[str, AccountState] = {}
        by_provider: dict[str, list[AccountState]] = {}
        for r in rows:
            st = old.get(r.id)
            served = r.provider in self.providers
            if st is None:
                st = AccountState(r, self._account(r), served)
            else:  # the same object, so leases taken before the reload release into it
                if st.row.last_used and (r.last_used or 0) < st.row.last_used:
                    r.last_used = st.row.last_used
                st.row = r
                st.account = self._account(r)
                st.served = served
            states[r.id] = st
            if served:
                group = by_provider.setdefault(r.provider, [])
                st.index = len(group)
                group.append(st)
        self._states = states
        for name, line in self._lines.items():
            if name not in by_provider:
                line.states = []
        for name, group in by_provider.items():
            self._line(name).states = group
            self._kick(name)

    async def reload_account(self, account_id: str, publish: bool = True) -> None:
        """Re-read one account after a change to it in the store (``publish``: tell the other instances too).

        The store's version wins over unsaved local health: call :meth:`flush` before changing an account."""
        st = self._states.get(account_id)
        if st is not None:
            st.dirty = False
        row = await self.accounts.get(account_id)
        rows = [s.row for s in self._states.values() if s.id != account_id]
        if row is not None:
            if self.shared is not None:
                with contextlib.suppress(SharedUnavailable):
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

    async def _on_event(self, ev: dict[str, Any]) -> None:
        t = ev.get("t")
        if t == "rel":
            p = ev.get("p")
            if isinstance(p, str):
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
        """Stop serving a provider's accounts (their records stay in the store, orphaned)."""
        if self.providers.pop(name, None) is not None:
            await self.reload()

    def apply_settings(self, settings: PoolSettings) -> None:
        self.settings = settings
        for p in list(self._lines):
            self._kick(p)

    # -- leasing ------------------------------------------------------------------------------------------

    async def acquire(self, provider: str, exclude: Set[str] = _NOTHING, pin: str | None = None) -> PoolLease:
        """An account of ``provider`` for one attempt; release it with ``lease.release(error)``.

        ``exclude``: accounts already tried by this request. ``pin``: that account, whatever its health
        (admin debugging); still subject to its in-flight limit."""
        line = self._lines.get(provider)
        if line is None or not line.states:
            raise _no_account(provider)
        if not line.queue and pin is None and self.shared is None:  # the common case: no I/O, no waiting
            s = pick(line.states, line.cursor, self.settings.strategy, exclude, time.time())
            if s is not None:
                return self._take(line, s, None)
        return await self._acquire(provider, line, exclude, pin)

    @asynccontextmanager
    async def lease(
        self, provider: str, exclude: Set[str] = _NOTHING, pin: str | None = None
    ) -> AsyncIterator[Account]:
        """:meth:`acquire` as a context manager (the outcome is told separately, with :meth:`report`)."""
        lease = await self.acquire(provider, exclude, pin)
        try:
            yield lease.account
        finally:
            self._release(lease)

    def _take(self, line: _Line, s: AccountState, token: str | None) -> PoolLease:
        s.inflight += 1
        if self.settings.strategy != "weighted":
            line.cursor = s.index + 1
        if token is not None:
            self._held[token] = s.id
        return PoolLease(self, line, s, token)

    def _local(self, line: _Line, exclude: Set[str], pin: str | None) -> AccountState | None:
        if pin is not None:
            return pinned(line.states, pin)
        return pick(line.states, line.cursor, self.settings.strategy, exclude, time.time())

    async def _try_acquire(self, line: _Line, exclude: Set[str], pin: str | None) -> PoolLease | None:
        shared = self.shared
        if shared is None:
            s = self._local(line, exclude, pin)
            return self._take(line, s, None) if s is not None else None
        if pin is not None:
            p = pinned(line.states, pin)
            cands = [p] if p is not None else []
        else:
            cands = ranked(line.states, line.cursor, self.settings.strategy, exclude, time.time())
        if not cands:
            return None
        try:
            got = await shared.acquire(
                [(s.id, s.row.max_inflight) for s in cands],
                self.settings.lease_ttl,
                least=self.settings.strategy == "least_inflight",
            )
        except SharedUnavailable as e:
            self._shared_down(e, "in-flight limits are per instance until it returns")
            return self._take(line, cands[0], None)
        if got is None:
            return None
        idx, token = got
        return self._take(line, cands[idx], token)

    async def _acquire(self, provider: str, line: _Line, exclude: Set[str], pin: str | None) -> PoolLease:
        states = line.states
        if pin is not None and not any(s.id == pin for s in states):
            raise GatewayError(
                "not_found", f"Pinned account {pin!r} is not an account of provider {provider!r}",
                code="pinned_account_not_found", retryable=False,
            )  # fmt: skip
        queue = line.queue
        if not queue:
            got = await self._try_acquire(line, exclude, pin)
            if got is not None:
                return got
        st = self.settings
        if pin is None:
            self._fail_fast(provider, line, exclude)
        if len(queue) >= st.queue_size:
            raise GatewayError(
                "rate_limit", f"All accounts of provider {provider!r} are busy and {len(queue)} requests are waiting",
                code="queue_full", retry_after=self._retry_after(line),
            )  # fmt: skip
        waiter = _Waiter(asyncio.get_running_loop().create_future(), exclude, pin)
        queue.append(waiter)
        if len(queue) > 1:  # those ahead may wait for an account this one does not need
            self._kick(provider)
        try:
            async with asyncio.timeout(st.queue_timeout):
                return await waiter.future
        except TimeoutError:
            f = waiter.future
            if f.done() and not f.cancelled() and f.exception() is None:
                return f.result()
            raise GatewayError(
                "rate_limit",
                f"All accounts of provider {provider!r} stayed busy for {st.queue_timeout:g}s",
                code="queue_timeout",
                retry_after=self._retry_after(line),
            ) from None
        except BaseException:
            f = waiter.future
            if f.done() and not f.cancelled() and f.exception() is None:
                self._release(f.result())
            raise
        finally:
            if waiter in queue:
                queue.remove(waiter)

    def _fail_fast(self, provider: str, line: _Line, exclude: Set[str]) -> None:
        """Raise instead of queueing when waiting cannot help: every account disabled or tried, or all
        cooling down for longer than the queue timeout. A short cooldown schedules a wake-up instead."""
        now = time.time()
        st = self.settings
        usable = [s for s in line.states if s.row.enabled and s.id not in exclude]
        if not usable:
            why = "failed for this request" if exclude else "is disabled"
            raise GatewayError(
                "overloaded", f"Every account of provider {provider!r} {why}",
                code="no_account_available", retryable=False,
            )  # fmt: skip
        cooling = [s for s in usable if s.cooling(now)]
        if not cooling:
            return
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

    def _retry_after(self, line: _Line) -> int:
        """Seconds until a slot is likely: the mean hold time, times the waiters per slot."""
        slots = sum(
            s.row.max_inflight if s.row.max_inflight > 0 else 16 for s in line.states if s.row.enabled
        )
        ema = line.hold_ema if line.hold_ema is not None else 1.0
        return max(1, math.ceil(ema * (len(line.queue) + 1) / (slots or 1)))

    def _release(self, lease: PoolLease) -> None:
        s = lease.state
        s.inflight = max(0, s.inflight - 1)
        line = lease.line
        held = time.monotonic() - lease.started
        prev = line.hold_ema
        line.hold_ema = held if prev is None else prev * 0.8 + held * 0.2
        token = lease.token
        if token is not None:
            self._held.pop(token, None)
            self._spawn(self._release_shared(s.id, token, s.row.provider))
        elif line.queue:
            self._kick(s.row.provider)

    async def _release_shared(self, account_id: str, token: str, provider: str) -> None:
        assert self.shared is not None
        try:
            await self.shared.release(account_id, token, provider)
        except SharedUnavailable as e:
            log.warning("cannot release a shared lease (it expires by itself): %s", e)
        line = self._lines.get(provider)
        if line is not None and line.queue:
            await self._dispatch(provider)

    def _kick(self, provider: str) -> None:
        line = self._lines.get(provider)
        if line is not None and line.queue:
            self._spawn(self._dispatch(provider))

    async def _poll_waiters(self) -> None:
        for p, line in list(self._lines.items()):
            if line.queue:
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
                await self._dispatch_once(self._line(provider))
                if provider not in self._redispatch:
                    break
        finally:
            self._dispatching.discard(provider)

    async def _dispatch_once(self, line: _Line) -> None:
        queue = line.queue
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
                got = await self._try_acquire(line, w.exclude, w.pin)
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
        except SharedUnavailable as e:
            log.warning("cannot renew shared leases: %s", e)

    # -- health -------------------------------------------------------------------------------------------

    def report(self, account: Account, error: GatewayError | None) -> None:
        """Learn from one real request's outcome (``None``: it worked)."""
        s = self._states.get(account.id)
        if s is None:
            return
        change = health.judge(s.row, error, self.settings, time.time())
        if change is Change.NOTED:
            s.dirty = True
        elif change is Change.DISABLED:
            self._disabled(s)
        elif change is Change.COOLED:
            self._cooled(s)

    def _disabled(self, s: AccountState) -> None:
        r = s.row
        log.warning("account %s (%s) disabled: %s", r.id, r.provider, r.disabled_reason)
        self._changed(s)

    def _cooled(self, s: AccountState) -> None:
        r = s.row
        until = r.cooldown_until or 0.0
        wait = until - time.time()
        log.info("account %s (%s) cooling down for %.0fs: %s", r.id, r.provider, wait, r.last_error)
        if self.shared is not None:
            self._spawn(self._share_cooldown(r.id, until))
        self._changed(s)
        line = self._lines.get(r.provider)
        if line is not None and line.queue:
            asyncio.get_running_loop().call_later(max(0.0, wait) + 0.01, self._kick, r.provider)

    async def _share_cooldown(self, account_id: str, until: float) -> None:
        assert self.shared is not None
        try:
            await self.shared.set_cooldown(account_id, until)
        except SharedUnavailable as e:
            log.warning("cannot share a cooldown: %s", e)

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
            await self.accounts.save_health(s.row)
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
        row = s.row if s is not None else await self.accounts.get(account_id)
        if row is None:
            return False
        row.cooldown_until = None
        row.failures = 0
        if s is not None:
            s.dirty = True
            await self._save(s)
        else:
            await self.accounts.save_health(row)
        if self.shared is not None:
            with contextlib.suppress(SharedUnavailable):
                await self.shared.clear_cooldown(account_id)
        await self.reload_account(account_id)
        return True

    async def apply_probe(self, account_id: str, result: ProbeResult) -> None:
        """Learn from an explicit test (see :func:`.health.judge_probe`)."""
        s = self._states.get(account_id)
        if s is None:
            return
        r = s.row
        was_enabled = r.enabled
        change = health.judge_probe(r, result)
        if change is Change.RESTORED:
            if r.enabled and not was_enabled:
                log.info("account %s (%s) re-enabled after a successful test", r.id, r.provider)
            if self.shared is not None:
                with contextlib.suppress(SharedUnavailable):
                    await self.shared.clear_cooldown(account_id)
            self._changed(s)
            self._kick(r.provider)
        elif change is Change.DISABLED:
            self._disabled(s)
        elif change is Change.NOTED:
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
                except SharedUnavailable:
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
            except SharedUnavailable:
                pass
        accounts = [self._status_of(s, inflight.get(s.id, 0), now) for s in self._states.values()]
        healthy = sum(1 for a in accounts if a["status"] in ("healthy", "busy"))
        queues = {p: len(line.queue) for p, line in self._lines.items() if line.queue}
        return {
            "total_accounts": len(accounts),
            "healthy_accounts": healthy,
            "queue_size": sum(queues.values()),
            "queues": queues,
            "strategy": self.settings.strategy,
            "shared": global_counts,
            "accounts": accounts,
        }

    @staticmethod
    def _status_of(s: AccountState, n: int, now: float) -> dict[str, Any]:
        r = s.row
        cooling = s.cooling(now)
        if not s.served:
            status = "orphaned"
        elif not r.enabled:
            status = "disabled"
        elif cooling:
            status = "cooling_down"
        elif r.max_inflight > 0 and n >= r.max_inflight:
            status = "busy"
        else:
            status = "healthy"
        return {
            "id": r.id, "provider": r.provider, "label": r.label, "status": status, "enabled": r.enabled,
            "in_flight": n, "max_inflight": r.max_inflight, "weight": r.weight,
            "cooldown_until": iso(r.cooldown_until) if cooling else None,
            "cooldown_remaining": round(r.cooldown_until - now, 1) if cooling and r.cooldown_until else 0,
            "failures": r.failures, "last_used": iso(r.last_used), "last_error": r.last_error,
            "disabled_reason": r.disabled_reason, "disabled_by": r.disabled_by,
        }  # fmt: skip
