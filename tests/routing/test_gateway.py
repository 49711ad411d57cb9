"""The gateway's retrying request loop, in-process: fake upstreams (providers whose ``stream``/``forward``
are scripted), the real account pool over in-memory accounts, and a recording pool for what the gateway
asks of a pool (exclusions, the pin, one release per lease)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Set
from contextlib import aclosing
from typing import Any, ClassVar

import pytest
from tests.routing.pool_fakes import MemoryAccounts, record

from any2api.auth import Client
from any2api.config import parse_config
from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Event, Finish, PartDelta, ResponseStart
from any2api.core.request import ChatRequest
from any2api.gateway import Gateway
from any2api.ports import UsageRecord
from any2api.providers.base import Account
from any2api.routing.pool import Pool

pytestmark = pytest.mark.anyio

CONFIG = """
providers:
  - {name: p, type: openai, base_url: "http://127.0.0.1:9/v1", models: [m]}
  - {name: q, type: openai, base_url: "http://127.0.0.1:9/v1", models: [m]}
models:
  chain: [p/m, q/m]
"""
REQ = ChatRequest(model="chain", messages=[])
Script = Callable[[Account], AsyncIterator[Event]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NoAuth:
    async def authenticate(self, token: str | None) -> Client:
        return Client("k")


class RecordingPool:
    """An AccountPool that hands out one account per provider and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str], str | None]] = []
        self.released: list[tuple[str, GatewayError | str | None]] = []

    async def acquire(self, provider: str, exclude: Set[str], pin: str | None) -> _Lease:
        self.calls.append((provider, frozenset(exclude), pin))
        n = sum(1 for c in self.calls if c[0] == provider)
        return _Lease(self, Account(f"{provider}{n}", provider, "k"))


class _Lease:
    def __init__(self, pool: RecordingPool, account: Account) -> None:
        self.pool = pool
        self.account = account

    def release(self, error: GatewayError | None) -> None:
        self.pool.released.append((self.account.id, error))

    def abandon(self) -> None:
        self.pool.released.append((self.account.id, "abandoned"))


def gateway(pool: Any, sinks: tuple[Callable[[UsageRecord], None], ...] = ()) -> Gateway:
    return Gateway(parse_config(CONFIG, "(test)"), pool=pool, auth=NoAuth(), usage_sinks=sinks)


