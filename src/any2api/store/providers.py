"""Providers added at run time (admin API): their blocks, one row each in ``runtime_providers``.

A block is the JSON form of a config file's provider block. It is stored whole under the secret box
(AES-GCM, like account secrets): api keys, literal header values and proxy URLs are never in the clear."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from .crypto import SecretBox, SecretKeyError
from .db import Database
from .schema import runtime_providers

_T = runtime_providers


@dataclass(slots=True)
class ProviderRecord:
    name: str
    block: dict[str, Any]
    created_at: float
    updated_at: float


class ProviderRepo:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _record(self, r: Row[Any]) -> ProviderRecord:
        plain = self.box.decrypt(r.secret)
        if plain is None:  # the column is NOT NULL
            raise SecretKeyError(f"runtime provider {r.name!r} has no stored block")
        return ProviderRecord(r.name, orjson.loads(plain), float(r.created_at), float(r.updated_at))

    async def all(self) -> list[ProviderRecord]:
        """Every runtime provider, oldest first."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(_T).order_by(_T.c.created_at, _T.c.name))).all()
        return [self._record(r) for r in rows]

    async def get(self, name: str) -> ProviderRecord | None:
        async with self.db.connect() as conn:
            r = (await conn.execute(select(_T).where(_T.c.name == name))).first()
        return self._record(r) if r is not None else None

    async def put(self, name: str, block: dict[str, Any]) -> ProviderRecord:
        """Create or replace (a replacement keeps its creation time, so its place in routing order)."""
        secret = self.box.encrypt(orjson.dumps(block).decode())
        now = time.time()
        async with self.db.begin() as conn:
            created = (
                await conn.execute(select(_T.c.created_at).where(_T.c.name == name))
            ).scalar_one_or_none()
            if created is not None:
                await conn.execute(update(_T).where(_T.c.name == name).values(secret=secret, updated_at=now))
                return ProviderRecord(name, block, float(created), now)
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(_T).values(name=name, secret=secret, created_at=now, updated_at=now)
                    )
            except IntegrityError:  # created concurrently: replace it
                await conn.execute(update(_T).where(_T.c.name == name).values(secret=secret, updated_at=now))
        return ProviderRecord(name, block, now, now)

    async def delete(self, name: str) -> bool:
        async with self.db.begin() as conn:
            res = await conn.execute(delete(_T).where(_T.c.name == name))
        return bool(res.rowcount)
