"""pytest fixtures for the simulator. Register with ``pytest_plugins = ["tests.sim.pytest_plugin"]``.

* ``sim_server``: one simulator for the whole session.
* ``sim``: the same server, cleared before and after each test; the test fails if the simulator
  recorded errors (unknown ``[[sim:NAME]]``, a script step the dialect cannot express, a crash).
* ``fixtures_dir``: the recorded fixtures in ``tests/fixtures``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .fixtures import FIXTURES_DIR
from .server import SimServer


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    with SimServer() as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> Iterator[SimServer]:
    sim_server.clear()
    yield sim_server
    errors = sim_server.errors
    sim_server.clear()
    if errors:
        pytest.fail("simulator errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES_DIR
