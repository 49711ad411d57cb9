"""Admin authentication: the admin key buys a 24-hour JWT; failed attempts are rate-limited per client."""

from __future__ import annotations

import hmac
import math
import time

import jwt
from redis.exceptions import RedisError

from ..auth import hash_key
from ..store.shared import Shared

TOKEN_TTL = 24 * 3600
ISSUER = "any2api"
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60.0


class AdminTokens:
    def __init__(self, signing_key: bytes | None, admin_key: str | None) -> None:
        self._key = signing_key
        self._admin_hash = hash_key(admin_key) if admin_key else None

    @property
    def enabled(self) -> bool:
        return self._key is not None and self._admin_hash is not None

    def check_admin_key(self, candidate: str) -> bool:
        return self._admin_hash is not None and hmac.compare_digest(hash_key(candidate), self._admin_hash)

    def issue(self) -> str:
        assert self._key is not None
        now = int(time.time())
        return jwt.encode(
            {"sub": "admin", "iss": ISSUER, "iat": now, "exp": now + TOKEN_TTL}, self._key, "HS256"
        )

    def verify(self, token: str) -> bool:
        if self._key is None:
            return False
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp"]}
            )
        except jwt.PyJWTError:
            return False
        return claims.get("sub") == "admin"


class LoginLimiter:
    """At most ``MAX_FAILURES`` failed admin logins per client per window (shared through Redis when set)."""

    def __init__(self, shared: Shared | None = None) -> None:
        self.shared = shared
        self._local: dict[str, tuple[int, float]] = {}

    async def blocked_for(self, who: str) -> int:
        """Seconds this client must wait before trying again (0: may try)."""
        if self.shared is not None:
            try:
                n, ttl = await self.shared.failures(who)
            except (RedisError, OSError):
                pass
            else:
                return max(1, math.ceil(ttl)) if n >= MAX_FAILURES else 0
        n, start = self._local.get(who, (0, 0.0))
        left = start + FAILURE_WINDOW - time.time()
        if left <= 0:
            self._local.pop(who, None)
            return 0
        return max(1, math.ceil(left)) if n >= MAX_FAILURES else 0

    async def failed(self, who: str) -> None:
        if self.shared is not None:
            try:
                await self.shared.count_failure(who, FAILURE_WINDOW)
                return
            except (RedisError, OSError):
                pass
        now = time.time()
        n, start = self._local.get(who, (0, now))
        if start + FAILURE_WINDOW <= now:
            n, start = 0, now
        if len(self._local) > 10_000:
            self._local.clear()
        self._local[who] = (n + 1, start)

    async def succeeded(self, who: str) -> None:
        self._local.pop(who, None)
        if self.shared is not None:
            try:
                await self.shared.clear_failures(who)
            except (RedisError, OSError):
                pass
