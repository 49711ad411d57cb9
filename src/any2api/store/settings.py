"""Runtime settings (JSON values by name) and the record of what the config file seeded."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database
from .schema import seeds, settings


class SettingsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str, default: Any = None) -> Any:
        async with self.db.connect() as conn:
            v = (
                await conn.execute(select(settings.c.value).where(settings.c.key == key))
            ).scalar_one_or_none()
        return default if v is None else orjson.loads(v)

    async def values(self) -> dict[str, Any]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(settings.c.key, settings.c.value))).all()
        return {k: orjson.loads(v) for k, v in rows}

    async def put(self, key: str, value: Any) -> None:
        data = orjson.dumps(value).decode()
        now = time.time()
        async with self.db.begin() as conn:
            res = await conn.execute(
                update(settings).where(settings.c.key == key).values(value=data, updated_at=now)
            )
            if res.rowcount:
                return
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(settings).values(key=key, value=data, updated_at=now))
            except IntegrityError:  # inserted concurrently
                await conn.execute(
                    update(settings).where(settings.c.key == key).values(value=data, updated_at=now)
                )

    async def delete(self, key: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(delete(settings).where(settings.c.key == key))

    async def seeded(self, kind: str) -> set[str]:
        async with self.db.connect() as conn:
            return set((await conn.execute(select(seeds.c.ref).where(seeds.c.kind == kind))).scalars())

    async def mark_seeded(self, kind: str, refs: list[str]) -> None:
        if not refs:
            return
        now = time.time()
        async with self.db.begin() as conn:
            have = set((await conn.execute(select(seeds.c.ref).where(seeds.c.kind == kind))).scalars())
            fresh = [r for r in dict.fromkeys(refs) if r not in have]
            if fresh:
                await conn.execute(
                    insert(seeds), [{"kind": kind, "ref": r, "created_at": now} for r in fresh]
                )
