"""Upstream accounts in the store: credentials encrypted, looked up by keyed fingerprint."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .crypto import SecretBox
from .db import Database
from .schema import accounts

DEFAULT_MAX_INFLIGHT = 2
EDITABLE = ("label", "weight", "max_inflight", "proxy", "enabled")


@dataclass(slots=True)
class AccountRow:
    id: str
    provider: str
    api_key: str | None
    fingerprint: str
    label: str = ""
    weight: int = 1
    max_inflight: int = DEFAULT_MAX_INFLIGHT
    proxy: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_by: str | None = None
    """``admin`` (only an admin re-enables) or ``health`` (the periodic re-test may)."""
    cooldown_until: float | None = None
    failures: int = 0
    last_error: str | None = None
    last_used: float | None = None
    source: str = "admin"
    created_at: float = 0.0
    updated_at: float = 0.0


class DuplicateAccountError(ValueError):
    def __init__(self, existing_id: str) -> None:
        super().__init__(f"this credential is already account {existing_id}")
        self.existing_id = existing_id


def new_account_id() -> str:
    return "acc_" + secrets.token_hex(8)


class AccountRepo:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _row(self, r: Any) -> AccountRow:
        box = self.box
        return AccountRow(
            id=r.id, provider=r.provider, api_key=box.decrypt(r.secret), fingerprint=r.fingerprint,
            label=r.label, weight=r.weight, max_inflight=r.max_inflight, proxy=box.decrypt(r.proxy),
            enabled=bool(r.enabled), disabled_reason=r.disabled_reason, disabled_by=r.disabled_by,
            cooldown_until=r.cooldown_until, failures=r.failures, last_error=r.last_error, last_used=r.last_used,
            source=r.source, created_at=r.created_at, updated_at=r.updated_at,
        )  # fmt: skip

    async def all(self, provider: str | None = None) -> list[AccountRow]:
        q = select(accounts).order_by(accounts.c.created_at, accounts.c.id)
        if provider is not None:
            q = q.where(accounts.c.provider == provider)
        async with self.db.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [self._row(r) for r in rows]

    async def get(self, account_id: str) -> AccountRow | None:
        async with self.db.connect() as conn:
            r = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
        return self._row(r) if r is not None else None

    async def find(self, provider: str, api_key: str | None) -> AccountRow | None:
        fp = self.box.fingerprint(api_key)
        q = select(accounts).where(accounts.c.provider == provider, accounts.c.fingerprint == fp)
        async with self.db.connect() as conn:
            r = (await conn.execute(q)).first()
        return self._row(r) if r is not None else None

    def _values(self, row: AccountRow) -> dict[str, Any]:
        box = self.box
        return {
            "id": row.id, "provider": row.provider, "label": row.label, "secret": box.encrypt(row.api_key),
            "fingerprint": row.fingerprint, "weight": row.weight, "max_inflight": row.max_inflight,
            "proxy": box.encrypt(row.proxy), "enabled": row.enabled, "disabled_reason": row.disabled_reason,
            "disabled_by": row.disabled_by, "cooldown_until": row.cooldown_until, "failures": row.failures,
            "last_error": row.last_error, "last_used": row.last_used, "source": row.source,
            "created_at": row.created_at, "updated_at": row.updated_at,
        }  # fmt: skip

    def new(
        self,
        provider: str,
        api_key: str | None,
        *,
        label: str = "",
        weight: int = 1,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
        proxy: str | None = None,
        enabled: bool = True,
        source: str = "admin",
    ) -> AccountRow:
        now = time.time()
        return AccountRow(
            id=new_account_id(), provider=provider, api_key=api_key, fingerprint=self.box.fingerprint(api_key),
            label=label, weight=weight, max_inflight=max_inflight, proxy=proxy, enabled=enabled,
            disabled_by=None if enabled else "admin", source=source, created_at=now, updated_at=now,
        )  # fmt: skip

    async def add(self, row: AccountRow) -> AccountRow:
        """Insert; a credential already stored for the provider raises :class:`DuplicateAccountError`."""
        try:
            async with self.db.begin() as conn:
                await conn.execute(insert(accounts).values(**self._values(row)))
        except IntegrityError:
            existing = await self.find(row.provider, row.api_key)
            if existing is None:
                raise
            raise DuplicateAccountError(existing.id) from None
        return row

    async def add_many(self, rows: list[AccountRow]) -> tuple[list[AccountRow], list[tuple[AccountRow, str]]]:
        """Insert each new credential; returns (added, [(skipped, existing id)]). Duplicates inside ``rows``
        count as skipped too."""
        added: list[AccountRow] = []
        skipped: list[tuple[AccountRow, str]] = []
        async with self.db.begin() as conn:
            existing = {
                (r.provider, r.fingerprint): r.id
                for r in (
                    await conn.execute(select(accounts.c.id, accounts.c.provider, accounts.c.fingerprint))
                ).all()
            }
            fresh = []
            for row in rows:
                k = (row.provider, row.fingerprint)
                if k in existing:
                    skipped.append((row, existing[k]))
                    continue
                existing[k] = row.id
                fresh.append(row)
            if fresh:
                await conn.execute(insert(accounts), [self._values(r) for r in fresh])
            added = fresh
        return added, skipped

    async def update(self, account_id: str, **fields: Any) -> AccountRow | None:
        """Change editable fields (``label``, ``weight``, ``max_inflight``, ``proxy``, ``enabled``) and/or
        health fields; ``enabled=True`` also clears the disabled reason."""
        values: dict[str, Any] = {}
        for k, v in fields.items():
            if k == "proxy":
                values["proxy"] = self.box.encrypt(v)
            elif k in ("api_key",):
                values["secret"] = self.box.encrypt(v)
                values["fingerprint"] = self.box.fingerprint(v)
            else:
                values[k] = v
        if fields.get("enabled") is True:
            values.setdefault("disabled_reason", None)
            values.setdefault("disabled_by", None)
        elif fields.get("enabled") is False:
            values.setdefault("disabled_by", "admin")
        values["updated_at"] = time.time()
        try:
            async with self.db.begin() as conn:
                res = await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
                if res.rowcount == 0:
                    return None
        except IntegrityError:
            current = await self.get(account_id)
            existing = await self.find(current.provider, fields.get("api_key")) if current else None
            if existing is None:
                raise
            raise DuplicateAccountError(existing.id) from None
        return await self.get(account_id)

    async def save_health(self, row: AccountRow) -> None:
        """Persist the health fields of ``row`` (what the pool learned from real outcomes)."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == row.id)
                .values(
                    enabled=row.enabled, disabled_reason=row.disabled_reason, disabled_by=row.disabled_by,
                    cooldown_until=row.cooldown_until, failures=row.failures, last_error=row.last_error,
                    last_used=row.last_used, updated_at=time.time(),
                )
            )  # fmt: skip

    async def delete(self, account_id: str) -> bool:
        async with self.db.begin() as conn:
            res = await conn.execute(delete(accounts).where(accounts.c.id == account_id))
        return bool(res.rowcount)

    async def delete_all(self) -> int:
        async with self.db.begin() as conn:
            res = await conn.execute(delete(accounts))
        return int(res.rowcount or 0)


def with_changes(row: AccountRow, **fields: Any) -> AccountRow:
    return replace(row, **fields)
