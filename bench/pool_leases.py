"""Micro-benchmark of the account pool and the gateway's retry loop, in-process (no network, no Redis).

    .venv/bin/python bench/pool_leases.py [N]

Prints leases per second (``Pool.acquire`` + ``lease.release``, what the gateway does per attempt) for each
strategy over four in-memory accounts, and hub streams per second through ``Gateway.events`` with a
provider that yields one event. Best of three runs of N (default 200000), in CPU time of this process
(steadier than wall time when the cores are shared)."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncGenerator

import uvloop

from any2api.auth import Client
from any2api.config import parse_config
from any2api.core.events import Event, ResponseStart
from any2api.core.request import ChatRequest
from any2api.gateway import Gateway
from any2api.providers.base import Account
from any2api.routing.pool import Pool
from any2api.routing.pool_ports import AccountRecord
from any2api.routing.pool_settings import STRATEGIES, PoolSettings

CONFIG = "providers:\n  - {name: p, type: openai, base_url: 'http://127.0.0.1:9', models: [m]}\n"


class Accounts:
    def __init__(self, n: int) -> None:
        self.rows = [AccountRecord(f"a{i}", "p", f"sk-{i}", max_inflight=0, created_at=i) for i in range(n)]

    async def all(self) -> list[AccountRecord]:
        return list(self.rows)

    async def get(self, account_id: str) -> AccountRecord | None:
        return next((r for r in self.rows if r.id == account_id), None)

    async def save_health(self, record: AccountRecord) -> None:
        return None


class NoAuth:
    async def authenticate(self, token: str | None) -> Client:
        return Client("bench")


def best_of(runs: list[float]) -> str:
    return f"{max(runs):>12,.0f}/s"


async def main(n: int) -> None:
    config = parse_config(CONFIG, "(bench)")
    for strategy in STRATEGIES:
        pool = Pool(Accounts(4), config.providers, PoolSettings(strategy=strategy))
        await pool.reload()
        runs = []
        for _ in range(3):
            t0 = time.process_time()
            for _ in range(n):
                lease = await pool.acquire("p")
                lease.release(None)
            runs.append(n / (time.process_time() - t0))
        print(f"pool acquire+release  {strategy:15s}{best_of(runs)}")

    pool = Pool(Accounts(4), config.providers)
    await pool.reload()
    gw = Gateway(config, pool=pool, auth=NoAuth())

    async def stream(req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        yield ResponseStart(id="r", model=model, created=0)

    gw.providers["p"].stream = stream  # type: ignore[method-assign]
    routes = gw.router.resolve("p/m")
    req = ChatRequest(model="m", messages=[])
    runs = []
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(n // 2):
            async for _ev in gw.events(req, routes):
                pass
        runs.append((n // 2) / (time.process_time() - t0))
    print(f"Gateway.events, 1 event{' ' * 14}{best_of(runs)}")
    await gw.close()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
