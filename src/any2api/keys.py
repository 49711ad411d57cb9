"""Store-backed client keys: an in-memory table by SHA-256 digest (no database round trip per request),
with per-key allowed models, rpm / tpm limits, a token budget and an expiry.

The table is loaded at start, refreshed on admin changes (and, with Redis, on other instances' changes via
pub/sub), and fully re-read every ``refresh_interval`` seconds. A digest not in the table is looked up in the
store at most once per few seconds (so a key created on another instance works at once), under a global
rate cap so random keys cannot hammer the database. With Redis, rate counters and token totals are shared
by every instance."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from .auth import INVALID_KEY, MISSING_KEY, Client, hash_key
from .core.errors import GatewayError
from .ports import UsageRecord
from .store.client_keys import KeyRow
from .store.shared import RATE_BUDGET, RATE_OK, RATE_RPM, Shared
from .store.store import Store

log = logging.getLogger("any2api.keys")

WINDOW = 60.0
_MISS_TTL = 5.0
_MISS_RATE = 50.0
"""Store lookups of unknown digests per second, at most."""


@dataclass(slots=True, eq=False)
class KeyEntry:
    row: KeyRow
    client: Client
    used: int = 0
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    token_sum: int = 0

    @property
    def limited(self) -> bool:
        r = self.row
        return r.rpm is not None or r.tpm is not None or r.token_budget is not None


def _client(row: KeyRow) -> Client:
    return Client(key_id=row.id, name=row.name, allowed_models=row.allowed_models, is_admin=row.is_admin)


def rate_limited(what: str, retry_after: float) -> GatewayError:
    wait = max(1, math.ceil(retry_after))
    return GatewayError(
        "rate_limit", f"Rate limit reached for this API key: {what}. Retry in {wait}s.",
        code="rate_limit_exceeded", retry_after=wait,
    )  # fmt: skip


def budget_exhausted(row: KeyRow) -> GatewayError:
    return GatewayError(
        "quota_exceeded", f"This API key has used its token budget ({row.token_budget} tokens).",
        code="insufficient_quota", retryable=False,
    )  # fmt: skip


class KeyAuth:
    """The :class:`~any2api.auth.Authenticator` over the store's client keys (plus the config's admin key)."""

    def __init__(
        self,
        store: Store,
        shared: Shared | None = None,
        admin_key: str | None = None,
        refresh_interval: float = 30.0,
    ) -> None:
        self.store = store
        self.shared = shared
        self.refresh_interval = refresh_interval
        self._admin_hash = hash_key(admin_key) if admin_key else None
        self._admin = Client(key_id="admin", name="admin", is_admin=True)
        self._by_hash: dict[str, KeyEntry] = {}
        self._by_id: dict[str, KeyEntry] = {}
        self._misses: dict[str, float] = {}
        self._miss_tokens = _MISS_RATE
        self._miss_at = time.monotonic()
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        if shared is not None:
            shared.on_event(self._on_event)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self._loop_task = asyncio.create_task(self._refresh_loop(), name="keys-refresh")

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _refresh_loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(min(0.5, self.refresh_interval) if self.refresh_interval > 0 else 0.5)
            if self.refresh_interval <= 0 or time.monotonic() - last < self.refresh_interval:
                continue
            last = time.monotonic()
            try:
                await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reloading client keys failed")

    # -- the table ---------------------------------------------------------------------------------------

    def _entry(self, row: KeyRow) -> KeyEntry:
        prev = self._by_id.get(row.id)
        if prev is not None:
            prev.row = row
            prev.client = _client(row)
            prev.used = max(prev.used, row.tokens_used)
            return prev
        return KeyEntry(row, _client(row), used=row.tokens_used)

    async def reload(self) -> None:
        rows = await self.store.keys.all()
        entries = [self._entry(r) for r in rows]
        self._by_hash = {e.row.key_hash: e for e in entries}
        self._by_id = {e.row.id: e for e in entries}
        self._misses.clear()
        if self.shared is not None:
            with contextlib.suppress(RedisError, OSError):
                await self.shared.seed_used(
                    {e.row.id: e.row.tokens_used for e in entries if e.row.token_budget}
                )

    async def reload_key(self, key_id: str, publish: bool = True) -> None:
        row = await self.store.keys.get(key_id)
        old = self._by_id.get(key_id)
        if row is None:
            if old is not None:
                self._by_hash.pop(old.row.key_hash, None)
                self._by_id.pop(key_id, None)
        else:
            e = self._entry(row)
            self._by_hash[row.key_hash] = e
            self._by_id[row.id] = e
            self._misses.pop(row.key_hash, None)
        if publish and self.shared is not None:
            await self.shared.publish({"t": "key", "id": key_id})

    async def _on_event(self, ev: dict[str, Any]) -> None:
        t = ev.get("t")
        if t == "key":
            await self.reload_key(str(ev.get("id")), publish=False)
        elif t in ("keys", "resync"):
            await self.reload()

    def entry(self, key_id: str) -> KeyEntry | None:
        return self._by_id.get(key_id)

    def by_digest(self, digest: str) -> KeyEntry | None:
        return self._by_hash.get(digest)

    async def _lookup_miss(self, digest: str) -> KeyEntry | None:
        now = time.monotonic()
        until = self._misses.get(digest)
        if until is not None and until > now:
            return None
        self._miss_tokens = min(_MISS_RATE, self._miss_tokens + (now - self._miss_at) * _MISS_RATE)
        self._miss_at = now
        if self._miss_tokens < 1:
            return None
        self._miss_tokens -= 1
        row = await self.store.keys.by_hash(digest)
        if row is None:
            if len(self._misses) > 10_000:
                self._misses.clear()
            self._misses[digest] = now + _MISS_TTL
            return None
        e = self._entry(row)
        self._by_hash[digest] = e
        self._by_id[row.id] = e
        return e

    # -- the request path ------------------------------------------------------------------------------

    async def authenticate(self, token: str | None) -> Client:
        if not token:
            raise GatewayError("authentication", MISSING_KEY, code="missing_api_key")
        digest = hash_key(token)
        e = self._by_hash.get(digest)
        if e is None:
            if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
                return self._admin
            e = await self._lookup_miss(digest)
            if e is None:
                raise GatewayError("authentication", INVALID_KEY, code="invalid_api_key")
        row = e.row
        if row.revoked_at is not None:
            raise GatewayError("authentication", INVALID_KEY, code="invalid_api_key")
        if row.expires_at is not None and row.expires_at <= time.time():
            raise GatewayError("authentication", "This API key has expired.", code="api_key_expired")
        if e.limited:
            await self._admit(e)
        return e.client

    async def _admit(self, e: KeyEntry) -> None:
        row = e.row
        if self.shared is not None:
            try:
                code, wait = await self.shared.check_rate(row.id, row.rpm, row.tpm, row.token_budget)
            except (RedisError, OSError) as err:
                log.warning("Redis unavailable for key limits (%s); enforcing them per instance", err)
            else:
                if code == RATE_OK:
                    return
                if code == RATE_BUDGET:
                    raise budget_exhausted(row)
                if code == RATE_RPM:
                    raise rate_limited(f"{row.rpm} requests per minute", wait)
                raise rate_limited(f"{row.tpm} tokens per minute", wait)
        self._admit_local(e)

    def _admit_local(self, e: KeyEntry) -> None:
        row = e.row
        now = time.time()
        if row.token_budget is not None and e.used >= row.token_budget:
            raise budget_exhausted(row)
        if row.tpm is not None:
            toks = e.tokens
            while toks and toks[0][0] <= now - WINDOW:
                e.token_sum -= toks.popleft()[1]
            if toks and e.token_sum >= row.tpm:
                raise rate_limited(f"{row.tpm} tokens per minute", toks[0][0] + WINDOW - now)
        if row.rpm is not None:
            reqs = e.requests
            while reqs and reqs[0] <= now - WINDOW:
                reqs.popleft()
            if len(reqs) >= row.rpm:
                raise rate_limited(
                    f"{row.rpm} requests per minute", (reqs[0] + WINDOW - now) if reqs else WINDOW
                )
            reqs.append(now)

    # -- usage (a Gateway usage sink) ----------------------------------------------------------------

    def record_usage(self, rec: UsageRecord) -> None:
        if rec.usage is None:
            return
        e = self._by_id.get(rec.client.key_id)
        if e is None:
            return
        tokens = rec.usage.input_tokens + rec.usage.output_tokens
        if tokens <= 0:
            return
        e.used += tokens
        if e.row.tpm is not None:
            e.tokens.append((time.time(), tokens))
            e.token_sum += tokens
        if self.shared is not None and e.limited:
            t = asyncio.ensure_future(self._share_tokens(e.row.id, tokens, e.row.tokens_used))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _share_tokens(self, key_id: str, tokens: int, seed: int) -> None:
        assert self.shared is not None
        try:
            await self.shared.add_tokens(key_id, tokens, seed)
        except (RedisError, OSError) as e:
            log.warning("cannot add tokens in Redis: %s", e)

    __call__ = record_usage
