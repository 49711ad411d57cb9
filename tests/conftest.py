"""Shared fixtures: the real gateway on loopback; the plugins: the upstream simulator (tests/sim) and the
stores (tests/store/fixtures.py: SQLite/Postgres stores, Redis namespaces, data directories)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .gateway_harness import FIXTURES, ProcessGateway, ThreadGateway, track

pytest_plugins = ["tests.sim.pytest_plugin", "tests.store.fixtures"]

KEY = "sk-test-client"


# --- tests/fixtures is read-only: checked once per run, by the controller when running under xdist --------

_FIXTURES_KEY = pytest.StashKey[dict[str, tuple[int, int]]]()


def _fixtures_state() -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(FIXTURES)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(FIXTURES.rglob("*")) if p.is_file()}  # fmt: skip


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):
        session.config.stash[_FIXTURES_KEY] = _fixtures_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_FIXTURES_KEY, None)
    if before is None:
        return
    after = _fixtures_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = "tests/fixtures was written during the run (it must stay read-only): " + ", ".join(changed)
        if tr is not None:
            tr.write("\n")
            tr.write_line(msg, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def start_gateway() -> Iterator[Callable[[str], ThreadGateway]]:
    """``start_gateway(yaml_text)`` -> a running in-thread gateway (stopped after the test)."""
    started: list[ThreadGateway] = []

    def start(config_text: str) -> ThreadGateway:
        gw = ThreadGateway(config_text).start()
        started.append(gw)
        track(gw)
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
        track(p)
        return p

    yield spawn
    for p in procs:
        p.cleanup()


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    return os.environ.get("ANY2API_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("ANY2API_TEST_REDIS_URL")
