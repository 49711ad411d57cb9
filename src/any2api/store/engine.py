"""Database URLs and engines: SQLite (default, a file in the data directory) or Postgres via asyncpg.

A Postgres URL may carry ``?schema=NAME``: the store then lives in that schema (created when missing),
which lets several deployments -- or concurrent test runs -- share one database."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def data_dir() -> Path:
    """The data directory (``ANY2API_DATA_DIR``, default ``./data``), created on first use."""
    d = Path(os.environ.get("ANY2API_DATA_DIR") or "data")
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_url() -> str:
    return f"sqlite+aiosqlite:///{(data_dir() / 'any2api.db').resolve()}"


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600, like ``secret.key``): it holds key digests
    and encrypted secrets. SQLite gives its journal and WAL files the same mode. An existing file is left
    as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class StoreURLError(ValueError):
    pass


def normalize_url(url: str | None) -> tuple[URL, str | None]:
    """The async-driver URL and the Postgres schema (``?schema=``), from what an operator writes."""
    raw = url or default_url()
    try:
        u = make_url(raw)
    except Exception as e:
        raise StoreURLError(f"database_url is not a valid database URL: {e}") from None
    backend = u.get_backend_name()
    schema: str | None = None
    if backend == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
        if u.database and u.database != ":memory:":
            path = Path(u.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
    elif backend in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
        q = dict(u.query)
        s = q.pop("schema", None)
        if isinstance(s, tuple):
            s = s[-1]
        if s is not None:
            if not _SCHEMA_NAME.match(s):
                raise StoreURLError(f"database_url: schema {s!r} is not a plain identifier")
            schema = s
        u = u.set(query=q)
    else:
        raise StoreURLError(f"database_url: unsupported database {backend!r} (use sqlite or postgresql)")
    return u, schema


def redacted(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def make_engine(url: str | None) -> tuple[AsyncEngine, str | None]:
    u, schema = normalize_url(url)
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        if u.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(u, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            if u.database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine, None
    if schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=10, **kwargs)
    return engine, schema
