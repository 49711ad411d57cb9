"""Admin sign-in: the admin key buys a 24-hour JWT; a request is admitted with that JWT, the admin key
itself, or an active admin client key. Failed attempts are rate-limited per client."""

from __future__ import annotations

from ...auth import hash_key
from ..errors import AdminError
from ..models import LoginIn, parse
from ..security import TOKEN_TTL, AdminTokens, LoginLimiter
from .ports import KeyCache


def _too_many(wait: int) -> AdminError:
    return AdminError(429, "Too many failed admin logins; try again later", "too_many_attempts",
                      headers={"Retry-After": str(wait)})  # fmt: skip


class SessionService:
    def __init__(self, tokens: AdminTokens, limiter: LoginLimiter, keys: KeyCache) -> None:
        self.tokens = tokens
        self.limiter = limiter
        self.keys = keys

    async def login(self, data: object, client: str) -> tuple[str, int]:
        """``{"key": admin key}`` -> (JWT, seconds it is valid)."""
        wait = await self.limiter.blocked_for(client)
        if wait:
            raise _too_many(wait)
        key = parse(LoginIn, data).secret
        if not self.tokens.enabled:
            raise AdminError(403, "Admin login is disabled: set admin.key in the config", "admin_disabled")
        if not self.tokens.check_admin_key(key):
            await self.limiter.failed(client)
            raise AdminError(401, "Invalid admin key", "invalid_admin_key")
        await self.limiter.succeeded(client)
        return self.tokens.issue(), TOKEN_TTL

    async def authorize(self, authorization: str, client: str) -> None:
        """Admit an ``Authorization`` header's bearer: a JWT from :meth:`login`, the admin key, or an active
        admin client key; raises 401 (429 after too many failures)."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AdminError(
                401, "Missing admin credentials: send 'Authorization: Bearer <token from POST /admin/login>'",
                "missing_token", headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if token.count(".") == 2 and self.tokens.verify(token):
            return
        if self.tokens.check_admin_key(token):
            return
        entry = self.keys.by_digest(hash_key(token))
        if entry is not None and entry.row.is_admin and entry.row.active:
            return
        wait = await self.limiter.blocked_for(client)
        if wait:
            raise _too_many(wait)
        if token.count(".") != 2:
            await self.limiter.failed(client)
        raise AdminError(
            401, "Invalid or expired admin token", "invalid_token", headers={"WWW-Authenticate": "Bearer"}
        )
