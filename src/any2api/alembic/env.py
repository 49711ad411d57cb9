"""Alembic environment: runs on the connection ``any2api.store.migrate`` hands over.

Used standalone (``alembic -c ...``) it opens the URL in ``sqlalchemy.url`` (or ``ANY2API_DATABASE_URL``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from any2api.store.engine import make_engine
from any2api.store.migrate import upgrade_engine
from any2api.store.schema import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _standalone_url() -> str | None:
    return config.get_main_option("sqlalchemy.url") or os.environ.get("ANY2API_DATABASE_URL")


def _run_offline() -> None:
    url = _standalone_url()
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    engine, schema = make_engine(_standalone_url())
    try:
        await upgrade_engine(engine, schema, config.get_main_option("target_revision") or "head")
    finally:
        await engine.dispose()


def _run_online() -> None:
    conn: Any = config.attributes.get("connection")
    if conn is None:
        asyncio.run(_run_standalone())
        return
    _configure(conn)


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
