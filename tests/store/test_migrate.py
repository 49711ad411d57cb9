import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from any2api.store.engine import make_engine
from any2api.store.migrate import current_revision, downgrade_engine, head_revision, upgrade_engine
from any2api.store.schema import metadata
from any2api.store.store import Store

pytestmark = pytest.mark.anyio

TABLES = {"accounts", "client_keys", "usage_records", "settings", "seeds", "alembic_version"}


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
