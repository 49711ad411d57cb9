"""State that several instances share through Redis: in-flight leases (expiring), cooldowns, client-key
rate counters and token totals, login-failure counters, and an event channel for cache invalidation.

Every key lives under ``a2a:<store identity>:``, so instances sharing one database share one namespace and
deployments (or test runs) with different databases never collide in one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("any2api.shared")

_ACQUIRE = """
local now = tonumber(ARGV[1])
local exp = tonumber(ARGV[2])
local token = ARGV[3]
local mode = ARGV[4]
local n = #KEYS / 2
local best = -1
local bestc = nil
for i = 1, n do
  local z = KEYS[2 * i - 1]
  if redis.call('EXISTS', KEYS[2 * i]) == 0 then
    local max = tonumber(ARGV[4 + i])
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    local c = redis.call('ZCARD', z)
    if max <= 0 or c < max then
      if mode == 'first' then
        best = i
        break
      end
      if bestc == nil or c < bestc then
        best = i
        bestc = c
      end
    end
  end
end
if best < 0 then
  return 0
end
local z = KEYS[2 * best - 1]
redis.call('ZADD', z, exp, token)
redis.call('PEXPIREAT', z, exp + 1000)
return best
"""

_RATE = """
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
if budget >= 0 then
  local used = tonumber(redis.call('GET', KEYS[3]) or '0')
  if used >= budget then
    return {3, 0}
  end
end
if tpm >= 0 then
  local h = redis.call('HGETALL', KEYS[2])
  local cutoff = math.floor(now / 1000) - 60
  local sum = 0
  local oldest = nil
  for i = 1, #h, 2 do
    local sec = tonumber(h[i])
    if sec <= cutoff then
      redis.call('HDEL', KEYS[2], h[i])
    else
      sum = sum + tonumber(h[i + 1])
      if oldest == nil or sec < oldest then
        oldest = sec
      end
    end
  end
  if sum >= tpm and oldest ~= nil then
    return {2, (oldest + 61) * 1000 - now}
  end
end
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  local c = redis.call('ZCARD', KEYS[1])
  if c >= rpm then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local wait = 1000
    if first[2] ~= nil then
      wait = tonumber(first[2]) + 60000 - now
    end
    return {1, wait}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], 61000)
end
return {0, 0}
"""

_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('PUBLISH', KEYS[2], ARGV[2])
end
return 1
"""

_RENEW = """
local exp = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', exp, ARGV[1 + i])
  redis.call('PEXPIREAT', KEYS[i], exp + 1000)
end
return 1
"""

EventHandler = Callable[[dict[str, Any]], Awaitable[None] | None]

RATE_OK, RATE_RPM, RATE_TPM, RATE_BUDGET = 0, 1, 2, 3
_USED_TTL = 30 * 86400
"""A key's shared token total idles out of Redis after this long (it is re-seeded from the store)."""


