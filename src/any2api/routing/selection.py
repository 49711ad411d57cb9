"""An account's live state in the pool, and the strategies that choose among a provider's accounts.

A candidate is enabled, not excluded for this request, not cooling down and below its in-flight limit.
``round_robin`` takes the next candidate after the last one taken; ``least_inflight`` the one with the
fewest requests in flight (ties in round-robin order); ``weighted`` runs smooth weighted round-robin
(nginx's), so an account of weight 3 serves 3 of every 4 requests, interleaved."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass

from ..providers.base import Account
from .pool_ports import AccountRecord


@dataclass(slots=True, eq=False)
class AccountState:
    row: AccountRecord
    """The account's record: configuration and learned health."""
    account: Account
    """What a provider is given (rebuilt when the record changes)."""
    served: bool
    """Its provider is configured (accounts of removed providers stay in the store, unused)."""
    index: int = 0
    """Position among its provider's accounts."""
    inflight: int = 0
    current_weight: int = 0
    dirty: bool = False
    """Health changed since the last write to the store."""

    @property
    def id(self) -> str:
        return self.row.id

    def cooling(self, now: float) -> bool:
        until = self.row.cooldown_until
        return until is not None and until > now

    def has_room(self) -> bool:
        m = self.row.max_inflight
        return m <= 0 or self.inflight < m

    def candidate(self, exclude: Set[str], now: float) -> bool:
        r = self.row
        if not r.enabled or (exclude and r.id in exclude):
            return False
        m = r.max_inflight
        if m > 0 and self.inflight >= m:
            return False
        until = r.cooldown_until
        return until is None or until <= now


def pinned(states: Sequence[AccountState], pin: str) -> AccountState | None:
    """The pinned account if it has room (health and exclusions do not apply)."""
    for s in states:
        if s.row.id == pin:
            return s if s.has_room() else None
    return None


def pick(
    states: Sequence[AccountState], cursor: int, strategy: str, exclude: Set[str], now: float
) -> AccountState | None:
    """The strategy's first choice, or ``None`` when no account is a candidate."""
    n = len(states)
    if n == 0:
        return None
    start = cursor % n
    if strategy == "round_robin":
        for k in range(n):
            s = states[(start + k) % n]
            if s.candidate(exclude, now):
                return s
        return None
    if strategy == "least_inflight":
        return _least_inflight(states, start, exclude, now)
    return _weighted_pick(states, start, exclude, now)


def _least_inflight(
    states: Sequence[AccountState], start: int, exclude: Set[str], now: float
) -> AccountState | None:
    n = len(states)
    best: AccountState | None = None
    for k in range(n):
        s = states[(start + k) % n]
        if s.candidate(exclude, now) and (best is None or s.inflight < best.inflight):
            best = s
    return best


def _weighted_pick(
    states: Sequence[AccountState], start: int, exclude: Set[str], now: float
) -> AccountState | None:
    """:func:`_weighted_step` over the candidates among ``states``, without building their list."""
    n = len(states)
    total = 0
    best: AccountState | None = None
    for k in range(n):
        s = states[(start + k) % n]
        if s.candidate(exclude, now):
            w = s.row.weight if s.row.weight > 1 else 1
            s.current_weight += w
            total += w
            if best is None or s.current_weight > best.current_weight:
                best = s
    if best is not None:
        best.current_weight -= total
    return best


def ranked(
    states: Sequence[AccountState], cursor: int, strategy: str, exclude: Set[str], now: float
) -> list[AccountState]:
    """Every candidate, the strategy's first choice first (for shared leasing, where the first choice may
    turn out to be full on another instance)."""
    n = len(states)
    if n == 0:
        return []
    start = cursor % n
    out = [s for k in range(n) if (s := states[(start + k) % n]).candidate(exclude, now)]
    if len(out) <= 1:
        return out
    if strategy == "least_inflight":
        out.sort(key=_inflight)  # stable: ties keep round-robin order
    elif strategy == "weighted":
        best = _weighted_step(out)
        out.remove(best)
        out.sort(key=_minus_weight)
        out.insert(0, best)
    return out


def _inflight(s: AccountState) -> int:
    return s.inflight


def _minus_weight(s: AccountState) -> int:
    return -s.current_weight


def _weighted_step(cands: list[AccountState]) -> AccountState:
    """One step of smooth weighted round-robin over ``cands`` (not empty): the chosen one's current weight
    drops by the total."""
    if len(cands) == 1:
        return cands[0]
    total = 0
    best = cands[0]
    for s in cands:
        w = max(1, s.row.weight)
        s.current_weight += w
        total += w
        if s.current_weight > best.current_weight:
            best = s
    best.current_weight -= total
    return best
