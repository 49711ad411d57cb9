"""What the gateway is built from, as small protocols: the account pool, the authenticator and the usage
sinks. The composition root (:mod:`any2api.compose`) picks the implementations and hands them to the
:class:`~any2api.gateway.Gateway` constructor; nothing swaps them afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass
from typing import Protocol

from .auth import Client
from .core.errors import GatewayError
from .core.response import Usage
from .providers.base import Account


class Lease(Protocol):
    """One account held for one attempt; released exactly once, with how the attempt went."""

    @property
    def account(self) -> Account: ...

    def release(self, error: GatewayError | None) -> None:
        """Give the account back and tell the pool the outcome (``None``: it worked)."""
        ...

    def abandon(self) -> None:
        """Give the account back without an outcome (the attempt was cut short: nothing was learned)."""
        ...


class AccountPool(Protocol):
    async def acquire(self, provider: str, exclude: Set[str], pin: str | None) -> Lease:
        """An account of ``provider`` not in ``exclude`` (waiting for one if all are busy), or a
        ``GatewayError``. ``pin`` forces that account (health and exclusions do not apply to it)."""
        ...


class Authenticator(Protocol):
    async def authenticate(self, token: str | None) -> Client: ...


@dataclass(slots=True)
class UsageRecord:
    client: Client
    public_model: str
    provider: str
    account: str
    usage: Usage | None
    latency_ms: float
    status: int
    error_kind: str | None = None


UsageSink = Callable[[UsageRecord], None]
"""Called once per finished request, on the request path: must not block (buffer, then write later)."""

ReadyCheck = Callable[[], Awaitable[object]]
"""``/readyz``: raises when a dependency (store, Redis) does not answer."""