class Shared:
    """Redis-backed shared state for one store namespace."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.ns = f"a2a:{namespace}:"
        self.redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.instance = secrets.token_hex(6)
        self.channel = self.ns + "events"
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._rate = self.redis.register_script(_RATE)
        self._release = self.redis.register_script(_RELEASE)
        self._renew = self.redis.register_script(_RENEW)
        self._handlers: list[EventHandler] = []
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.redis.ping()
        self._listener = asyncio.create_task(self._listen(), name="any2api-shared-events")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._subscribed.wait()

    async def close(self) -> None:
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self.redis.aclose()

    # -- events ------------------------------------------------------------------------------------------

    def on_event(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def publish(self, event: dict[str, Any]) -> None:
        event = {**event, "src": self.instance}
        try:
            await self.redis.publish(self.channel, orjson.dumps(event).decode())
        except RedisError as e:
            log.warning("cannot publish %s to Redis: %s", event.get("t"), e)

    async def _listen(self) -> None:
        delay = 0.5
        while not self._closing:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                delay = 0.5
                while True:
                    msg = await pubsub.get_message(timeout=5.0)
                    if msg is None or msg.get("type") != "message":
                        continue
                    try:
                        event = orjson.loads(msg["data"])
                    except orjson.JSONDecodeError:
                        continue
                    if event.get("src") == self.instance:
                        continue
                    for h in self._handlers:
                        try:
                            r = h(event)
                            if r is not None:
                                await r
                        except Exception:
                            log.exception("shared event handler failed")
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            except (RedisError, OSError) as e:
                log.warning("Redis event channel lost (%s); reconnecting", e)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                # whatever happened meanwhile is unknown: ask every handler to resynchronise
                for h in self._handlers:
                    with contextlib.suppress(Exception):
                        r = h({"t": "resync"})
                        if r is not None:
                            await r

    # -- in-flight leases ------------------------------------------------------------------------------

    def _inflight_key(self, account_id: str) -> str:
        return f"{self.ns}inflight:{account_id}"

    def _cool_key(self, account_id: str) -> str:
        return f"{self.ns}cool:{account_id}"

    async def acquire(
        self, candidates: list[tuple[str, int]], ttl: float, least: bool = False
    ) -> tuple[int, str] | None:
        """Take a lease on the first candidate (``least``: the least loaded) that is not cooling down and
        has room; returns (index into candidates, lease token)."""
        if not candidates:
            return None
        now = int(time.time() * 1000)
        token = f"{self.instance}:{secrets.token_hex(6)}"
        keys: list[str] = []
        for acc_id, _ in candidates:
            keys += [self._inflight_key(acc_id), self._cool_key(acc_id)]
        args: list[Any] = [now, now + int(ttl * 1000), token, "least" if least else "first"]
        args += [m for _, m in candidates]
        idx = int(await self._acquire(keys=keys, args=args))
        if idx <= 0:
            return None
        return idx - 1, token

    async def release(self, account_id: str, token: str, provider: str) -> None:
        note = orjson.dumps({"t": "rel", "p": provider, "src": self.instance}).decode()
        await self._release(keys=[self._inflight_key(account_id), self.channel], args=[token, note])

    async def renew(self, leases: list[tuple[str, str]], ttl: float) -> None:
        if not leases:
            return
        exp = int((time.time() + ttl) * 1000)
        await self._renew(
            keys=[self._inflight_key(a) for a, _ in leases], args=[exp] + [t for _, t in leases]
        )

    async def inflight(self, account_ids: list[str]) -> dict[str, int]:
        now = int(time.time() * 1000)
        async with self.redis.pipeline(transaction=False) as p:
            for a in account_ids:
                p.zcount(self._inflight_key(a), now, "+inf")
            counts = await p.execute()
        return {a: int(c) for a, c in zip(account_ids, counts, strict=True)}

    # -- cooldowns --------------------------------------------------------------------------------------

    async def set_cooldown(self, account_id: str, until: float) -> None:
        ms = int((until - time.time()) * 1000)
        if ms > 0:
            await self.redis.set(self._cool_key(account_id), repr(until), px=ms)

    async def clear_cooldown(self, account_id: str) -> None:
        await self.redis.delete(self._cool_key(account_id))

    async def cooldowns(self, account_ids: list[str]) -> dict[str, float]:
        if not account_ids:
            return {}
        vals = await self.redis.mget([self._cool_key(a) for a in account_ids])
        return {a: float(v) for a, v in zip(account_ids, vals, strict=True) if v is not None}

    # -- client-key limits ------------------------------------------------------------------------------

    def _key_keys(self, key_id: str) -> list[str]:
        return [f"{self.ns}rpm:{key_id}", f"{self.ns}tpm:{key_id}", f"{self.ns}used:{key_id}"]

    async def check_rate(
        self, key_id: str, rpm: int | None, tpm: int | None, budget: int | None
    ) -> tuple[int, float]:
        """Admit one request of ``key_id`` (counting it toward rpm) or say which limit stops it:
        (RATE_*, seconds until it may pass)."""
        now = int(time.time() * 1000)
        member = f"{now}:{secrets.token_hex(4)}"
        args: list[str | int] = [
            now,
            -1 if rpm is None else rpm,
            -1 if tpm is None else tpm,
            -1 if budget is None else budget,
            member,
        ]
        code, wait_ms = await self._rate(keys=self._key_keys(key_id), args=args)
        return int(code), max(0.0, float(wait_ms) / 1000)

    async def add_tokens(self, key_id: str, tokens: int, seed_used: int = 0) -> None:
        _, tpm_k, used_k = self._key_keys(key_id)
        sec = int(time.time())
        async with self.redis.pipeline(transaction=False) as p:
            p.hincrby(tpm_k, str(sec), tokens)
            p.expire(tpm_k, 62)
            p.set(used_k, seed_used, nx=True)
            p.incrby(used_k, tokens)
            p.expire(used_k, _USED_TTL)
            await p.execute()

    async def seed_used(self, totals: dict[str, int]) -> None:
        """Start each key's shared token total from the store's (only where Redis has none yet)."""
        if not totals:
            return
        async with self.redis.pipeline(transaction=False) as p:
            for key_id, used in totals.items():
                p.set(self._key_keys(key_id)[2], used, nx=True, ex=_USED_TTL)
            await p.execute()

    async def used(self, key_id: str) -> int | None:
        v = await self.redis.get(self._key_keys(key_id)[2])
        return int(v) if v is not None else None

    async def reset_used(self, key_id: str, used: int) -> None:
        await self.redis.set(self._key_keys(key_id)[2], used)

    # -- admin login failures ---------------------------------------------------------------------------

    async def count_failure(self, who: str, window: float) -> int:
        k = f"{self.ns}loginfail:{who}"
        async with self.redis.pipeline(transaction=True) as p:
            p.incr(k)
            p.expire(k, int(window), nx=True)
            n, _ = await p.execute()
        return int(n)

    async def failures(self, who: str) -> tuple[int, float]:
        k = f"{self.ns}loginfail:{who}"
        async with self.redis.pipeline(transaction=False) as p:
            p.get(k)
            p.pttl(k)
            n, ttl = await p.execute()
        return int(n or 0), max(0.0, int(ttl) / 1000) if n else 0.0

    async def clear_failures(self, who: str) -> None:
        await self.redis.delete(f"{self.ns}loginfail:{who}")

    # -- once-only work (re-tests) ---------------------------------------------------------------------

    async def claim(self, name: str, ttl: float) -> bool:
        """True for exactly one instance within ``ttl`` seconds."""
        return bool(
            await self.redis.set(f"{self.ns}claim:{name}", self.instance, nx=True, px=int(ttl * 1000))
        )
