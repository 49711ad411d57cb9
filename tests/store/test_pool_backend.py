"""The account pool's backends on the store side: accounts read from and health written to the database,
and Redis failures turned into SharedUnavailable."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from any2api.routing.pool_ports import SharedUnavailable
from any2api.store.pool_backend import SharedPoolState, StoreAccounts
from any2api.store.shared import Shared
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


async def test_accounts_load_as_records_and_health_is_written_back(store: Store) -> None:
    a = await store.accounts.add(
        store.accounts.new("p", "sk-a", label="A", weight=3, max_inflight=5, proxy="http://px:1")
    )
    b = await store.accounts.add(store.accounts.new("p", None, max_inflight=0))
    backend = StoreAccounts(store.accounts)
    recs = await backend.all()
    assert [r.id for r in recs] == [a.id, b.id]
    ra = recs[0]
    assert (ra.provider, ra.api_key, ra.label, ra.weight, ra.max_inflight, ra.proxy, ra.enabled) == (
        "p", "sk-a", "A", 3, 5, "http://px:1", True,
    )  # fmt: skip
    assert ra.created_at == a.created_at
    assert recs[1].api_key is None

    ra.enabled, ra.disabled_by, ra.disabled_reason = False, "health", "HTTP 401"
    ra.cooldown_until, ra.failures, ra.last_error, ra.last_used = 123.0, 4, "boom", 99.0
    ra.label, ra.weight = "changed here only", 9  # not health: never written by the pool
    await backend.save_health(ra)
    row = await store.accounts.get(a.id)
    assert row is not None
    assert (row.enabled, row.disabled_by, row.disabled_reason, row.cooldown_until, row.failures,
            row.last_error, row.last_used) == (False, "health", "HTTP 401", 123.0, 4, "boom", 99.0)  # fmt: skip
    assert (row.label, row.weight, row.api_key, row.proxy) == ("A", 3, "sk-a", "http://px:1")
    got = await backend.get(a.id)
    assert got is not None
    assert got.failures == 4
    assert await backend.get("acc_nope") is None


class DownShared:
    """Every Redis call fails the way redis-py fails when the server is gone."""

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kw: Any) -> Any:
            raise RedisConnectionError("Connection refused")

        return fail


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("acquire", ([("a", 1)], 30.0)),
        ("release", ("a", "t", "p")),
        ("renew", ([("a", "t")], 30.0)),
        ("inflight", (["a"],)),
        ("set_cooldown", ("a", 1e12)),
        ("clear_cooldown", ("a",)),
        ("cooldowns", (["a"],)),
        ("claim", ("retest:a", 5.0)),
    ],
)
async def test_redis_failures_become_shared_unavailable(method: str, args: tuple[Any, ...]) -> None:
    state = SharedPoolState(DownShared())  # type: ignore[arg-type]
    with pytest.raises(SharedUnavailable, match="Connection refused"):
        await getattr(state, method)(*args)


async def test_shared_state_over_redis(redis_url_or_skip: str, namespace: str) -> None:
    shared = Shared(redis_url_or_skip, namespace)
    await shared.start()
    try:
        state = SharedPoolState(shared)
        got = await state.acquire([("a", 1), ("b", 1)], 30.0)
        assert got is not None
        assert got[0] == 0
        assert await state.acquire([("a", 1)], 30.0) is None
        assert (await state.inflight(["a", "b"])) == {"a": 1, "b": 0}
        await state.release("a", got[1], "p")
        await state.set_cooldown("b", 1e12)
        assert "b" in await state.cooldowns(["a", "b"])
        await state.clear_cooldown("b")
        assert await state.cooldowns(["b"]) == {}
        assert await state.claim("x", 5.0)
        assert not await state.claim("x", 5.0)
    finally:
        keys = [k async for k in shared.redis.scan_iter(match=f"{shared.ns}*")]
        if keys:
            await shared.redis.delete(*keys)
        await shared.close()
