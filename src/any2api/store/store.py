"""The store: one database handle, migrated on open, composing a repository per table."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from .accounts import AccountRepo
from .client_keys import KeyRepo
from .crypto import SecretBox, SecretKeyError, load_master_key
from .db import Database
from .engine import data_dir, make_engine, normalize_url, redacted
from .migrate import upgrade_engine
from .providers import ProviderRepo
from .settings import SettingsRepo
from .usage import UsageRepo

_CHECK = "secret_key_check"
_CHECK_TEXT = "any2api"


def identity_of(redacted_url: str, schema: str | None) -> str:
    return hashlib.sha256(f"{redacted_url}|{schema}".encode()).hexdigest()[:12]


def url_identity(url: str | None) -> str:
    """The identity of the store a database URL names (its Redis namespace)."""
    u, schema = normalize_url(url)
    return identity_of(redacted(u), schema)


class Store:
    def __init__(self, engine: AsyncEngine, schema: str | None, box: SecretBox, url: str) -> None:
        self.db = Database(engine, schema)
        self.box = box
        self.url = url
        """The URL with its password hidden."""
        self.accounts = AccountRepo(self.db, box)
        self.keys = KeyRepo(self.db)
        self.usage = UsageRepo(self.db)
        self.settings = SettingsRepo(self.db)
        self.providers = ProviderRepo(self.db, box)

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    @property
    def schema(self) -> str | None:
        return self.db.schema

    @property
    def identity(self) -> str:
        """A short name for this database (instances sharing it share Redis keys under it)."""
        return identity_of(self.url, self.schema)

    @property
    def backend(self) -> str:
        return self.db.dialect

    @classmethod
    async def open(
        cls, url: str | None = None, *, migrate: bool = True, directory: Path | None = None
    ) -> Store:
        """Connect (default: SQLite in the data directory), apply migrations, and check the secret key."""
        box = SecretBox(load_master_key(directory or data_dir()))
        u, _ = normalize_url(url)
        engine, schema = make_engine(url)
        store = cls(engine, schema, box, redacted(u))
        try:
            if migrate:
                await upgrade_engine(engine, schema)
            await store._check_key()
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def _check_key(self) -> None:
        token = await self.settings.get(_CHECK)
        if token is None:
            await self.settings.put(_CHECK, self.box.encrypt(_CHECK_TEXT))
            return
        try:
            ok = self.box.decrypt(token) == _CHECK_TEXT
        except SecretKeyError:
            ok = False
        if not ok:
            raise SecretKeyError(
                "the secret key (ANY2API_SECRET_KEY or the data directory's secret.key) is not the one this "
                f"store ({self.url}) was written with; upstream credentials cannot be decrypted"
            )

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()
