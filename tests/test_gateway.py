"""The gateway's attempt loop, without HTTP: which accounts and routes are tried, what comes out.

Failures before the first event are retried on another account of the route, then down the fallback chain;
client errors (4xx) are never retried, and nothing is retried once output has started. Pass-through
(``forward``) follows the same rules. The upstream is a small scripted ``Provider`` registered like any
adapter; everything else (config, router, account pool, gateway) is the real thing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from any2api.auth import Client
from any2api.config import Config, ModelEntry, ProviderConfig
from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.gateway import Gateway
from any2api.providers.base import Account, Provider
from any2api.providers.registry import register_provider
from any2api.routing.pool import Pool
from tests.routing.pool_fakes import MemoryAccounts, record

pytestmark = pytest.mark.anyio

TYPE = "scripted-test"


def answer(text: str) -> list[Event]:
    return [
        ResponseStart("r1", "m", 0),
        PartStart(0, TextPart("")),
        PartDelta(0, text),
        PartEnd(0),
        Finish("stop"),
    ]


@dataclass
class Upstream:
    """What each account answers: events to yield, a GatewayError to raise (before any event or after
    the events listed before it), or an object to return from ``forward``; and who was asked."""

    plans: dict[str, list[Any]] = field(default_factory=dict)
    """api key -> steps: Event, GatewayError (raised there), or ("forward", value)."""
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(provider, model, api key) per attempt, in order."""


UPSTREAM = Upstream()


class ScriptedProvider(Provider):
    dialect = "openai_chat"

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        UPSTREAM.calls.append((self.name, model, account.api_key))
        for step in UPSTREAM.plans.get(account.api_key or "", []):
            if isinstance(step, GatewayError):
                raise step
            yield step

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Any = None,
    ) -> Any:
        UPSTREAM.calls.append((self.name, model, account.api_key))
        for step in UPSTREAM.plans.get(account.api_key or "", []):
            if isinstance(step, GatewayError):
                raise step
            return step
        raise AssertionError(f"no plan for {account.api_key}")


register_provider(TYPE, ScriptedProvider, wire="openai_chat")


class NoAuth:
    async def authenticate(self, token: str | None) -> Client:
        return Client("k")


class UpstreamAnswer:
    """A 2xx upstream response as a provider's ``forward`` returns it (the gateway wraps and releases it);
    its content type names who answered."""

    status = 200

    def __init__(self, name: str) -> None:
        self.headers = {"Content-Type": f"text/x-{name}"}
        self.released = False

    def release(self) -> None:
        self.released = True


def provider(name: str, *keys: str) -> ProviderConfig:
    return ProviderConfig(name=name, type=TYPE, api_keys=list(keys), models=[ModelEntry("m")])


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    UPSTREAM.plans.clear()
    UPSTREAM.calls.clear()
    config = Config(
        providers=[provider("a", "a1", "a2", "a3", "a4"), provider("b", "b1"), provider("c", "c1", "c2")],
        models={"chain": ["a/m", "b/m"], "solo": ["c/m"]},
    )
    # one account per configured key, in key order (the pool serves them round robin)
    accounts = MemoryAccounts(*(record(p.name, api_key=k) for p in config.providers for k in p.api_keys))
    pool = Pool(accounts, config.providers)
    await pool.reload()
    gw = Gateway(config, pool=pool, auth=NoAuth())
    yield gw
    await gw.close()


REQ = ChatRequest(model="chain", messages=[Message("user", [TextPart("hi")])])


async def collect(gw: Gateway, model: str = "chain", into: list[Event] | None = None) -> list[Event]:
    """The events of one request (also appended to ``into`` as they come, to see them when it raises)."""
    out = [] if into is None else into
    async for e in gw.events(REQ, gw.router.resolve(model)):
        out.append(e)
    return out


def text_of(events: list[Event]) -> str:
    return "".join(e.delta for e in events if isinstance(e, PartDelta))


def inflight(gw: Gateway) -> dict[str, int]:
    """Requests each account is serving now, as the pool counts them."""
    assert isinstance(gw.pool, Pool)
    return {s.id: s.inflight for s in gw.pool.account_states()}


def keys_tried() -> list[str | None]:
    return [k for _, _, k in UPSTREAM.calls]


# --- translated requests (events) ----------------------------------------------------------------------------


async def test_the_first_account_that_answers_serves_the_request(gateway: Gateway) -> None:
    UPSTREAM.plans["a1"] = answer("from a1")
    events = await collect(gateway)
    assert text_of(events) == "from a1"
    assert UPSTREAM.calls == [("a", "m", "a1")]


async def test_a_retryable_failure_is_retried_on_another_account_of_the_route(gateway: Gateway) -> None:
    UPSTREAM.plans["a1"] = [GatewayError("overloaded", "busy")]
    UPSTREAM.plans["a2"] = [GatewayError("rate_limit", "slow down")]
    UPSTREAM.plans["a3"] = answer("from a3")
    assert text_of(await collect(gateway)) == "from a3"
    assert keys_tried() == ["a1", "a2", "a3"]