def script(gw: Gateway, provider: str, fn: Script) -> list[str]:
    """Make ``provider`` answer with ``fn(account)``; returns the account ids it was called with."""
    seen: list[str] = []

    async def stream(req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        seen.append(account.id)
        async for ev in fn(account):
            yield ev

    gw.providers[provider].stream = stream  # type: ignore[method-assign]
    return seen


def answer(text: str) -> Script:
    async def fn(account: Account) -> AsyncIterator[Event]:
        yield ResponseStart(id="r", model="m", created=0)
        yield PartDelta(0, text)
        yield Finish("stop")

    return fn


def fail(err: GatewayError) -> Script:
    async def fn(account: Account) -> AsyncIterator[Event]:
        raise err
        yield  # pragma: no cover

    return fn


async def collect(gw: Gateway, pin: str | None = None) -> list[Event]:
    routes = gw.router.resolve("chain")
    async with aclosing(gw.events(REQ, routes, pin)) as agen:
        return [ev async for ev in agen]


BUSY = GatewayError("overloaded", "busy", upstream_status=503)


async def test_a_retryable_failure_moves_to_the_next_account_and_is_reported() -> None:
    a, b = record("p"), record("p")
    pool = Pool(MemoryAccounts(a, b), parse_config(CONFIG, "(t)").providers)
    await pool.reload()
    gw = gateway(pool)
    seen = script(gw, "p", lambda acc: fail(BUSY)(acc) if acc.id == a.id else answer("hi")(acc))
    events = await collect(gw)
    assert seen == [a.id, b.id]
    assert isinstance(events[0], ResponseStart)
    sa, sb = pool.state(a.id), pool.state(b.id)
    assert sa is not None
    assert sa.row.failures == 1
    assert sa.row.last_error == "busy"
    assert sa.inflight == 0
    assert sb is not None
    assert sb.row.last_used is not None
    assert sb.inflight == 0


async def test_exhausted_accounts_fall_down_the_chain_with_exclusions() -> None:
    pool = RecordingPool()
    gw = gateway(pool)
    script(gw, "p", fail(BUSY))
    seen_q = script(gw, "q", answer("from q"))
    events = await collect(gw)
    assert seen_q == ["q1"]
    assert isinstance(events[-1], Finish)
    assert pool.calls == [
        ("p", frozenset(), None),
        ("p", frozenset({"p1"}), None),
        ("p", frozenset({"p1", "p2"}), None),  # max_attempts_per_route = 3
        ("q", frozenset(), None),
    ]
    assert pool.released == [("p1", BUSY), ("p2", BUSY), ("p3", BUSY), ("q1", None)]


async def test_a_client_error_is_never_retried() -> None:
    pool = RecordingPool()
    gw = gateway(pool)
    bad = GatewayError("invalid_request", "bad field", upstream_status=400)
    script(gw, "p", fail(bad))
    seen_q = script(gw, "q", answer("x"))
    with pytest.raises(GatewayError) as ei:
        await collect(gw)
    assert ei.value is bad
    assert seen_q == []
    assert pool.released == [("p1", bad)]


async def test_a_failure_after_the_first_event_ends_the_stream_without_retry() -> None:
    pool = RecordingPool()
    gw = gateway(pool)
    broken = GatewayError("upstream", "cut off")

    async def half(account: Account) -> AsyncIterator[Event]:
        yield ResponseStart(id="r", model="m", created=0)
        yield ErrorEvent(broken)

    script(gw, "p", half)
    events = await collect(gw)
    assert isinstance(events[-1], ErrorEvent)
    assert len(pool.calls) == 1
    assert pool.released == [("p1", broken)]  # the account still hears how it went


async def test_when_no_route_has_an_account_the_first_lease_error_is_raised() -> None:
    pool = Pool(MemoryAccounts(), parse_config(CONFIG, "(t)").providers)
    await pool.reload()
    gw = gateway(pool)
    with pytest.raises(GatewayError) as ei:
        await collect(gw)
    assert ei.value.code == "no_account"
    assert "'p'" in ei.value.message


async def test_the_pin_reaches_every_lease() -> None:
    pool = RecordingPool()
    gw = gateway(pool)
    script(gw, "p", fail(BUSY))
    script(gw, "q", answer("x"))
    await collect(gw, pin="acc_x")
    assert {c[2] for c in pool.calls} == {"acc_x"}
    assert len(pool.calls) == 4


async def test_a_pin_of_the_second_routes_account_skips_the_first_route() -> None:
    p, q = record("p"), record("q")
    pool = Pool(MemoryAccounts(p, q), parse_config(CONFIG, "(t)").providers)
    await pool.reload()
    gw = gateway(pool)
    seen_p = script(gw, "p", answer("p"))
    seen_q = script(gw, "q", answer("q"))
    await collect(gw, pin=q.id)
    assert seen_p == []
    assert seen_q == [q.id]


class _Response:
    """What a provider's ``forward`` returns (an upstream response the caller releases)."""

    status = 200
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.released = False

    def release(self) -> None:
        self.released = True


async def test_forward_releases_a_failed_attempt_and_hands_back_the_lease_of_the_good_one() -> None:
    pool = RecordingPool()
    gw = gateway(pool)
    sent: list[str] = []

    async def forward(
        body: Any, model: str, account: Account, stream: bool, headers: Any = None, query: Any = None
    ) -> Any:
        sent.append(account.id)
        if account.id == "p1":
            raise BUSY
        return _Response()

    gw.providers["p"].forward = forward  # type: ignore[method-assign]
    fwd = await gw.forward(gw.router.resolve("chain"), {"model": "chain"}, False, None, pin="p2")
    assert sent == ["p1", "p2"]
    assert fwd.account.id == "p2"
    assert pool.calls[0][2] == "p2"
    assert pool.released == [("p1", BUSY)]
    await fwd.release(None)
    assert pool.released == [("p1", BUSY), ("p2", None)]


async def test_a_cancelled_forward_gives_the_account_back_without_a_verdict() -> None:
    pool = RecordingPool()
    gw = gateway(pool)

    async def forward(*args: Any, **kw: Any) -> Any:
        raise KeyboardInterrupt

    gw.providers["p"].forward = forward  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        await gw.forward(gw.router.resolve("chain"), {}, False)
    assert pool.released == [("p1", "abandoned")]


async def test_usage_goes_to_every_sink_and_a_failing_sink_breaks_nothing() -> None:
    got: list[UsageRecord] = []

    def broken(rec: UsageRecord) -> None:
        raise RuntimeError("sink down")

    gw = gateway(RecordingPool(), sinks=(broken, got.append))
    rec = UsageRecord(Client("k"), "chain", "p", "p1", None, 1.0, 200)
    gw.record(rec)
    assert got == [rec]
    assert gw.usage_sinks == (broken, got.append)
