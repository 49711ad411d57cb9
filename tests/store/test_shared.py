"""Redis-shared state, with two Shared objects in one namespace standing for two gateway instances."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from any2api.store.shared import RATE_BUDGET, RATE_OK, RATE_RPM, RATE_TPM, Shared

pytestmark = pytest.mark.anyio

Make = Callable[[], Awaitable[Shared]]


async def test_inflight_limit_is_shared_and_release_notifies(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    seen: list[dict[str, Any]] = []
    b.on_event(seen.append)
    got1 = await a.acquire([("acc1", 2)], ttl=30)
    got2 = await b.acquire([("acc1", 2)], ttl=30)
    assert got1 is not None
    assert got2 is not None
    assert await a.acquire([("acc1", 2)], ttl=30) is None
    assert await b.acquire([("acc1", 2)], ttl=30) is None
    assert await a.inflight(["acc1", "acc2"]) == {"acc1": 2, "acc2": 0}
    await a.release("acc1", got1[1], "prov")
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert seen
    assert seen[0]["t"] == "rel"
    assert seen[0]["p"] == "prov"
    assert await b.acquire([("acc1", 2)], ttl=30) is not None


async def test_first_free_candidate_and_least_loaded(shared_factory: Make) -> None:
    a = await shared_factory()
    first = await a.acquire([("x", 1), ("y", 1)], ttl=30)
    assert first is not None
    assert first[0] == 0
    got = await a.acquire([("x", 1), ("y", 1)], ttl=30)
    assert got is not None
    assert got[0] == 1
    await a.acquire([("p", 0)], ttl=30)
    await a.acquire([("p", 0)], ttl=30)
    got = await a.acquire([("p", 0), ("q", 0)], ttl=30, least=True)
    assert got is not None
    assert got[0] == 1


async def test_a_lease_not_renewed_expires(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    dead = await a.acquire([("acc", 1)], ttl=0.3)  # this "instance" dies without releasing
    assert dead is not None
    kept = await b.acquire([("other", 1)], ttl=0.3)
    assert kept is not None
    assert await b.acquire([("acc", 1)], ttl=30) is None
    for _ in range(4):
        await asyncio.sleep(0.15)
        await b.renew([("other", kept[1])], ttl=0.3)
    assert await b.acquire([("acc", 1)], ttl=30) is not None  # the dead lease expired
    assert await a.acquire([("other", 1)], ttl=30) is None  # the renewed one did not


async def test_cooldown_blocks_until_cleared(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    until = time.time() + 30
    await a.set_cooldown("acc", until)
    assert await b.acquire([("acc", 5)], ttl=30) is None
    assert (await b.cooldowns(["acc", "zzz"])) == {"acc": pytest.approx(until)}
    await b.clear_cooldown("acc")
    assert await a.acquire([("acc", 5)], ttl=30) is not None


async def test_rpm_is_exact_across_instances(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    results = [await (a if i % 2 else b).check_rate("k", 3, None, None) for i in range(5)]
    assert [r[0] for r in results] == [RATE_OK, RATE_OK, RATE_OK, RATE_RPM, RATE_RPM]
    assert 58 <= results[3][1] <= 60
    assert (await a.check_rate("other", 3, None, None))[0] == RATE_OK


async def test_tpm_and_budget(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    assert (await a.check_rate("k", None, 100, None))[0] == RATE_OK
    await b.add_tokens("k", 60)
    assert (await a.check_rate("k", None, 100, None))[0] == RATE_OK
    await a.add_tokens("k", 50)
    code, wait = await b.check_rate("k", None, 100, None)
    assert code == RATE_TPM
    assert 0 < wait <= 61
    await a.seed_used({"budget-key": 990})
    await a.seed_used({"budget-key": 0})  # only where Redis has none yet
    assert await a.used("budget-key") == 990
    assert (await b.check_rate("budget-key", None, None, 1000))[0] == RATE_OK
    await b.add_tokens("budget-key", 10)
    assert (await a.check_rate("budget-key", None, None, 1000))[0] == RATE_BUDGET


async def test_events_reach_other_instances_only(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    got_a: list[dict[str, Any]] = []
    got_b: list[dict[str, Any]] = []
    a.on_event(got_a.append)
    b.on_event(got_b.append)
    await a.publish({"t": "key", "id": "key_1"})
    for _ in range(100):
        if got_b:
            break
        await asyncio.sleep(0.02)
    assert [e["t"] for e in got_b] == ["key"]
    assert got_b[0]["id"] == "key_1"
    assert got_a == []


async def test_login_failures_and_claims(shared_factory: Make) -> None:
    a, b = await shared_factory(), await shared_factory()
    for _ in range(3):
        await a.count_failure("1.2.3.4", 60)
    n, ttl = await b.failures("1.2.3.4")
    assert n == 3
    assert 0 < ttl <= 60
    await b.clear_failures("1.2.3.4")
    assert (await a.failures("1.2.3.4"))[0] == 0
    assert await a.claim("retest:x", 10) is True
    assert await b.claim("retest:x", 10) is False
