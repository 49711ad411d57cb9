"""The account pool's settings: defaults, the config file's ``pool:`` section and stored overrides."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

STRATEGIES = ("round_robin", "least_inflight", "weighted")


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
    """With shared state: a lease not renewed for this long (its instance died) frees its slot."""
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
            out[k] = _checked(path, k, types[k], v)
        return PoolSettings(**out)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _checked(path: str, key: str, typ: object, v: object) -> object:
    if key == "strategy":
        if v not in STRATEGIES:
            raise ValueError(f"{path}.strategy: must be one of {', '.join(STRATEGIES)}")
        return v
    if typ == "int":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{path}.{key}: must be a non-negative integer")
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ValueError(f"{path}.{key}: must be a non-negative number")
    return float(v)
