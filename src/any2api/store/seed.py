"""Seed the store from the config file, once per item: every provider key becomes an account and every
``auth.keys`` entry a client key. An item seeded before is never seeded again, so what an admin changed or
removed at runtime stays that way across restarts; a key added to the file later is seeded on the next start."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from ..auth import hash_key
from ..config import Config
from .store import Store


@dataclass(slots=True)
class SeedReport:
    accounts: int = 0
    keys: int = 0


async def seed_from_config(store: Store, config: Config, default_max_inflight: int = 0) -> SeedReport:
    for attempt in range(3):  # another instance may be seeding the same items right now
        try:
            return await _seed(store, config, default_max_inflight)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _seed(store: Store, config: Config, default_max_inflight: int) -> SeedReport:
    report = SeedReport()
    done = await store.settings.seeded("account")
    rows = []
    refs = []
    for p in config.providers:
        keys: list[str | None] = list(p.api_keys) or [None]
        for i, k in enumerate(keys):
            ref = f"{p.name}:{store.box.fingerprint(k)}"
            refs.append(ref)
            if ref in done:
                continue
            rows.append(
                store.accounts.new(
                    p.name, k, label=f"{p.name} key {i + 1}" if k else p.name,
                    max_inflight=default_max_inflight if k else 0, source="config",
                )
            )  # fmt: skip
    added, _ = await store.accounts.add_many(rows)
    report.accounts = len(added)
    await store.settings.mark_seeded("account", refs)

    done = await store.settings.seeded("key")
    digests = []
    for i, k in enumerate(config.auth_keys):
        h = hash_key(k)
        digests.append(h)
        if h in done or await store.keys.by_hash(h) is not None:
            continue
        await store.keys.create(f"config key {i + 1}", secret=k, source="config")
        report.keys += 1
    await store.settings.mark_seeded("key", digests)
    return report
