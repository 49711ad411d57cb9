import asyncio
import time

import pytest
from sqlalchemy import text

from any2api.auth import Client
from any2api.core.response import Usage
from any2api.gateway import UsageRecord
from any2api.store.store import Store
from any2api.store.usage import UsageRow
from any2api.usage import UsageWriter

pytestmark = pytest.mark.anyio


def rec(
    key: str, model: str, provider: str, inp: int, out: int, status: int = 200, **kw: object
) -> UsageRecord:
    u = Usage(inp, out, reasoning_tokens=kw.get("reasoning"), cache_read_tokens=kw.get("cached"))  # type: ignore[arg-type]
    return UsageRecord(Client(key_id=key), model, provider, f"{provider}#0", u, 12.5, status,
                       "upstream" if status >= 400 else None)  # fmt: skip


async def test_totals_grouped_and_ranged(store: Store) -> None:
    now = time.time()
    rows = [
        UsageRow(now - 100, "k1", "gpt", "p1", "a1", 10, 5, 2, 1, 100.0, 200),
        UsageRow(now - 50, "k1", "claude", "p2", "a2", 20, 10, 0, 0, 300.0, 200),
        UsageRow(now - 10, "k2", "gpt", "p1", "a1", 1, 1, 0, 0, 50.0, 502, "upstream"),
        UsageRow(now - 5000, "k2", "gpt", "p1", "a1", 1000, 1000, 0, 0, 1.0, 200),
    ]
    await store.usage.insert_many(rows)
    (tot,) = await store.usage.totals(since=now - 1000)
    assert tot["requests"] == 3
    assert tot["errors"] == 1
    assert (tot["input_tokens"], tot["output_tokens"], tot["reasoning_tokens"], tot["cached_tokens"]) == (
        31,
        16,
        2,
        1,
    )
    assert tot["total_tokens"] == 47
    assert tot["avg_latency_ms"] == pytest.approx(150.0)
    by_key = {r["group"]: r for r in await store.usage.totals(since=now - 1000, group_by="key")}
    assert by_key["k1"]["requests"] == 2
    assert by_key["k1"]["total_tokens"] == 45
    assert by_key["k2"]["requests"] == 1
    by_model = await store.usage.totals(group_by="model")
    assert [r["group"] for r in by_model] == ["gpt", "claude"]  # all time: gpt has the most tokens
    by_provider = {
        r["group"]: r["requests"] for r in await store.usage.totals(until=now - 20, group_by="provider")
    }
    assert by_provider == {"p1": 2, "p2": 1}
    assert await store.usage.totals(since=now + 10) == [
        {"requests": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0,
         "cached_tokens": 0, "avg_latency_ms": 0.0, "total_tokens": 0}
    ]  # fmt: skip


async def test_writer_buffers_then_writes_with_key_totals(store: Store) -> None:
    key, _ = await store.keys.create("w")
    w = UsageWriter(store, interval=3600)
    await w.start()
    for i in range(7):
        w(rec(key.id, "gpt", "p1", 10 + i, 1, reasoning=3, cached=2))
    assert w.pending == 7
    assert await store.usage.count() == 0  # nothing written on the request path
    assert await w.flush() == 7
    assert await store.usage.count() == 7
    got = await store.keys.get(key.id)
    assert got is not None
    assert got.tokens_used == sum(10 + i + 1 for i in range(7))
    (tot,) = await store.usage.totals()
    assert tot["reasoning_tokens"] == 21
    assert tot["cached_tokens"] == 14
    await w.close()


async def test_writer_flushes_by_batch_size_in_background(store: Store) -> None:
    w = UsageWriter(store, interval=3600, batch_size=5)
    await w.start()
    for _ in range(5):
        w(rec("k", "m", "p", 1, 1))
    for _ in range(200):
        if await store.usage.count() == 5:
            break
        await asyncio.sleep(0.02)
    assert await store.usage.count() == 5
    await w.close()


async def test_close_writes_everything_left(store: Store) -> None:
    w = UsageWriter(store, interval=3600)
    await w.start()
    for _ in range(1234):
        w(rec("k", "m", "p", 1, 2))
    await w.close()
    assert await store.usage.count() == 1234


async def test_records_survive_a_store_failure(store: Store) -> None:
    w = UsageWriter(store, interval=3600)
    for _ in range(3):
        w(rec("k", "m", "p", 1, 1))
    async with store.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE usage_records RENAME TO usage_records_away"))
    with pytest.raises(Exception, match="usage_records"):
        await w.flush()
    assert w.pending == 3
    async with store.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE usage_records_away RENAME TO usage_records"))
    assert await w.flush() == 3
    assert await store.usage.count() == 3


async def test_full_buffer_drops_oldest_and_counts(store: Store) -> None:
    w = UsageWriter(store, interval=3600, max_buffer=3)
    for i in range(5):
        w(rec(f"k{i}", "m", "p", 1, 1))
    assert w.pending == 3
    assert w.dropped == 2
    await w.flush()
    by_key = {r["group"] for r in await store.usage.totals(group_by="key")}
    assert by_key == {"k2", "k3", "k4"}
