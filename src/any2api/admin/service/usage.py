"""Usage totals over a time range: overall, by client key, by model, by provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ...store.store import Store
from ..models import UsageQuery, parse


@dataclass(slots=True)
class UsageReport:
    since: float | None
    until: float | None
    totals: dict[str, Any]
    by_key: list[dict[str, Any]]
    """Each group also has the key's ``name``."""
    by_model: list[dict[str, Any]]
    by_provider: list[dict[str, Any]]


class UsageService:
    def __init__(self, store: Store, flush: Callable[[], Awaitable[object]] | None = None) -> None:
        self.store = store
        self.flush = flush
        """Writes the usage records still buffered (so a report includes the last requests)."""

    async def report(self, query: object) -> UsageReport:
        """``{"since": ..., "until": ...}``: UNIX seconds or ISO-8601 (numbers may come as strings)."""
        q = parse(UsageQuery, query)
        if self.flush is not None:
            await self.flush()
        usage = self.store.usage
        totals = await usage.totals(q.since, q.until)
        names = {k.id: k.name for k in await self.store.keys.all()} | {"admin": "admin"}
        by_key = await usage.totals(q.since, q.until, "key")
        for row in by_key:
            row["name"] = names.get(row["group"], "")
        return UsageReport(
            q.since, q.until, totals[0] if totals else {}, by_key,
            await usage.totals(q.since, q.until, "model"), await usage.totals(q.since, q.until, "provider"),
        )  # fmt: skip
