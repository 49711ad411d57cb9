"""End to end with the gateway as real subprocesses: runtime changes survive a restart (SQLite and
Postgres, with and without Redis); two instances sharing Postgres + Redis hold a per-key rpm limit and a
per-account in-flight limit between them; killing one mid-request leaves the other serving, limits intact."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.admin.harness import Admin, chat, gateway_config
from tests.rawhttp import Reply
from tests.sim.script import Delay, Script, Text
from tests.sim.script import Usage as SimUsage
from tests.sim.server import SimServer

Spawn = Callable[..., Any]


def _env(data_dir: Path) -> dict[str, str]:
    return {"ANY2API_DATA_DIR": str(data_dir)}


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


class Background:
    """A request sent from a thread (to hold it in flight while the test goes on)."""

    def __init__(self, fn: Callable[[], Reply]) -> None:
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self._t = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._t.start()

    def _run(self, fn: Callable[[], Reply]) -> None:
        try:
            self.reply = fn()
        except BaseException as e:
            self.error = e

    def join(self, timeout: float = 30) -> Reply | None:
        self._t.join(timeout)
        assert not self._t.is_alive(), "request did not finish"
        return self.reply


@pytest.mark.parametrize("with_redis", [False, True], ids=["no-redis", "redis"])
def test_restart_keeps_every_runtime_change_and_all_usage(
    with_redis: bool,
    spawn_gateway: Spawn,
    sim: SimServer,
    store_url: str,
    data_dir: Path,
    redis_cleanup: list[str],
) -> None:
    redis = os.environ.get("ANY2API_TEST_REDIS_URL")
    if with_redis and not redis:
        pytest.skip("ANY2API_TEST_REDIS_URL is not set")
    redis_cleanup.append(store_url)
    text = gateway_config(sim.url, store_url, redis if with_redis else None)
    gw = spawn_gateway(text, env=_env(data_dir))
    admin = Admin(gw.url).login()
    cfg_acc = admin.account_by_label("sim key 1")
    admin.ok("PATCH", f"/accounts/{cfg_acc['id']}", {"enabled": False})
    added = admin.ok("POST", "/accounts", {"provider": "sim", "api_key": "sk-runtime-added", "label": "rt",
                                           "weight": 4, "max_inflight": 3})["account"]  # fmt: skip
    key = admin.ok("POST", "/keys", {"name": "persisted", "models": ["fast", "sim-gpt"], "rpm": 1000})
    gone = admin.ok("POST", "/keys", {"name": "revoked"})
    admin.ok("DELETE", f"/keys/{gone['id']}")
    admin.ok("POST", "/config", {"models": {"fast": ["sim/sim-gpt"]}, "pool": {"strategy": "least_inflight"}})
    sim.default = Script.text("ok", usage=SimUsage(5, 2))
    n = 25
    for _ in range(n):
        assert chat(gw.url, key["key"], "fast").status == 200
    assert gw.stop() in (
        0,
        -signal.SIGTERM,
    )  # clean shutdown (uvicorn re-raises the signal): usage is written
    assert {q.api_key for q in sim.chat_requests} == {"sk-runtime-added"}

    gw2 = spawn_gateway(text, env=_env(data_dir))
    admin2 = Admin(gw2.url).login()
    st = {a["label"]: a for a in admin2.ok("GET", "/queue/status")["accounts"]}
    assert st["sim key 1"]["status"] == "disabled"
    assert (st["rt"]["weight"], st["rt"]["max_inflight"]) == (4, 3)
    assert admin2.ok("GET", "/queue/status")["strategy"] == "least_inflight"
    usage = admin2.ok("GET", "/usage")
    assert usage["totals"]["requests"] == n
    assert usage["totals"]["input_tokens"] == 5 * n
    keys = {k["name"]: k for k in admin2.ok("GET", "/keys")["keys"]}
    assert keys["persisted"]["tokens_used"] == 7 * n
    assert keys["revoked"]["status"] == "revoked"
    assert chat(gw2.url, key["key"], "fast").status == 200
    assert chat(gw2.url, gone["key"]).status == 401
    assert st["rt"]["id"] == added["id"]


def _shared_urls() -> tuple[str, str]:
    pg = os.environ.get("ANY2API_TEST_POSTGRES_URL")
    redis = os.environ.get("ANY2API_TEST_REDIS_URL")
    if not pg or not redis:
        pytest.skip("needs ANY2API_TEST_POSTGRES_URL and ANY2API_TEST_REDIS_URL")
    return pg, redis


@pytest.fixture
def two_instances(
    spawn_gateway: Spawn, sim: SimServer, pg_store_url: str, data_dir: Path, redis_cleanup: list[str]
) -> tuple[Any, Any, Admin, Admin]:
    _, redis = _shared_urls()
    redis_cleanup.append(pg_store_url)
    text = gateway_config(sim.url, pg_store_url, redis)
    a = spawn_gateway(text, env=_env(data_dir), name="a.yaml")
    b = spawn_gateway(text, env=_env(data_dir), name="b.yaml")
    return a, b, Admin(a.url).login(), Admin(b.url).login()


def test_two_instances_hold_one_per_key_rpm_limit(two_instances: Any) -> None:
    a, b, admin_a, admin_b = two_instances
    key = admin_a.ok("POST", "/keys", {"name": "shared", "rpm": 4})
    statuses = [chat((a if i % 2 else b).url, key["key"]).status for i in range(9)]
    assert statuses.count(200) == 4
    assert statuses.count(429) == 5
    assert statuses[:4] == [200, 200, 200, 200]
    assert admin_b.ok("GET", "/keys")["keys"][0]["rpm"] == 4


def test_two_instances_hold_one_per_account_inflight_limit(two_instances: Any, sim: SimServer) -> None:
    a, b, admin_a, admin_b = two_instances
    acc = admin_a.account_by_label("sim key 1")
    admin_a.ok("PATCH", f"/accounts/{acc['id']}", {"max_inflight": 1})
    _wait(lambda: admin_b.status_of(acc["id"])["max_inflight"] == 1)  # b hears of it through Redis
    key = admin_a.ok("POST", "/keys", {"name": "k"})["key"]
    sim.enqueue(Script([Delay(2.0), Text("first")]))
    first = Background(lambda: chat(a.url, key, text="first"))
    _wait(lambda: len(sim.chat_requests) == 1)
    second = Background(lambda: chat(b.url, key, text="second"))
    _wait(lambda: admin_b.ok("GET", "/queue/status")["queue_size"] == 1)  # b waits for a's slot
    assert len(sim.chat_requests) == 1
    assert admin_b.status_of(acc["id"])["in_flight"] == 1
    r1, r2 = first.join(), second.join()
    assert r1 is not None
    assert r1.status == 200
    assert r2 is not None
    assert r2.status == 200
    reqs = sim.chat_requests
    assert len(reqs) == 2
    assert reqs[0].done.is_set()  # the second went upstream only after the first had been answered
    assert reqs[1].seq > reqs[0].seq


def test_killed_instance_mid_request_other_keeps_serving_with_limits(
    two_instances: Any, sim: SimServer
) -> None:
    a, b, admin_a, admin_b = two_instances
    acc = admin_a.account_by_label("sim key 1")
    admin_a.ok("PATCH", f"/accounts/{acc['id']}", {"max_inflight": 1})
    admin_a.ok("POST", "/config", {"pool": {"lease_ttl": 2, "queue_timeout": 20}})
    _wait(lambda: admin_b.ok("GET", "/config")["pool"]["lease_ttl"] == 2)
    key = admin_a.ok("POST", "/keys", {"name": "k", "rpm": 3})["key"]
    sim.enqueue(Script([Delay(30.0), Text("never delivered")]))
    doomed = Background(lambda: chat(a.url, key, text="doomed"))
    _wait(lambda: len(sim.chat_requests) == 1)
    a.kill()
    doomed.join()
    r = chat(b.url, key, text="after the kill")  # waits in b's queue until the lease expires
    assert r.status == 200, r.body
    assert chat(b.url, key).status == 200
    r = chat(b.url, key)  # 3 per minute, counting the request made on the killed instance
    assert r.status == 429
    assert int(r.headers["retry-after"]) >= 1
