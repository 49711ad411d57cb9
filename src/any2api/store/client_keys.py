"""Client API keys in the store: only the SHA-256 of a key is kept; the secret is shown once, at creation."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from ..auth import hash_key
from .db import Database
from .schema import client_keys

KEY_PREFIX = "sk-a2a-"


@dataclass(slots=True)
class KeyRow:
    id: str
    key_hash: str
    name: str = ""
    hint: str = ""
    allowed_models: frozenset[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    token_budget: int | None = None
    tokens_used: int = 0
    expires_at: float | None = None
    revoked_at: float | None = None
    is_admin: bool = False
    source: str = "admin"
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > time.time())


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hint_of(secret: str) -> str:
    return f"{secret[: len(KEY_PREFIX) + 2]}...{secret[-4:]}" if len(secret) > 16 else "*" * len(secret)


class KeyRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(r: Any) -> KeyRow:
        models = orjson.loads(r.allowed_models) if r.allowed_models is not None else None
        return KeyRow(
            id=r.id, key_hash=r.key_hash, name=r.name, hint=r.hint,
            allowed_models=frozenset(models) if models is not None else None,
            rpm=r.rpm, tpm=r.tpm, token_budget=r.token_budget, tokens_used=int(r.tokens_used),
            expires_at=r.expires_at, revoked_at=r.revoked_at, is_admin=bool(r.is_admin), source=r.source,
            created_at=r.created_at, updated_at=r.updated_at,
        )  # fmt: skip

    @staticmethod
    def _values(row: KeyRow) -> dict[str, Any]:
        return {
            "id": row.id, "key_hash": row.key_hash, "name": row.name, "hint": row.hint,
            "allowed_models": None if row.allowed_models is None else orjson.dumps(sorted(row.allowed_models)).decode(),
            "rpm": row.rpm, "tpm": row.tpm, "token_budget": row.token_budget, "tokens_used": row.tokens_used,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at, "is_admin": row.is_admin,
            "source": row.source, "created_at": row.created_at, "updated_at": row.updated_at,
        }  # fmt: skip

    async def create(
        self,
        name: str = "",
        *,
        secret: str | None = None,
        allowed_models: frozenset[str] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        token_budget: int | None = None,
        expires_at: float | None = None,
        is_admin: bool = False,
        source: str = "admin",
    ) -> tuple[KeyRow, str]:
        """A new key and its secret (the only time the secret exists outside the caller)."""
        secret = secret or new_secret()
        now = time.time()
        row = KeyRow(
            id="key_" + secrets.token_hex(8), key_hash=hash_key(secret), name=name, hint=hint_of(secret),
            allowed_models=allowed_models, rpm=rpm, tpm=tpm, token_budget=token_budget, expires_at=expires_at,
            is_admin=is_admin, source=source, created_at=now, updated_at=now,
        )  # fmt: skip
        await self.insert(row)
        return row, secret

    async def insert(self, row: KeyRow) -> None:
        async with self.db.begin() as conn:
            await conn.execute(insert(client_keys).values(**self._values(row)))

    async def all(self, include_revoked: bool = True) -> list[KeyRow]:
        q = select(client_keys).order_by(client_keys.c.created_at, client_keys.c.id)
        if not include_revoked:
            q = q.where(client_keys.c.revoked_at.is_(None))
        async with self.db.connect() as conn:
            return [self._row(r) for r in (await conn.execute(q)).all()]

    async def get(self, key_id: str) -> KeyRow | None:
        async with self.db.connect() as conn:
            r = (await conn.execute(select(client_keys).where(client_keys.c.id == key_id))).first()
        return self._row(r) if r is not None else None

    async def by_hash(self, key_hash: str) -> KeyRow | None:
        async with self.db.connect() as conn:
            r = (await conn.execute(select(client_keys).where(client_keys.c.key_hash == key_hash))).first()
        return self._row(r) if r is not None else None

    async def update(self, key_id: str, **fields: Any) -> KeyRow | None:
        if "allowed_models" in fields:
            m = fields["allowed_models"]
            fields["allowed_models"] = None if m is None else orjson.dumps(sorted(m)).decode()
        fields["updated_at"] = time.time()
        async with self.db.begin() as conn:
            res = await conn.execute(update(client_keys).where(client_keys.c.id == key_id).values(**fields))
            if res.rowcount == 0:
                return None
        return await self.get(key_id)

    async def revoke(self, key_id: str) -> KeyRow | None:
        now = time.time()
        async with self.db.begin() as conn:
            res = await conn.execute(
                update(client_keys)
                .where(client_keys.c.id == key_id, client_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, updated_at=now)
            )
        if res.rowcount == 0:
            return None
        return await self.get(key_id)

    async def add_tokens(self, spent: dict[str, int]) -> None:
        """Add tokens to each key's running total (one statement per key, one transaction)."""
        if not spent:
            return
        async with self.db.begin() as conn:
            for key_id, n in spent.items():
                await conn.execute(
                    update(client_keys)
                    .where(client_keys.c.id == key_id)
                    .values(tokens_used=client_keys.c.tokens_used + n)
                )
