"""Store fixtures, a pytest plugin (registered in tests/conftest.py) for tests/store, tests/admin and
tests/routing/test_store_pool.py.

``store_url`` runs a test once per backend: SQLite (a file in tmp_path) and Postgres (a fresh schema in the
database named by ANY2API_TEST_POSTGRES_URL, dropped afterwards; skipped when unset). ``redis_url_or_skip``
gives ANY2API_TEST_REDIS_URL (skipped when unset); ``shared`` a Shared namespace of its own (keys removed
afterwards)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from any2api.store.engine import make_engine
from any2api.store.shared import Shared
from any2api.store.store import Store, url_identity
from tests.gateway_harness import stop_running_gateways


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's data directory, and a secret key of its own in ANY2API_SECRET_KEY (so every gateway,
    CLI run and Store of the test can read the same store, whatever data directory each one uses)."""
    d = tmp_path / "data"
    monkeypatch.setenv("ANY2API_DATA_DIR", str(d))
    monkeypatch.setenv("ANY2API_SECRET_KEY", uuid.uuid4().hex)
    return d


def postgres_base() -> str | None:
    return os.environ.get("ANY2API_TEST_POSTGRES_URL")


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def drop_schema(url: str) -> None:
    engine, schema = make_engine(url)
    try:
        for attempt in range(5):
            try:
                async with engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                return
            except DBAPIError as e:  # a connection of a killed gateway not yet gone: deadlock, try again
                if "deadlock" not in str(e) or attempt == 4:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


def drop_after_test(url: str) -> None:
    """Drop a test's schema once every gateway that may still write to it has stopped."""
    stop_running_gateways()
    run_in_thread(drop_schema(url))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not postgres_base():
        pytest.skip("ANY2API_TEST_POSTGRES_URL is not set")
    return str(request.param)


def run_in_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion on a loop of its own (usable from sync fixtures and tests)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = postgres_base()
    assert base
    url = with_schema(base, f"t_{uuid.uuid4().hex[:16]}")
    yield url
    drop_after_test(url)


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A fresh Postgres schema (for tests that only make sense on Postgres)."""
    base = postgres_base()
    if not base:
        pytest.skip("ANY2API_TEST_POSTGRES_URL is not set")
    url = with_schema(base, f"t_{uuid.uuid4().hex[:16]}")
    yield url
    drop_after_test(url)


@pytest.fixture
async def store(store_url: str, data_dir: Path) -> AsyncIterator[Store]:
    s = await Store.open(store_url)
    yield s
    await s.close()


@pytest.fixture
def redis_url_or_skip() -> str:
    url = os.environ.get("ANY2API_TEST_REDIS_URL")
    if not url:
        pytest.skip("ANY2API_TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def clear_namespace(url: str, ns: str) -> None:
    s = Shared(url, ns)
    try:
        keys = [k async for k in s.redis.scan_iter(match=f"{s.ns}*")]
        if keys:
            await s.redis.delete(*keys)
    finally:
        await s.redis.aclose()


@pytest.fixture
async def shared_factory(redis_url_or_skip: str, namespace: str) -> AsyncIterator[object]:
    """``await make()`` -> a started Shared in this test's namespace (an "instance"); all closed after."""
    made: list[Shared] = []

    async def make() -> Shared:
        s = Shared(redis_url_or_skip, namespace)
        await s.start()
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()
    await clear_namespace(redis_url_or_skip, namespace)


@pytest.fixture
def redis_cleanup() -> Iterator[list[str]]:
    """Append store URLs whose Redis namespaces (used by gateway subprocesses) are removed afterwards."""
    urls: list[str] = []
    yield urls
    redis = os.environ.get("ANY2API_TEST_REDIS_URL")
    if redis:
        for u in urls:
            run_in_thread(clear_namespace(redis, url_identity(u)))


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite-specific")
