"""The account pool alone, in memory: no database, no Redis (the backends are the fakes of pool_fakes.py).

Selection per strategy, exclusion on retry, the bounded FIFO queue and its 429s, cooldown and recovery,
disabling, the pin, leases telling their outcome, and two pools sharing one (fake) shared state."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.routing.pool_fakes import MemoryAccounts, MemoryShared, SharedHub, record

from any2api.config import ProviderConfig
from any2api.core.errors import GatewayError
from any2api.providers.base import Account
from any2api.routing.pool import Pool, PoolLease
from any2api.routing.pool_ports import AccountRecord, ProbeResult
from any2api.routing.pool_settings import PoolSettings

pytestmark = pytest.mark.anyio

PROVIDERS = [ProviderConfig(name="p", type="openai", base_url="http://127.0.0.1:9", proxy="http://proxy:1"),
             ProviderConfig(name="q", type="openai", base_url="http://127.0.0.1:9")]  # fmt: skip

Make = Callable[..., Awaitable[Pool]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    pools: list[Pool] = []

    async def build(
        *records: AccountRecord,
        accounts: MemoryAccounts | None = None,
        shared: MemoryShared | None = None,
        probe: Any = None,
        start: bool = False,
        **settings: Any,
    ) -> Pool:
        pool = Pool(
            accounts or MemoryAccounts(*records), PROVIDERS, PoolSettings().merged(settings), shared, probe
        )
        if start:
            await pool.start()
        else:
            await pool.reload()
        pools.append(pool)
        return pool

    yield build
    for p in pools:
        await p.close()


def accs(n: int, provider: str = "p", **kw: Any) -> list[AccountRecord]:
    return [record(provider, label=f"{provider}{i}", **kw) for i in range(n)]


def account(pool: Pool, account_id: str) -> Account:
    st = pool.state(account_id)
    assert st is not None
    return st.account


async def picks(pool: Pool, n: int, provider: str = "p") -> list[str]:
    out = []
    for _ in range(n):
        lease = await pool.acquire(provider)
        out.append(lease.account.id)
        lease.release(None)
    return out


# -- selection -------------------------------------------------------------------------------------------


async def test_round_robin_takes_each_account_in_turn(make: Make) -> None:
    a, b, c = accs(3)
    pool = await make(a, b, c)
    assert await picks(pool, 7) == [a.id, b.id, c.id, a.id, b.id, c.id, a.id]


async def test_round_robin_skips_full_disabled_and_cooling_accounts(make: Make) -> None:
    a, b, c, d = accs(4, max_inflight=1)
    c.enabled = False
    d.cooldown_until = time.time() + 60
    pool = await make(a, b, c, d)
    held = await pool.acquire("p")
    assert held.account.id == a.id
    assert await picks(pool, 3) == [b.id, b.id, b.id]  # a is full, c disabled, d cooling
    held.release(None)
    assert await picks(pool, 2) == [a.id, b.id]


async def test_least_inflight_takes_the_idlest_ties_in_turn(make: Make) -> None:
    a, b, c = accs(3, max_inflight=10)
    pool = await make(a, b, c, strategy="least_inflight")
    held = [await pool.acquire("p") for _ in range(3)]  # one each, in turn
    assert [h.account.id for h in held] == [a.id, b.id, c.id]
    more = await pool.acquire("p")  # all at 1: the next in turn after c
    assert more.account.id == a.id
    held[1].release(None)  # b idle now
    assert (await pool.acquire("p")).account.id == b.id


async def test_weighted_is_smooth_weighted_round_robin(make: Make) -> None:
    a = record(weight=5)
    b = record(weight=1)
    c = record(weight=1)
    pool = await make(a, b, c, strategy="weighted")
    seq = await picks(pool, 14)
    assert seq[:7] == [a.id, a.id, b.id, a.id, c.id, a.id, a.id]  # nginx's order for 5:1:1
    assert seq[7:] == seq[:7]
    assert Counter(seq) == {a.id: 10, b.id: 2, c.id: 2}


async def test_accounts_carry_their_settings_and_the_providers_proxy(make: Make) -> None:
    a = record(label="", weight=0, max_inflight=3)
    b = record(proxy="http://own:2", label="bee")
    pool = await make(a, b)
    sa, sb = pool.state(a.id), pool.state(b.id)
    assert sa is not None
    assert sb is not None
    assert sa.account == Account(
        a.id, "p", a.api_key, label=a.id, proxy="http://proxy:1", weight=1, max_inflight=3
    )
    assert sb.account.proxy == "http://own:2"
    assert sb.account.label == "bee"


# -- exclusion and errors ------------------------------------------------------------------------------


async def test_exclusion_on_retry_and_the_errors_when_nothing_is_left(make: Make) -> None:
    a, b = accs(2)
    (q,) = accs(1, provider="q", enabled=False)
    pool = await make(a, b, q)
    lease = await pool.acquire("p", frozenset({a.id}))
    assert lease.account.id == b.id
    lease.release(None)
    lease = await pool.acquire("p", {b.id})  # any set works
    assert lease.account.id == a.id
    lease.release(None)
    with pytest.raises(GatewayError) as tried:
        await pool.acquire("p", frozenset({a.id, b.id}))
    assert tried.value.code == "no_account_available"
    assert not tried.value.retryable
    assert "failed for this request" in tried.value.message
    with pytest.raises(GatewayError) as disabled:
        await pool.acquire("q")
    assert disabled.value.code == "no_account_available"
    assert "is disabled" in disabled.value.message
    with pytest.raises(GatewayError) as none:
        await pool.acquire("nobody")
    assert none.value.code == "no_account"
    assert none.value.kind == "overloaded"
    assert not none.value.retryable


async def test_accounts_of_unconfigured_providers_are_kept_but_never_served(make: Make) -> None:
    (gone,) = accs(1, provider="gone")
    pool = await make(gone)
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("gone")
    assert ei.value.code == "no_account"
    assert [x["status"] for x in (await pool.status())["accounts"]] == ["orphaned"]


# -- the wait queue ----------------------------------------------------------------------------------------


async def test_busy_accounts_queue_requests_first_come_first_served(make: Make) -> None:
    (a,) = accs(1, max_inflight=1)
    pool = await make(a, queue_timeout=5)
    held = await pool.acquire("p")
    order: list[int] = []

    async def wait(i: int) -> None:
        lease = await pool.acquire("p")
        order.append(i)
        await asyncio.sleep(0)
        lease.release(None)

    tasks = []
    for i in range(3):
        tasks.append(asyncio.create_task(wait(i)))
        await asyncio.sleep(0.005)
    assert (await pool.status())["queues"] == {"p": 3}
    held.release(None)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert (await pool.status())["queue_size"] == 0
    st = pool.state(a.id)
    assert st is not None
    assert st.inflight == 0


async def test_the_queue_is_bounded_and_waits_time_out_with_429_and_retry_after(make: Make) -> None:
    a, b = accs(2, max_inflight=1)
    pool = await make(a, b, queue_size=2, queue_timeout=0.1)
    held = [await pool.acquire("p"), await pool.acquire("p")]
    waiting = [asyncio.create_task(pool.acquire("p")) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(GatewayError) as full:
        await pool.acquire("p")
    e = full.value
    assert (e.kind, e.code, e.status) == ("rate_limit", "queue_full", 429)
    assert e.retry_after is not None
    assert e.retry_after >= 1
    assert "2 requests are waiting" in e.message
    for t in waiting:
        with pytest.raises(GatewayError) as timed_out:
            await t
        assert timed_out.value.code == "queue_timeout"
        assert timed_out.value.status == 429
        assert timed_out.value.retry_after is not None
        assert timed_out.value.retry_after >= 1
    for h in held:
        h.release(None)
    assert (await pool.status())["queue_size"] == 0
    assert all(s.inflight == 0 for s in pool.account_states())


async def test_retry_after_estimates_from_hold_time_and_queue_length(make: Make) -> None:
    (a,) = accs(1, max_inflight=1)
    pool = await make(a, queue_size=0)
    lease = await pool.acquire("p")
    lease.started -= 3.5  # held for 3.5 s
    lease.release(None)
    await pool.acquire("p")
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("p")
    # mean hold 3.5 s, one slot, nobody waiting yet: 4 s
    assert ei.value.code == "queue_full"
    assert ei.value.retry_after == 4


async def test_a_cancelled_waiter_leaves_no_trace(make: Make) -> None:
    (a,) = accs(1, max_inflight=1)
    pool = await make(a)
    held = await pool.acquire("p")
    t = asyncio.create_task(pool.acquire("p"))
    await asyncio.sleep(0.01)
    t.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t
    held.release(None)
    assert await picks(pool, 1) == [a.id]
    assert (await pool.status())["queue_size"] == 0
    assert pool.account_states()[0].inflight == 0


async def test_a_waiter_for_an_excluded_account_does_not_block_the_one_behind(make: Make) -> None:
    a, b = accs(2, max_inflight=1)
    pool = await make(a, b, queue_timeout=2)
    ha, hb = await pool.acquire("p"), await pool.acquire("p")
    wants_b = asyncio.create_task(pool.acquire("p", frozenset({a.id})))
    await asyncio.sleep(0.005)
    any_one = asyncio.create_task(pool.acquire("p"))
    await asyncio.sleep(0.005)
    ha.release(None)  # a frees up: the first waiter excludes it, the second takes it
    got = await asyncio.wait_for(any_one, 1)
    assert got.account.id == a.id
    assert not wants_b.done()
    hb.release(None)
    assert (await asyncio.wait_for(wants_b, 1)).account.id == b.id


# -- health ------------------------------------------------------------------------------------------------


async def test_429_cools_down_until_retry_after_then_the_account_returns(make: Make) -> None:
    a, b = accs(2)
    pool = await make(a, b)
    lease = await pool.acquire("p")
    lease.release(GatewayError("rate_limit", "slow down", upstream_status=429, retry_after=0.15))
    st = {x["id"]: x for x in (await pool.status())["accounts"]}
    assert st[a.id]["status"] == "cooling_down"
    assert st[a.id]["cooldown_until"] is not None
    assert await picks(pool, 3) == [b.id, b.id, b.id]
    await asyncio.sleep(0.2)
    assert set(await picks(pool, 2)) == {a.id, b.id}


async def test_all_cooling_longer_than_the_queue_timeout_fails_at_once(make: Make) -> None:
    (a,) = accs(1)
    pool = await make(a, queue_timeout=1)
    pool.report(
        account(pool, a.id), GatewayError("rate_limit", "quota", upstream_status=429, retry_after=120)
    )
    t0 = time.monotonic()
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("p")
    assert time.monotonic() - t0 < 0.5
    assert ei.value.code == "accounts_cooling_down"
    assert ei.value.status == 429
    assert 119 <= (ei.value.retry_after or 0) <= 120
    assert "(last: quota)" in ei.value.message
    assert await pool.clear_cooldown(a.id)
    assert await picks(pool, 1) == [a.id]


async def test_a_short_cooldown_waits_in_the_queue_and_is_woken_when_it_ends(make: Make) -> None:
    (a,) = accs(1)
    pool = await make(a, queue_timeout=5)
    pool.report(account(pool, a.id), GatewayError("rate_limit", "x", upstream_status=429, retry_after=0.1))
    t0 = time.monotonic()
    lease = await pool.acquire("p")
    assert lease.account.id == a.id
    assert 0.08 <= time.monotonic() - t0 < 2


async def test_rejected_credentials_disable_and_the_store_learns_it(make: Make) -> None:
    a, b = accs(2)
    store = MemoryAccounts(a, b)
    pool = await make(accounts=store)
    lease = await pool.acquire("p")
    lease.release(
        GatewayError("upstream", "invalid api key", upstream_status=401, code="upstream_auth_failed")
    )
    assert await picks(pool, 3) == [b.id, b.id, b.id]
    await pool.flush()
    row = store.rows[a.id]
    assert not row.enabled
    assert row.disabled_by == "health"
    assert row.disabled_reason is not None
    assert "401" in row.disabled_reason
    assert "invalid api key" in row.disabled_reason
    assert store.rows[b.id].last_used is not None  # successes are remembered too


async def test_abandoned_leases_teach_nothing(make: Make) -> None:
    (a,) = accs(1)
    store = MemoryAccounts(a)
    pool = await make(accounts=store)
    lease = await pool.acquire("p")
    lease.abandon()
    st = pool.state(a.id)
    assert st is not None
    assert st.inflight == 0
    assert not st.dirty
    assert st.row.last_used is None


async def test_upstream_failures_cool_down_past_the_threshold_and_a_success_resets(make: Make) -> None:
    (a,) = accs(1)
    pool = await make(a, failure_threshold=2, cooldown_base=10, cooldown_max=15)
    st = pool.state(a.id)
    assert st is not None
    boom = GatewayError("upstream", "HTTP 502", upstream_status=502)
    (await pool.acquire("p")).release(boom)
    assert st.row.failures == 1
    assert st.row.cooldown_until is None
    assert st.row.last_error == "HTTP 502"
    (await pool.acquire("p")).release(None)
    assert st.row.failures == 0
    assert st.row.last_error is None
    (await pool.acquire("p")).release(boom)
    (await pool.acquire("p")).release(GatewayError("timeout", "slow"))
    assert 9 < (st.row.cooldown_until or 0) - time.time() <= 10
    pool.report(st.account, boom)
    assert 14 < (st.row.cooldown_until or 0) - time.time() <= 15  # doubled, capped at 15


async def test_a_periodic_retest_brings_back_only_accounts_the_pool_disabled(make: Make) -> None:
    a, b = accs(2)
    b.enabled, b.disabled_by = False, "admin"
    tested: list[str] = []

    async def probe(acc: Account) -> ProbeResult:
        tested.append(acc.id)
        return ProbeResult(True)

    pool = await make(a, b, probe=probe)
    pool.report(account(pool, a.id), GatewayError("upstream", "bad key", upstream_status=403))
    assert await pool.retest_disabled() == 1
    assert tested == [a.id]
    sa, sb = pool.state(a.id), pool.state(b.id)
    assert sa is not None
    assert sa.row.enabled
    assert sa.row.disabled_by is None
    assert sb is not None
    assert not sb.row.enabled
    assert set(await picks(pool, 2)) == {a.id}


# -- the pin -----------------------------------------------------------------------------------------------


async def test_the_pin_forces_one_account_whatever_its_health(make: Make) -> None:
    a, b = accs(2)
    b.enabled = False
    c = record(cooldown_until=time.time() + 60)
    (q,) = accs(1, provider="q")
    pool = await make(a, b, c, q)
    for pin in (b.id, c.id):
        for _ in range(2):
            lease = await pool.acquire("p", frozenset({pin}), pin)  # exclusion does not apply either
            assert lease.account.id == pin
            lease.release(None)
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("q", pin=b.id)
    assert (ei.value.kind, ei.value.code, ei.value.retryable) == (
        "not_found",
        "pinned_account_not_found",
        False,
    )


async def test_the_pin_still_waits_for_room_on_its_account(make: Make) -> None:
    a, b = accs(2, max_inflight=1)
    pool = await make(a, b, queue_timeout=2)
    held = await pool.acquire("p", pin=a.id)
    waiting = asyncio.create_task(pool.acquire("p", pin=a.id))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    assert await picks(pool, 1) == [b.id]  # others are served meanwhile
    held.release(None)
    lease: PoolLease = await asyncio.wait_for(waiting, 1)
    assert lease.account.id == a.id


# -- reloads ---------------------------------------------------------------------------------------------


async def test_a_reload_keeps_leases_and_applies_edits(make: Make) -> None:
    (a,) = accs(1, max_inflight=1)
    store = MemoryAccounts(a)
    pool = await make(accounts=store)
    held = await pool.acquire("p")
    store.rows[a.id].max_inflight = 2
    store.rows[a.id].label = "renamed"
    await pool.reload()
    st = pool.state(a.id)
    assert st is not None
    assert st.inflight == 1
    assert st.account.label == "renamed"
    second = await pool.acquire("p")  # room for a second one now
    held.release(None)
    second.release(None)
    assert st.inflight == 0


async def test_providers_come_and_go_at_run_time(make: Make) -> None:
    (r,) = accs(1, provider="r")
    pool = await make(r)
    with pytest.raises(GatewayError):
        await pool.acquire("r")
    await pool.set_provider(ProviderConfig(name="r", type="openai", base_url="http://127.0.0.1:9"))
    assert await picks(pool, 1, "r") == [r.id]
    await pool.remove_provider("r")
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("r")
    assert ei.value.code == "no_account"


# -- several instances -------------------------------------------------------------------------------------


async def test_two_pools_share_the_inflight_limit_and_wake_each_other(make: Make) -> None:
    hub = SharedHub()
    (a,) = accs(1, max_inflight=1)
    store = MemoryAccounts(a)
    one = await make(accounts=store, shared=hub.instance(), queue_timeout=5, start=True)
    two = await make(accounts=store, shared=hub.instance(), queue_timeout=5, start=True)
    held = await one.acquire("p")
    waiting = asyncio.create_task(two.acquire("p"))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # two sees the slot one holds
    s = await two.status()
    assert s["shared"]
    assert s["accounts"][0]["in_flight"] == 1
    assert s["queue_size"] == 1
    held.release(None)
    got = await asyncio.wait_for(waiting, 2)  # woken by one's release event
    assert got.account.id == a.id
    got.release(None)
    await asyncio.sleep(0.01)  # the shared release is sent off the request path
    assert hub.count(a.id, time.time()) == 0


async def test_cooldowns_and_disabling_reach_the_other_pool(make: Make) -> None:
    hub = SharedHub()
    a, b = accs(2)
    store = MemoryAccounts(a, b)
    one = await make(accounts=store, shared=hub.instance())
    two = await make(accounts=store, shared=hub.instance())
    one.report(account(one, a.id), GatewayError("rate_limit", "x", upstream_status=429, retry_after=60))
    one.report(account(one, b.id), GatewayError("upstream", "bad key", upstream_status=401))
    await asyncio.sleep(0.01)
    assert {x["id"]: x["status"] for x in (await two.status())["accounts"]} == {
        a.id: "cooling_down",
        b.id: "disabled",
    }
    with pytest.raises(GatewayError) as ei:
        await two.acquire("p")
    assert ei.value.code == "accounts_cooling_down"


async def test_without_the_shared_state_the_limits_hold_per_instance(make: Make) -> None:
    hub = SharedHub()
    a, b = accs(2, max_inflight=1)
    pool = await make(a, b, shared=hub.instance(), queue_size=0)
    hub.down = True
    first, second = await pool.acquire("p"), await pool.acquire("p")
    assert {first.account.id, second.account.id} == {a.id, b.id}
    with pytest.raises(GatewayError) as ei:
        await pool.acquire("p")
    assert ei.value.code == "queue_full"
    first.release(None)
    second.release(None)
    await asyncio.sleep(0)
    s = await pool.status()
    assert not s["shared"]
    assert all(x["in_flight"] == 0 for x in s["accounts"])
