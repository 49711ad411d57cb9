"""Client keys from the store, and their limits: requests and tokens per minute in a sliding window,
a token budget, expiry and revocation; 429 with Retry-After when a limit is reached.

A real store (SQLite in tmp_path) and the real ``KeyAuth``; time is a clock the test moves (the window is a
minute long), handed to ``any2api.keys`` in place of the ``time`` module. The Redis-backed variant (shared
by instances) runs when ANY2API_TEST_REDIS_URL is set.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import any2api.keys
from any2api.auth import Client
from any2api.core.errors import GatewayError
from any2api.core.response import Usage
from any2api.gateway import UsageRecord
from any2api.keys import KeyAuth
from any2api.store.shared import Shared
from any2api.store.store import Store

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(any2api.keys, "time", SimpleNamespace(time=c.time, monotonic=time.monotonic))
    return c


@pytest.fixture
async def sqlite_store(tmp_path: Path, data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite:///{tmp_path / 'keys.db'}")
    yield s
    await s.close()


@pytest.fixture
async def auth(sqlite_store: Store) -> AsyncIterator[KeyAuth]:
    a = KeyAuth(sqlite_store, admin_key="the-admin-key", refresh_interval=0)
    await a.reload()
    yield a
    await a.close()


NewKey = Callable[..., Awaitable[str]]


@pytest.fixture
def new_key(sqlite_store: Store, auth: KeyAuth) -> NewKey:
    """``await new_key(rpm=..., ...)`` -> the secret of a key created in the store and known to ``auth``."""

    async def make(**limits: Any) -> str:
        row, secret = await sqlite_store.keys.create("k", **limits)
        await auth.reload_key(row.id, publish=False)
        return secret

    return make


def spend(auth: KeyAuth, client: Client, tokens: int) -> None:
    """What the gateway reports after a request: usage for the key that made it."""
    auth.record_usage(UsageRecord(client, "m", "p", "p#0", Usage(tokens, 0), 1.0, 200))


async def rate_limited(auth: KeyAuth, secret: str) -> GatewayError:
    with pytest.raises(GatewayError) as e:
        await auth.authenticate(secret)
    return e.value


# --- who gets in --------------------------------------------------------------------------------------------


async def test_a_store_key_authenticates_to_its_client(auth: KeyAuth, new_key: NewKey) -> None:
    secret = await new_key(allowed_models=frozenset({"m"}))
    client = await auth.authenticate(secret)
    assert client.name == "k"
    assert client.allowed_models == frozenset({"m"})
    assert not client.is_admin


async def test_the_admin_key_from_the_config_is_an_admin(auth: KeyAuth) -> None:
    client = await auth.authenticate("the-admin-key")
    assert client.is_admin


@pytest.mark.parametrize(
    ("token", "code"), [(None, "missing_api_key"), ("", "missing_api_key"), ("nope", "invalid_api_key")]
)
async def test_missing_and_unknown_keys_are_401(auth: KeyAuth, token: str | None, code: str) -> None:
    with pytest.raises(GatewayError) as e:
        await auth.authenticate(token)
    assert (e.value.kind, e.value.status, e.value.code) == ("authentication", 401, code)


async def test_a_key_expires_at_its_time(auth: KeyAuth, new_key: NewKey, clock: Clock) -> None:
    secret = await new_key(expires_at=clock.now + 10)
    await auth.authenticate(secret)
    clock.advance(10)
    with pytest.raises(GatewayError) as e:
        await auth.authenticate(secret)
    assert (e.value.status, e.value.code) == (401, "api_key_expired")


async def test_a_revoked_key_is_refused_at_once(auth: KeyAuth, new_key: NewKey, sqlite_store: Store) -> None:
    secret = await new_key()
    client = await auth.authenticate(secret)
    await sqlite_store.keys.revoke(client.key_id)
    await auth.reload_key(client.key_id, publish=False)
    with pytest.raises(GatewayError) as e:
        await auth.authenticate(secret)
    assert (e.value.status, e.value.code) == (401, "invalid_api_key")


async def test_a_key_created_elsewhere_is_found_in_the_store_without_a_reload(
    auth: KeyAuth, sqlite_store: Store
) -> None:
    _, secret = await sqlite_store.keys.create("made by another instance")
    client = await auth.authenticate(secret)
    assert client.name == "made by another instance"


# --- requests per minute ------------------------------------------------------------------------------------


async def test_rpm_admits_that_many_requests_per_sliding_minute(
    auth: KeyAuth, new_key: NewKey, clock: Clock
) -> None:
    secret = await new_key(rpm=3)
    for _ in range(3):
        await auth.authenticate(secret)
        clock.advance(10)  # requests at t=0, 10, 20
    err = await rate_limited(auth, secret)  # t=30: the first one is 30 s old
    assert (err.kind, err.status, err.code) == ("rate_limit", 429, "rate_limit_exceeded")
    assert err.retry_after == 30
    assert "3 requests per minute" in err.message
    clock.advance(29)  # t=59: still inside the window
    assert (await rate_limited(auth, secret)).retry_after == 1
    clock.advance(1)  # t=60: the request of t=0 left the window
    await auth.authenticate(secret)
    assert (await rate_limited(auth, secret)).retry_after == 10  # next to leave: t=10 at t=70


async def test_refused_requests_do_not_count(auth: KeyAuth, new_key: NewKey, clock: Clock) -> None:
    secret = await new_key(rpm=1)
    await auth.authenticate(secret)
    for _ in range(5):
        await rate_limited(auth, secret)
        clock.advance(10)
    clock.advance(10)  # t=60
    await auth.authenticate(secret)


async def test_each_key_has_its_own_window(auth: KeyAuth, new_key: NewKey) -> None:
    a, b = await new_key(rpm=1), await new_key(rpm=1)
    await auth.authenticate(a)
    await auth.authenticate(b)
    await rate_limited(auth, a)


async def test_keys_without_limits_are_never_limited(auth: KeyAuth, new_key: NewKey) -> None:
    secret = await new_key()
    for _ in range(200):
        await auth.authenticate(secret)


# --- tokens per minute and the budget -------------------------------------------------------------------------


async def test_tpm_stops_a_key_once_a_minute_of_usage_reaches_it(
    auth: KeyAuth, new_key: NewKey, clock: Clock
) -> None:
    secret = await new_key(tpm=100)
    client = await auth.authenticate(secret)
    spend(auth, client, 60)
    clock.advance(20)
    await auth.authenticate(secret)
    spend(auth, client, 40)  # 100 tokens within the minute
    err = await rate_limited(auth, secret)
    assert (err.status, err.code) == (429, "rate_limit_exceeded")
    assert "100 tokens per minute" in err.message
    assert err.retry_after == 40  # the 60 tokens of t=0 leave the window at t=60
    clock.advance(40)
    await auth.authenticate(secret)  # only the 40 of t=20 are left


async def test_a_token_budget_is_spent_for_good(auth: KeyAuth, new_key: NewKey, clock: Clock) -> None:
    secret = await new_key(token_budget=50)
    client = await auth.authenticate(secret)
    spend(auth, client, 49)
    await auth.authenticate(secret)
    spend(auth, client, 1)
    with pytest.raises(GatewayError) as e:
        await auth.authenticate(secret)
    assert (e.value.kind, e.value.status, e.value.code) == ("quota_exceeded", 429, "insufficient_quota")
    assert not e.value.retryable
    clock.advance(86400)
    with pytest.raises(GatewayError):
        await auth.authenticate(secret)


async def test_usage_without_tokens_or_of_other_keys_is_ignored(auth: KeyAuth, new_key: NewKey) -> None:
    secret = await new_key(token_budget=10)
    client = await auth.authenticate(secret)
    spend(auth, client, 0)
    spend(auth, Client(key_id="someone-else"), 1000)
    auth.record_usage(UsageRecord(client, "m", "p", "p#0", None, 1.0, 502))
    await auth.authenticate(secret)


# --- shared by instances (Redis) ------------------------------------------------------------------------------


async def test_rpm_is_shared_by_instances_through_redis(
    sqlite_store: Store, shared_factory: Callable[[], Awaitable[Shared]]
) -> None:
    one, two = await shared_factory(), await shared_factory()
    a, b = KeyAuth(sqlite_store, one, refresh_interval=0), KeyAuth(sqlite_store, two, refresh_interval=0)
    _, secret = await sqlite_store.keys.create("shared", rpm=3)
    await a.reload()
    await b.reload()
    try:
        await a.authenticate(secret)
        await b.authenticate(secret)
        await a.authenticate(secret)
        err = await rate_limited(b, secret)
        assert (err.status, err.code) == (429, "rate_limit_exceeded")
        assert err.retry_after is not None
        assert 1 <= err.retry_after <= 60
    finally:
        await a.close()
        await b.close()
