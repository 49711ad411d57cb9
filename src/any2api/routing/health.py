"""What an outcome means for an account's health: pure rules over an :class:`AccountRecord`.

- success: clears the failure count;
- 401/403 (rejected credentials): disables the account, reason kept, ``disabled_by="health"``;
- 429 / quota: cools it down until the upstream's Retry-After (or a default);
- 5xx, overload, timeout: counts a failure; past ``failure_threshold`` consecutive ones the account cools
  down with exponential backoff (``cooldown_base * 2**n``, capped at ``cooldown_max``);
- anything else (bad request, unknown model, ...) is the request's fault, not the account's.
"""

from __future__ import annotations

from enum import Enum

from ..core.errors import GatewayError
from .pool_ports import AccountRecord, ProbeResult
from .pool_settings import PoolSettings


class Change(Enum):
    NONE = 0
    """Nothing learned."""
    NOTED = 1
    """Last use or failure count changed: save it, nobody else needs to know at once."""
    DISABLED = 2
    COOLED = 3
    RESTORED = 4
    """Re-enabled or cooldown cleared (after a successful test)."""


def rejects_credentials(error: GatewayError) -> bool:
    return error.upstream_status in (401, 403) or error.code == "upstream_auth_failed"


def disable(rec: AccountRecord, reason: str, by: str = "health") -> Change:
    rec.enabled = False
    rec.disabled_reason = reason
    rec.disabled_by = by
    rec.last_error = reason
    return Change.DISABLED


def cool(rec: AccountRecord, until: float, reason: str) -> Change:
    rec.cooldown_until = max(until, rec.cooldown_until or 0.0)
    rec.last_error = reason
    return Change.COOLED


def _credentials_reason(error: GatewayError) -> str:
    return f"Upstream rejected the credentials (HTTP {error.upstream_status}): {error.message}"


def judge(rec: AccountRecord, error: GatewayError | None, settings: PoolSettings, now: float) -> Change:
    """Apply the outcome of one real request to ``rec``; says what changed."""
    if error is None:
        rec.last_used = now
        if rec.failures:
            rec.failures = 0
            rec.last_error = None
        return Change.NOTED
    if rejects_credentials(error):
        return disable(rec, _credentials_reason(error))
    if error.kind in ("rate_limit", "quota_exceeded") or error.upstream_status == 429:
        if error.retry_after:
            wait = float(error.retry_after)
        elif error.kind == "quota_exceeded":
            wait = settings.cooldown_max
        else:
            wait = settings.rate_limit_cooldown
        return cool(rec, now + wait, error.message)
    if error.kind in ("upstream", "overloaded", "timeout"):
        rec.failures += 1
        rec.last_error = error.message
        rec.last_used = now
        if rec.failures < settings.failure_threshold:
            return Change.NOTED
        backoff = min(
            settings.cooldown_max,
            settings.cooldown_base * 2 ** (rec.failures - settings.failure_threshold),
        )
        return cool(rec, now + max(backoff, error.retry_after or 0), error.message)
    return Change.NONE


def judge_probe(rec: AccountRecord, result: ProbeResult) -> Change:
    """Learn from an explicit test: success re-enables an account the pool disabled and clears its
    cooldown; rejected credentials disable it (unless an admin already did)."""
    if result.ok:
        rec.failures = 0
        rec.last_error = None
        rec.cooldown_until = None
        if not rec.enabled and rec.disabled_by == "health":
            rec.enabled = True
            rec.disabled_reason = None
            rec.disabled_by = None
        return Change.RESTORED
    e = result.error
    if e is None:
        return Change.NONE
    if rejects_credentials(e):
        if rec.enabled or rec.disabled_by == "health":
            return disable(rec, _credentials_reason(e))
        return Change.NONE
    rec.last_error = e.message
    return Change.NOTED