async def test_then_down_the_fallback_chain(gateway: Gateway) -> None:
    for k in ("a1", "a2", "a3", "a4"):
        UPSTREAM.plans[k] = [GatewayError("upstream", f"{k} broke")]
    UPSTREAM.plans["b1"] = answer("from b")
    assert text_of(await collect(gateway)) == "from b"
    tried = UPSTREAM.calls
    # a route gets at most max_attempts_per_route accounts, each a different one, then the next route
    assert [p for p, _, _ in tried] == ["a"] * gateway.max_attempts_per_route + ["b"]
    assert len({k for p, _, k in tried if p == "a"}) == gateway.max_attempts_per_route


async def test_an_empty_upstream_answer_counts_as_a_failure_and_is_retried(gateway: Gateway) -> None:
    UPSTREAM.plans["a1"] = []
    UPSTREAM.plans["a2"] = answer("second")
    assert text_of(await collect(gateway)) == "second"
    assert keys_tried() == ["a1", "a2"]


@pytest.mark.parametrize(
    "error",
    [
        GatewayError("invalid_request", "bad temperature", param="temperature"),
        GatewayError("not_found", "no such model"),
        GatewayError("quota_exceeded", "budget spent", retryable=False),
    ],
    ids=["400", "404", "not-retryable"],
)
async def test_client_errors_are_never_retried(gateway: Gateway, error: GatewayError) -> None:
    UPSTREAM.plans["a1"] = [error]
    UPSTREAM.plans["a2"] = answer("must not be asked")
    with pytest.raises(GatewayError) as e:
        await collect(gateway)
    assert e.value is error
    assert keys_tried() == ["a1"]


async def test_nothing_is_retried_once_output_started(gateway: Gateway) -> None:
    start = answer("partial")[:3]
    UPSTREAM.plans["a1"] = [*start, GatewayError("upstream", "connection reset")]
    UPSTREAM.plans["a2"] = answer("must not be asked")
    seen: list[Event] = []
    with pytest.raises(GatewayError, match="connection reset"):
        await collect(gateway, into=seen)
    assert seen == start
    assert keys_tried() == ["a1"]


async def test_an_error_event_after_output_ends_the_stream_as_an_event(gateway: Gateway) -> None:
    err = GatewayError("upstream", "stream broke")
    UPSTREAM.plans["a1"] = [*answer("partial")[:3], ErrorEvent(err)]
    events = await collect(gateway)
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].error is err
    assert keys_tried() == ["a1"]


async def test_when_every_attempt_fails_the_last_upstream_error_is_raised(gateway: Gateway) -> None:
    for k in ("a1", "a2", "a3", "a4"):
        UPSTREAM.plans[k] = [GatewayError("overloaded", f"{k} busy")]
    UPSTREAM.plans["b1"] = [GatewayError("timeout", "b1 timed out")]
    with pytest.raises(GatewayError, match="b1 timed out"):
        await collect(gateway)


async def test_a_route_whose_accounts_are_all_tried_gives_way_to_the_next(gateway: Gateway) -> None:
    UPSTREAM.plans["c1"] = [GatewayError("overloaded", "c1 busy")]
    UPSTREAM.plans["c2"] = [GatewayError("overloaded", "c2 busy")]
    with pytest.raises(GatewayError, match="c2 busy"):  # the upstream's own error, not "no account left"
        await collect(gateway, "solo")
    assert keys_tried() == ["c1", "c2"]


# --- pass-through (forward) -----------------------------------------------------------------------------------


async def forward(gw: Gateway, model: str = "chain") -> Any:
    return await gw.forward(gw.router.resolve(model), {"model": model, "messages": []}, stream=False)


async def test_forward_returns_the_answer_with_the_route_and_account(gateway: Gateway) -> None:
    UPSTREAM.plans["a1"] = [GatewayError("overloaded", "busy")]
    UPSTREAM.plans["a2"] = [UpstreamAnswer("response of a2")]
    fwd = await forward(gateway)
    assert fwd.content_type == "text/x-response of a2"
    assert (fwd.route.provider.name, fwd.route.model, fwd.account.api_key) == ("a", "m", "a2")
    await fwd.release(None)
    assert inflight(gateway)[fwd.account.id] == 0  # the lease is given back


async def test_forward_goes_down_the_chain(gateway: Gateway) -> None:
    for k in ("a1", "a2", "a3", "a4"):
        UPSTREAM.plans[k] = [GatewayError("upstream", "down")]
    UPSTREAM.plans["b1"] = [UpstreamAnswer("response of b1")]
    fwd = await forward(gateway)
    assert fwd.account.api_key == "b1"
    await fwd.release(None)


async def test_forward_never_retries_client_errors(gateway: Gateway) -> None:
    UPSTREAM.plans["a1"] = [GatewayError("invalid_request", "bad body")]
    UPSTREAM.plans["a2"] = ["must not be asked"]
    with pytest.raises(GatewayError, match="bad body"):
        await forward(gateway)
    assert keys_tried() == ["a1"]
    assert all(n == 0 for n in inflight(gateway).values())


async def test_forward_raises_the_last_error_when_nothing_answers(gateway: Gateway) -> None:
    UPSTREAM.plans["c1"] = [GatewayError("overloaded", "c1 busy")]
    UPSTREAM.plans["c2"] = [GatewayError("timeout", "c2 slow")]
    with pytest.raises(GatewayError, match="c2 slow"):
        await forward(gateway, "solo")
    assert all(n == 0 for n in inflight(gateway).values())
