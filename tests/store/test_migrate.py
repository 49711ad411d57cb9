import asyncio
import time
from pathlib import Path

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from any2api.store.engine import make_engine
from any2api.store.migrate import current_revision, downgrade_engine, head_revision, upgrade_engine
from any2api.store.schema import metadata, settings
from any2api.store.store import Store

pytestmark = pytest.mark.anyio

TABLES = {
    "accounts",
    "client_keys",
    "usage_records",
    "settings",
    "seeds",
    "runtime_providers",
    "alembic_version",
}


async def test_open_migrates_to_head_and_schema_matches_metadata(store: Store) -> None:
    assert await current_revision(store.engine) == head_revision() is not None

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names == TABLES


async def test_upgrade_again_is_a_no_op_and_downgrade_removes_everything(
    store_url: str, data_dir: Path
) -> None:
    engine, schema = make_engine(store_url)
    try:
        await upgrade_engine(engine, schema)
        await upgrade_engine(engine, schema)
        assert await current_revision(engine) == head_revision()
        await downgrade_engine(engine, schema, "base")
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert names <= {"alembic_version"}
        assert await current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_instances_starting_together_migrate_once(store_url: str, data_dir: Path) -> None:
    stores = await asyncio.gather(*(Store.open(store_url) for _ in range(3)))
    try:
        for s in stores:
            assert await current_revision(s.engine) == head_revision()
    finally:
        for s in stores:
            await s.close()


async def _put_setting(engine: object, key: str, value: object) -> None:
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            insert(settings).values(key=key, value=orjson.dumps(value).decode(), updated_at=time.time())
        )


async def test_runtime_providers_move_from_settings_to_their_own_table_and_back(
    store_url: str, data_dir: Path
) -> None:
    """A 0001 database kept runtime providers as settings entries ``provider:<name>``; 0002 moves them (still
    encrypted) into ``runtime_providers``; a downgrade moves them back."""
    engine, schema = make_engine(store_url)
    try:
        await upgrade_engine(engine, schema, "0001")
        # what 0001's ProviderRepo wrote: the block encrypted under the store's key, in a settings entry
        first = await Store.open(store_url, migrate=False)
        block = {"name": "plainbot", "type": "openai", "base_url": "http://h", "api_keys": ["sk-secret-1"]}
        secret = first.box.encrypt(orjson.dumps(block).decode())
        await first.close()
        await _put_setting(
            engine, "provider:plainbot", {"secret": secret, "created_at": 100.0, "updated_at": 200.0}
        )
        later = {"name": "second", "type": "openai"}
        await _put_setting(
            engine, "provider:second",
            {"secret": first.box.encrypt(orjson.dumps(later).decode()), "created_at": 50.0, "updated_at": 60.0},
        )  # fmt: skip
        await _put_setting(engine, "models", {"fast": ["plainbot/m"]})

        await upgrade_engine(engine, schema)
        assert await current_revision(engine) == head_revision()
        store = await Store.open(store_url)
        try:
            recs = await store.providers.all()
            assert [(r.name, r.created_at, r.updated_at) for r in recs] == [
                ("second", 50.0, 60.0), ("plainbot", 100.0, 200.0),
            ]  # fmt: skip
            assert recs[1].block == block
            assert recs[0].block == later
            values = await store.settings.values()
            assert not any(k.startswith("provider:") for k in values)
            assert values["models"] == {"fast": ["plainbot/m"]}
            async with store.engine.connect() as conn:
                raw = (await conn.execute(select(settings.c.value))).scalars().all()
            assert all("sk-secret-1" not in v for v in raw)
            # still working as a repository: replace keeps the creation time, delete removes
            again = await store.providers.put("plainbot", block | {"models": ["m2"]})
            assert again.created_at == 100.0
            assert again.updated_at > 200.0
            assert await store.providers.delete("second") is True
            assert await store.providers.delete("second") is False
        finally:
            await store.close()

        await downgrade_engine(engine, schema, "0001")
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            rows = dict((await conn.execute(select(settings.c.key, settings.c.value))).all())
        assert "runtime_providers" not in names
        moved_back = orjson.loads(rows["provider:plainbot"])
        assert moved_back["created_at"] == 100.0
        assert moved_back["secret"] != secret
        assert "provider:second" not in rows
        await upgrade_engine(engine, schema)
        store = await Store.open(store_url)
        try:
            assert [(r.name, r.block["models"]) for r in await store.providers.all()] == [
                ("plainbot", ["m2"])
            ]
        finally:
            await store.close()
    finally:
        await engine.dispose()
