"""The account pool over the store, on SQLite and Postgres, alone and as two instances sharing Redis."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from any2api.config import ProviderConfig
from any2api.core.errors import GatewayError
from any2api.providers.base import Account
from any2api.routing.pool import Pool
from any2api.routing.pool_ports import ProbeResult
from any2api.routing.pool_settings import PoolSettings
from any2api.store.pool_backend import SharedPoolState, StoreAccounts
from any2api.store.shared import Shared
from any2api.store.store import Store

pytestmark = pytest.mark.anyio

PROVIDERS = [ProviderConfig(name="p", type="openai", base_url="http://127.0.0.1:9"),
             ProviderConfig(name="q", type="openai", base_url="http://127.0.0.1:9")]  # fmt: skip

PoolMaker = Callable[..., Awaitable[Pool]]


@pytest.fixture
async def make_pool(store: Store) -> AsyncIterator[PoolMaker]:
    pools: list[Pool] = []

    async def make(shared: Shared | None = None, probe: Any = None, **settings: Any) -> Pool:
        pool = Pool(
            StoreAccounts(store.accounts),
            PROVIDERS,
            PoolSettings().merged(settings),
            SharedPoolState(shared) if shared is not None else None,
            probe,
        )
        await pool.start()
        pools.append(pool)
        return pool

    yield make
    for p in pools:
        await p.close()


async def add_accounts(store: Store, n: int, provider: str = "p", **kw: Any) -> list[str]:
    ids = []
    for i in range(n):
        row = store.accounts.new(provider, f"sk-{provider}-{i}", label=f"{provider}{i}", **kw)
        await store.accounts.add(row)
        ids.append(row.id)
    return ids


async def hold(
    pool: Pool, provider: str = "p", exclude: frozenset[str] = frozenset(), pin: str | None = None
) -> tuple[Any, Account]:
    cm = pool.lease(provider, exclude, pin)
    acc = await cm.__aenter__()
    return cm, acc


async def test_round_robin_spreads_and_releases(store: Store, make_pool: PoolMaker) -> None:
    ids = await add_accounts(store, 3)
    pool = await make_pool()
    seen = []
    for _ in range(6):
        async with pool.lease("p") as acc:
            seen.append(acc.id)
            assert acc.api_key is not None
            assert acc.api_key.startswith("sk-p-")
    assert seen == ids + ids
    assert all(s.inflight == 0 for s in pool.account_states())


async def test_max_inflight_makes_requests_wait_in_fifo_order(store: Store, make_pool: PoolMaker) -> None:
    await add_accounts(store, 1, max_inflight=1)
    pool = await make_pool(queue_timeout=30)
    cm, _ = await hold(pool)
    order: list[int] = []

    async def waiter(i: int) -> None:
        async with pool.lease("p"):
            order.append(i)
            await asyncio.sleep(0)

    tasks = []
    for i in range(3):
        tasks.append(asyncio.create_task(waiter(i)))
        await asyncio.sleep(0.01)  # enqueue in a known order
    assert (await pool.status())["queue_size"] == 3
    assert order == []
    await cm.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert (await pool.status())["queue_size"] == 0


async def test_full_queue_and_queue_timeout_answer_429_with_retry_after(
    store: Store, make_pool: PoolMaker
) -> None:
    await add_accounts(store, 1, max_inflight=1)
    pool = await make_pool(queue_size=1, queue_timeout=0.2)
    cm, _ = await hold(pool)
    waiting = asyncio.create_task(hold(pool))
    await asyncio.sleep(0.02)
    with pytest.raises(GatewayError) as full:
        await hold(pool)
    assert full.value.kind == "rate_limit"
    assert full.value.code == "queue_full"
    assert full.value.retry_after is not None
    assert full.value.retry_after >= 1
    with pytest.raises(GatewayError) as timed_out:
        await waiting
    assert timed_out.value.code == "queue_timeout"
    assert timed_out.value.status == 429
    assert timed_out.value.retry_after is not None
    await cm.__aexit__(None, None, None)
    assert pool.state(pool.account_states()[0].id).inflight == 0  # type: ignore[union-attr]


async def test_cancelled_waiter_leaves_no_trace(store: Store, make_pool: PoolMaker) -> None:
    await add_accounts(store, 1, max_inflight=1)
    pool = await make_pool()
    cm, _ = await hold(pool)
    t = asyncio.create_task(hold(pool))
    await asyncio.sleep(0.02)
    t.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t
    await cm.__aexit__(None, None, None)
    async with pool.lease("p"):
        pass
    assert pool.account_states()[0].inflight == 0
    assert (await pool.status())["queue_size"] == 0


async def test_least_inflight_picks_the_idlest(store: Store, make_pool: PoolMaker) -> None:
    a, b, c = await add_accounts(store, 3, max_inflight=5)
    pool = await make_pool(strategy="least_inflight")
    held = [await hold(pool) for _ in range(3)]  # one on each
    assert {acc.id for _, acc in held} == {a, b, c}
    await held[1][0].__aexit__(None, None, None)  # b is idle now
    cm, acc = await hold(pool)
    assert acc.id == held[1][1].id
    for h in [held[0], held[2], (cm, acc)]:
        await h[0].__aexit__(None, None, None)


async def test_weighted_follows_weights_exactly_over_a_cycle(store: Store, make_pool: PoolMaker) -> None:
    heavy = store.accounts.new("p", "sk-heavy", weight=3)
    light = store.accounts.new("p", "sk-light", weight=1)
    await store.accounts.add(heavy)
    await store.accounts.add(light)
    pool = await make_pool(strategy="weighted")
    picks = []
    for _ in range(8):
        async with pool.lease("p") as acc:
            picks.append(acc.id)
    assert Counter(picks) == {heavy.id: 6, light.id: 2}
    assert picks[:4].count(light.id) == 1  # smooth: interleaved, not bunched


async def test_exclude_and_no_account_errors(store: Store, make_pool: PoolMaker) -> None:
    a, b = await add_accounts(store, 2)
    pool = await make_pool()
    async with pool.lease("p", frozenset({a})) as acc:
        assert acc.id == b
    with pytest.raises(GatewayError) as ei:
        await hold(pool, "p", frozenset({a, b}))
    assert ei.value.kind == "overloaded"
    assert ei.value.code == "no_account_available"
    assert not ei.value.retryable
    with pytest.raises(GatewayError) as none:
        await hold(pool, "q")
    assert none.value.code == "no_account"


async def test_401_disables_with_reason_and_persists(store: Store, make_pool: PoolMaker) -> None:
    a, b = await add_accounts(store, 2)
    pool = await make_pool()
    async with pool.lease("p") as acc:
        assert acc.id == a
        pool.report(
            acc, GatewayError("upstream", "invalid api key", upstream_status=401, code="upstream_auth_failed")
        )
    for _ in range(4):
        async with pool.lease("p") as acc:
            assert acc.id == b
    await pool.flush()
    row = await store.accounts.get(a)
    assert row is not None
    assert not row.enabled
    assert row.disabled_by == "health"
    assert row.disabled_reason is not None
    assert "401" in row.disabled_reason
    assert "invalid api key" in row.disabled_reason
    st = {x["id"]: x for x in (await pool.status())["accounts"]}
    assert st[a]["status"] == "disabled"
    assert st[b]["status"] == "healthy"


async def test_429_cools_down_until_retry_after_then_returns(store: Store, make_pool: PoolMaker) -> None:
    a, b = await add_accounts(store, 2)
    pool = await make_pool()
    async with pool.lease("p") as acc:
        pool.report(acc, GatewayError("rate_limit", "slow down", upstream_status=429, retry_after=0.3))
    status = {x["id"]: x for x in (await pool.status())["accounts"]}
    assert status[a]["status"] == "cooling_down"
    assert status[a]["cooldown_until"] is not None
    async with pool.lease("p") as acc:
        assert acc.id == b
    async with pool.lease("p") as acc:
        assert acc.id == b  # a still cooling
    await asyncio.sleep(0.35)
    got = set()
    for _ in range(2):
        async with pool.lease("p") as acc:
            got.add(acc.id)
    assert got == {a, b}


async def test_all_cooling_longer_than_queue_timeout_is_429_with_their_retry_after(
    store: Store, make_pool: PoolMaker
) -> None:
    (a,) = await add_accounts(store, 1)
    pool = await make_pool(queue_timeout=1)
    async with pool.lease("p") as acc:
        pool.report(acc, GatewayError("rate_limit", "quota", upstream_status=429, retry_after=120))
    with pytest.raises(GatewayError) as ei:
        await hold(pool)
    assert ei.value.code == "accounts_cooling_down"
    assert ei.value.status == 429
    assert 119 <= (ei.value.retry_after or 0) <= 120
    assert await pool.clear_cooldown(a)
    async with pool.lease("p") as acc:
        assert acc.id == a


async def test_short_cooldown_waits_in_queue_instead_of_failing(store: Store, make_pool: PoolMaker) -> None:
    (a,) = await add_accounts(store, 1)
    pool = await make_pool(queue_timeout=5)
    async with pool.lease("p") as acc:
        pool.report(acc, GatewayError("rate_limit", "x", upstream_status=429, retry_after=0.2))
    t0 = time.monotonic()
    async with pool.lease("p") as acc:
        assert acc.id == a
    assert time.monotonic() - t0 >= 0.15


async def test_5xx_past_threshold_cools_down_with_backoff_and_success_resets(
    store: Store, make_pool: PoolMaker
) -> None:
    (a,) = await add_accounts(store, 1)
    pool = await make_pool(failure_threshold=3, cooldown_base=10, cooldown_max=25)
    st = pool.state(a)
    assert st is not None
    err = GatewayError("upstream", "Upstream error (HTTP 500): boom", upstream_status=500)
    for _ in range(2):
        async with pool.lease("p") as acc:
            pool.report(acc, err)
    assert st.row.cooldown_until is None
    assert st.row.failures == 2
    async with pool.lease("p") as acc:
        pool.report(acc, None)
    assert st.row.failures == 0
    for _ in range(3):
        async with pool.lease("p") as acc:
            pool.report(acc, err)
    first = (st.row.cooldown_until or 0) - time.time()
    assert 9 < first <= 10
    pool.report(st.account, GatewayError("timeout", "slow"))
    second = (st.row.cooldown_until or 0) - time.time()
    assert 19 < second <= 20  # doubled
    pool.report(st.account, err)
    assert (st.row.cooldown_until or 0) - time.time() <= 25  # capped
    await pool.flush()
    row = await store.accounts.get(a)
    assert row is not None
    assert row.failures == 5
    assert row.cooldown_until is not None


async def test_client_errors_do_not_count_against_the_account(store: Store, make_pool: PoolMaker) -> None:
    (a,) = await add_accounts(store, 1)
    pool = await make_pool(failure_threshold=1)
    for kind in ("invalid_request", "not_found", "payload_too_large"):
        async with pool.lease("p") as acc:
            pool.report(acc, GatewayError(kind, "your fault", upstream_status=400))  # type: ignore[arg-type]
    st = pool.state(a)
    assert st is not None
    assert st.row.enabled
    assert st.row.cooldown_until is None
    assert st.row.failures == 0


async def test_retest_re_enables_only_pool_disabled_accounts(store: Store, make_pool: PoolMaker) -> None:
    a, b = await add_accounts(store, 2)
    tested: list[str] = []

    async def probe(acc: Account) -> ProbeResult:
        tested.append(acc.id)
        return ProbeResult(True, details={"non_stream": {"ok": True}})

    pool = await make_pool(probe=probe)
    pool.report(pool.state(a).account, GatewayError("upstream", "bad key", upstream_status=403))  # type: ignore[union-attr]
    await store.accounts.update(b, enabled=False)  # an admin's choice
    await pool.reload_account(b)
    assert await pool.retest_disabled() == 1
    assert tested == [a]
    sa, sb = pool.state(a), pool.state(b)
    assert sa is not None
    assert sa.row.enabled
    assert sa.row.disabled_reason is None
    assert sb is not None
    assert not sb.row.enabled
    row = await store.accounts.get(a)
    assert row is not None
    assert row.enabled


async def test_failed_probe_with_401_disables(store: Store, make_pool: PoolMaker) -> None:
    (a,) = await add_accounts(store, 1)

    async def probe(acc: Account) -> ProbeResult:
        return ProbeResult(False, GatewayError("upstream", "nope", upstream_status=401))

    pool = await make_pool(probe=probe)
    r = await pool.test(a)
    assert not r.ok
    st = pool.state(a)
    assert st is not None
    assert not st.row.enabled
    assert st.row.disabled_by == "health"


async def test_pinned_account_is_used_even_when_disabled(store: Store, make_pool: PoolMaker) -> None:
    _, b = await add_accounts(store, 2)
    await add_accounts(store, 1, provider="q")
    await store.accounts.update(b, enabled=False)
    pool = await make_pool()
    for _ in range(3):
        async with pool.lease("p", pin=b) as acc:
            assert acc.id == b
    with pytest.raises(GatewayError) as ei:
        await hold(pool, "q", pin=b)
    assert ei.value.code == "pinned_account_not_found"


async def test_reload_keeps_leases_and_applies_edits(store: Store, make_pool: PoolMaker) -> None:
    (a,) = await add_accounts(store, 1, max_inflight=1)
    pool = await make_pool()
    cm, _ = await hold(pool)
    await store.accounts.update(a, max_inflight=2, label="renamed")
    await pool.reload()
    st = pool.state(a)
    assert st is not None
    assert st.inflight == 1
    assert st.row.max_inflight == 2
    assert st.account.label == "renamed"
    cm2, _ = await hold(pool)  # room for a second one now
    await cm.__aexit__(None, None, None)
    await cm2.__aexit__(None, None, None)
    assert st.inflight == 0


async def test_orphaned_accounts_are_kept_but_unused(store: Store, make_pool: PoolMaker) -> None:
    await add_accounts(store, 1, provider="gone")
    pool = await make_pool()
    status = await pool.status()
    assert [x["status"] for x in status["accounts"]] == ["orphaned"]


# -- two instances sharing Redis ---------------------------------------------------------------------


async def test_two_instances_share_the_inflight_limit(
    store: Store, make_pool: PoolMaker, shared_factory: Callable[[], Awaitable[Shared]]
) -> None:
    (a,) = await add_accounts(store, 1, max_inflight=1)
    one = await make_pool(shared=await shared_factory(), queue_timeout=10)
    two = await make_pool(shared=await shared_factory(), queue_timeout=10)
    cm, acc = await hold(one)
    assert acc.id == a
    waiting = asyncio.create_task(hold(two))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # instance two sees the slot taken by instance one
    s = await two.status()
    assert s["shared"]
    assert s["accounts"][0]["in_flight"] == 1
    assert s["queue_size"] == 1
    await cm.__aexit__(None, None, None)
    cm2, acc2 = await asyncio.wait_for(waiting, 5)  # woken through Redis
    assert acc2.id == a
    await cm2.__aexit__(None, None, None)


async def test_a_dead_instances_lease_expires(
    store: Store, make_pool: PoolMaker, shared_factory: Callable[[], Awaitable[Shared]]
) -> None:
    (a,) = await add_accounts(store, 1, max_inflight=1)
    dying = await shared_factory()
    assert await dying.acquire([(a, 1)], ttl=0.5) is not None  # taken, then its instance "dies"
    survivor = await make_pool(shared=await shared_factory(), queue_timeout=10, lease_ttl=30)
    async with AsyncExitStack() as stack:
        acc = await asyncio.wait_for(stack.enter_async_context(survivor.lease("p")), 5)
        assert acc.id == a


async def test_cooldown_and_disable_reach_the_other_instance(
    store: Store, make_pool: PoolMaker, shared_factory: Callable[[], Awaitable[Shared]]
) -> None:
    a, b = await add_accounts(store, 2)
    one = await make_pool(shared=await shared_factory())
    two = await make_pool(shared=await shared_factory())
    one.report(one.state(a).account, GatewayError("rate_limit", "x", upstream_status=429, retry_after=60))  # type: ignore[union-attr]
    one.report(one.state(b).account, GatewayError("upstream", "bad key", upstream_status=401))  # type: ignore[union-attr]
    for _ in range(100):
        sa, sb = two.state(a), two.state(b)
        if sa and sb and sa.row.cooldown_until and not sb.row.enabled:
            break
        await asyncio.sleep(0.02)
    st = {x["id"]: x["status"] for x in (await two.status())["accounts"]}
    assert st == {a: "cooling_down", b: "disabled"}
    with pytest.raises(GatewayError) as ei:
        await hold(two)
    assert ei.value.code == "accounts_cooling_down"
    await two.clear_cooldown(a)
    for _ in range(100):
        sa = one.state(a)
        if sa is not None and sa.row.cooldown_until is None:
            break
        await asyncio.sleep(0.02)
    async with one.lease("p") as acc:
        assert acc.id == a
