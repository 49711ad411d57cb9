"""What the account pool needs from outside, as protocols: where accounts are kept (the store), the state
several instances share (Redis), and a way to test an account. The implementations live on the store side
(:mod:`any2api.store.pool_backend`) and in the admin package (the probe); ``routing`` never imports them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.errors import GatewayError
from ..providers.base import Account

DEFAULT_MAX_INFLIGHT = 2


@dataclass(slots=True)
class AccountRecord:
    """One upstream account as the pool keeps it: what is configured, and the health it has learned."""

    id: str
    provider: str
    api_key: str | None
    label: str = ""
    weight: int = 1
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    """0: unlimited."""
    proxy: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_by: str | None = None
    """``admin`` (only an admin re-enables) or ``health`` (the periodic re-test may)."""
    cooldown_until: float | None = None
    """Epoch seconds."""
    failures: int = 0
    """Consecutive upstream failures."""
    last_error: str | None = None
    last_used: float | None = None
    created_at: float = 0.0


class AccountStore(Protocol):
    """Where accounts live. Reads happen at start, on reloads and on admin changes, never per request;
    ``save_health`` is called off the request path (a background flush)."""

    async def all(self) -> list[AccountRecord]:
        """Every account, oldest first (``created_at``, then ``id``)."""
        ...

    async def get(self, account_id: str) -> AccountRecord | None: ...

    async def save_health(self, record: AccountRecord) -> None:
        """Persist the health fields (enabled, disabled_*, cooldown_until, failures, last_error, last_used)."""
        ...


class SharedUnavailable(Exception):
    """The shared state did not answer; the pool falls back to what this instance knows."""


EventHandler = Callable[[dict[str, Any]], Awaitable[None] | None]


class SharedState(Protocol):
    """State shared by every instance serving one store: expiring in-flight leases, cooldowns, an event
    channel, and once-only claims. Every method but ``on_event``/``publish`` may raise
    :class:`SharedUnavailable`; ``publish`` never raises (a lost event is caught up by the next reload)."""

    def on_event(self, handler: EventHandler) -> None:
        """Call ``handler`` with each event another instance publishes (and ``{"t": "resync"}`` after a
        gap in the channel)."""
        ...

    async def publish(self, event: dict[str, Any]) -> None: ...

    async def acquire(
        self, candidates: list[tuple[str, int]], ttl: float, least: bool = False
    ) -> tuple[int, str] | None:
        """Lease the first of ``candidates`` ((account id, max in flight; 0: unlimited)) that is not
        cooling down and has room (``least``: the least loaded): (its index, the lease token), or ``None``."""
        ...

    async def release(self, account_id: str, token: str, provider: str) -> None:
        """Free a lease and wake the provider's waiters on every instance."""
        ...

    async def renew(self, leases: list[tuple[str, str]], ttl: float) -> None:
        """Extend held leases ((account id, token)) by ``ttl`` seconds."""
        ...

    async def inflight(self, account_ids: list[str]) -> dict[str, int]: ...

    async def set_cooldown(self, account_id: str, until: float) -> None: ...

    async def clear_cooldown(self, account_id: str) -> None: ...

    async def cooldowns(self, account_ids: list[str]) -> dict[str, float]: ...

    async def claim(self, name: str, ttl: float) -> bool:
        """True for exactly one instance within ``ttl`` seconds."""
        ...


@dataclass(slots=True)
class ProbeResult:
    ok: bool
    error: GatewayError | None = None
    details: dict[str, Any] = field(default_factory=dict)


Probe = Callable[[Account], Awaitable[ProbeResult]]
"""Send an account one tiny real request."""
