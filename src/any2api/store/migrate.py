"""Apply the packaged Alembic migrations (on start and by ``any2api db upgrade``).

Runs inside one transaction, and never twice at once: on Postgres under an advisory lock, on SQLite under a
lock file beside the database, and within a process under a lock (Alembic's runtime context is global)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
import zlib
from collections.abc import AsyncIterator
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "any2api:alembic"


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(conn: Connection, target: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)


def _downgrade(conn: Connection, target: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, target)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def _prepare(conn: Any, schema: str | None) -> None:
    if conn.dialect.name != "postgresql":
        return
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"any2api:{schema}".encode())}
    )
    if schema:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


_PROCESS_LOCK = threading.Lock()


@contextlib.asynccontextmanager
async def _exclusive(engine: AsyncEngine) -> AsyncIterator[None]:
    await asyncio.to_thread(_PROCESS_LOCK.acquire)
    fd: int | None = None
    try:
        db = engine.url.database
        if engine.dialect.name == "sqlite" and db and db != ":memory:":
            fd = os.open(f"{db}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # also releases the flock
        _PROCESS_LOCK.release()


async def upgrade_engine(engine: AsyncEngine, schema: str | None = None, target: str = "head") -> None:
    async with _exclusive(engine), engine.begin() as conn:
        await _prepare(conn, schema)
        await conn.run_sync(_upgrade, target)


async def downgrade_engine(engine: AsyncEngine, schema: str | None = None, target: str = "base") -> None:
    async with _exclusive(engine), engine.begin() as conn:
        await _prepare(conn, schema)
        await conn.run_sync(_downgrade, target)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
