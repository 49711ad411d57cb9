"""Shared fixtures: the real gateway on loopback; the plugins: the upstream simulator (tests/sim) and the
stores (tests/store/fixtures.py: SQLite/Postgres stores, Redis namespaces, data directories)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .gateway_harness import ProcessGateway, ThreadGateway

pytest_plugins = ["tests.sim.pytest_plugin", "tests.store.fixtures"]

KEY = "sk-test-client"


@pytest.fixture
def start_gateway() -> Iterator[Callable[[str], ThreadGateway]]:
    """``start_gateway(yaml_text)`` -> a running in-thread gateway (stopped after the test)."""
    started: list[ThreadGateway] = []

    def start(config_text: str) -> ThreadGateway:
        gw = ThreadGateway(config_text).start()
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture
def spawn_gateway(tmp_path: Path) -> Iterator[Callable[..., ProcessGateway]]:
    """``spawn_gateway(yaml_text, env=..., port=...)`` -> ``any2api serve`` as a subprocess."""
    procs: list[ProcessGateway] = []

    def spawn(config_text: str, env: dict[str, str] | None = None, port: int | None = None,
              name: str = "config.yaml") -> ProcessGateway:  # fmt: skip
        path = tmp_path / name
        path.write_text(config_text)
        p = ProcessGateway(path, port=port, env=env).start()
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        p.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    return os.environ.get("ANY2API_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("ANY2API_TEST_REDIS_URL")
