"""Usage records: written in batches, summed by key / model / provider over a time range."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import case, func, insert, select, update

from .db import Database
from .schema import client_keys, usage_records

GroupBy = Literal["key", "model", "provider", "account"]
_GROUP_COLUMNS = {
    "key": usage_records.c.key_id,
    "model": usage_records.c.public_model,
    "provider": usage_records.c.provider,
    "account": usage_records.c.account_id,
}


@dataclass(slots=True)
class UsageRow:
    ts: float
    key_id: str
    public_model: str
    provider: str
    account_id: str
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    latency_ms: float = 0.0
    status: int = 200
    error_kind: str | None = None


_ROW_FIELDS = tuple(f.name for f in fields(UsageRow))


class UsageRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_many(self, rows: list[UsageRow], spent: dict[str, int] | None = None) -> None:
        """Insert ``rows`` and add ``spent`` (tokens by key id) to the keys' totals, in one transaction."""
        if not rows and not spent:
            return
        async with self.db.begin() as conn:
            if rows:
                await conn.execute(
                    insert(usage_records), [{k: getattr(r, k) for k in _ROW_FIELDS} for r in rows]
                )
            for key_id, n in (spent or {}).items():
                await conn.execute(
                    update(client_keys)
                    .where(client_keys.c.id == key_id)
                    .values(tokens_used=client_keys.c.tokens_used + n)
                )

    async def totals(
        self, since: float | None = None, until: float | None = None, group_by: GroupBy | None = None
    ) -> list[dict[str, Any]]:
        """Sums over ``[since, until)``: one row, or one per group (largest token total first)."""
        c = usage_records.c
        cols: list[Any] = [
            func.count().label("requests"),
            func.coalesce(func.sum(case((c.status >= 400, 1), else_=0)), 0).label("errors"),
            func.coalesce(func.sum(c.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(c.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(c.reasoning_tokens), 0).label("reasoning_tokens"),
            func.coalesce(func.sum(c.cached_tokens), 0).label("cached_tokens"),
            func.coalesce(func.avg(c.latency_ms), 0).label("avg_latency_ms"),
        ]
        group_col = _GROUP_COLUMNS[group_by] if group_by else None
        if group_col is not None:
            cols.insert(0, group_col.label("group"))
        q = select(*cols)
        if since is not None:
            q = q.where(c.ts >= since)
        if until is not None:
            q = q.where(c.ts < until)
        if group_col is not None:
            q = q.group_by(group_col).order_by(
                (func.sum(c.input_tokens) + func.sum(c.output_tokens)).desc(), group_col
            )
        async with self.db.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        out = []
        for r in rows:
            d = {k: (int(v) if k not in ("group", "avg_latency_ms") else v) for k, v in r.items()}
            d["avg_latency_ms"] = round(float(r["avg_latency_ms"] or 0), 2)
            d["total_tokens"] = d["input_tokens"] + d["output_tokens"]
            out.append(d)
        return out

    async def count(self) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(usage_records))).scalar_one())
