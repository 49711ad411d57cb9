"""A portable JSON of the whole runtime configuration: accounts, client keys, settings.

Secrets (upstream credentials, proxy URLs, client-key digests) are included only on request. Import merges
by identity (an account by its credential, or by provider + label when the file has no credential; a key by
digest, else by id); with ``replace`` what the file does not name is removed (accounts) or revoked (keys)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ...store.client_keys import KeyRow
from ...store.store import Store
from ..models import EXPORT_FORMAT, EXPORT_VERSION, ExportedAccount, ExportedKey, ImportDoc, parse
from .accounts import AccountService
from .keys import KeyService
from .settings import SettingsService

SETTING_KEYS = ("models", "pool")


async def export_all(store: Store, include_secrets: bool = False) -> dict[str, Any]:
    accounts = []
    for a in await store.accounts.all():
        item: dict[str, Any] = {
            "id": a.id, "provider": a.provider, "label": a.label, "weight": a.weight,
            "max_inflight": a.max_inflight, "enabled": a.enabled, "disabled_reason": a.disabled_reason,
        }  # fmt: skip
        if include_secrets:
            item["api_key"] = a.api_key
            item["proxy"] = a.proxy
        accounts.append(item)
    keys = []
    for k in await store.keys.all():
        kd: dict[str, Any] = {
            "id": k.id, "name": k.name, "hint": k.hint,
            "allowed_models": sorted(k.allowed_models) if k.allowed_models is not None else None,
            "rpm": k.rpm, "tpm": k.tpm, "token_budget": k.token_budget, "tokens_used": k.tokens_used,
            "expires_at": k.expires_at, "revoked_at": k.revoked_at, "is_admin": k.is_admin,
        }  # fmt: skip
        if include_secrets:
            kd["key_hash"] = k.key_hash
        keys.append(kd)
    all_settings = await store.settings.values()
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": time.time(),
        "secrets_included": include_secrets,
        "accounts": accounts,
        "keys": keys,
        "settings": {k: all_settings[k] for k in SETTING_KEYS if k in all_settings},
    }


@dataclass(slots=True)
class ImportReport:
    accounts_added: int = 0
    accounts_updated: int = 0
    accounts_removed: int = 0
    keys_added: int = 0
    keys_updated: int = 0
    keys_revoked: int = 0
    settings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts_added": self.accounts_added, "accounts_updated": self.accounts_updated,
            "accounts_removed": self.accounts_removed, "keys_added": self.keys_added,
            "keys_updated": self.keys_updated, "keys_revoked": self.keys_revoked,
            "settings": self.settings, "skipped": self.skipped,
        }  # fmt: skip


def parse_document(data: object, providers: set[str] | None = None) -> ImportDoc:
    """Check an export document; raises :class:`InputError` naming the first bad field."""
    return parse(ImportDoc, data, providers=providers)


async def _import_accounts(
    store: Store, accounts: list[ExportedAccount], replace: bool, default_max_inflight: int, rep: ImportReport
) -> None:
    existing = await store.accounts.all()
    by_fp = {(a.provider, a.fingerprint): a for a in existing}
    by_label = {(a.provider, a.label): a for a in existing}
    seen: set[str] = set()
    for i, a in enumerate(accounts):
        given = a.model_fields_set
        changes: dict[str, Any] = {
            k: v for k, v in (("label", a.label), ("weight", a.weight), ("max_inflight", a.max_inflight),
                              ("enabled", a.enabled)) if v is not None
        }  # fmt: skip
        if "proxy" in given:
            changes["proxy"] = a.proxy
        has_key = "api_key" in given
        if has_key:
            match = by_fp.get((a.provider, store.box.fingerprint(a.api_key)))
        else:  # exported without secrets: the label is all there is to go by
            match = by_label.get((a.provider, a.label)) if a.label else None
        if match is not None:
            seen.add(match.id)
            if changes:
                await store.accounts.update(match.id, **changes)
            rep.accounts_updated += 1
            continue
        if not has_key:
            rep.skipped.append(
                f"accounts[{i}]: no api_key in the file (export made without secrets) and no match"
            )
            continue
        row = store.accounts.new(
            a.provider, a.api_key, label=a.label or "", weight=a.weight or 1,
            max_inflight=a.max_inflight if a.max_inflight is not None else default_max_inflight,
            proxy=a.proxy, enabled=a.enabled if a.enabled is not None else True, source="import",
        )  # fmt: skip
        await store.accounts.add(row)
        seen.add(row.id)
        by_fp[(row.provider, row.fingerprint)] = row
        rep.accounts_added += 1
    if replace:
        for acc in existing:
            if acc.id not in seen:
                await store.accounts.delete(acc.id)
                rep.accounts_removed += 1


async def _import_keys(store: Store, keys: list[ExportedKey], replace: bool, rep: ImportReport) -> None:
    existing = await store.keys.all()
    keys_by_id = {k.id: k for k in existing}
    keys_by_hash = {k.key_hash: k for k in existing}
    kept: set[str] = set()
    for i, k in enumerate(keys):
        digest = k.key_hash
        current = keys_by_hash.get(digest) if digest else None
        if current is None and k.id is not None:
            current = keys_by_id.get(k.id)
        changes = k.changes()
        if "revoked_at" in k.model_fields_set:
            changes["revoked_at"] = k.revoked_at
        if current is not None:
            kept.add(current.id)
            await store.keys.update(current.id, **changes)
            rep.keys_updated += 1
            continue
        if not digest:
            rep.skipped.append(
                f"keys[{i}]: no key_hash in the file (export made without secrets) and no match"
            )
            continue
        now = time.time()
        new_id = k.id if k.id and k.id not in keys_by_id else None
        row = KeyRow(
            id=new_id or f"key_{secrets.token_hex(8)}", key_hash=digest, name=k.name or "", hint=k.hint or "",
            allowed_models=k.allowed_models, rpm=k.rpm, tpm=k.tpm, token_budget=k.token_budget,
            tokens_used=k.tokens_used or 0, expires_at=k.expires_at, revoked_at=k.revoked_at,
            is_admin=bool(k.is_admin), source="import", created_at=now, updated_at=now,
        )  # fmt: skip
        await store.keys.insert(row)
        kept.add(row.id)
        keys_by_hash[digest] = row
        rep.keys_added += 1
    if replace:
        for key in existing:
            if key.id not in kept and key.revoked_at is None:
                await store.keys.revoke(key.id)
                rep.keys_revoked += 1


async def import_document(
    store: Store, doc: ImportDoc, *, replace: bool = False, default_max_inflight: int = 2
) -> ImportReport:
    """Write a validated document into the store (see the module's description)."""
    rep = ImportReport()
    await _import_accounts(store, doc.accounts, replace, default_max_inflight, rep)
    await _import_keys(store, doc.keys, replace, rep)
    for name in SETTING_KEYS:
        value = getattr(doc.settings, name)
        if name in doc.settings.model_fields_set:
            await store.settings.put(name, value)
            rep.settings.append(name)
    return rep


async def import_all(
    store: Store,
    data: object,
    *,
    replace: bool = False,
    providers: set[str] | None = None,
    default_max_inflight: int = 2,
) -> ImportReport:
    """Validate ``data`` (an export document) and write it into the store."""
    doc = parse_document(data, providers)
    return await import_document(store, doc, replace=replace, default_max_inflight=default_max_inflight)


class TransferService:
    """Export and import, then make the running parts follow (pool, keys, settings)."""

    def __init__(
        self,
        store: Store,
        accounts: AccountService,
        keys: KeyService,
        settings: SettingsService | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.keys = keys
        self.settings = settings

    async def export(self, include_secrets: bool = False) -> dict[str, Any]:
        return await export_all(self.store, include_secrets)

    async def import_(self, data: object, replace: bool = False) -> ImportReport:
        doc = parse_document(data, self.accounts.providers())
        stored = doc.settings
        if self.settings is not None:
            if "models" in stored.model_fields_set:
                self.settings.check_models(stored.models, "settings.models")
            if "pool" in stored.model_fields_set:
                self.settings.check_pool(stored.pool, "settings.pool")
        pool = self.accounts.pool
        await pool.flush()
        rep = await import_document(
            self.store, doc, replace=replace, default_max_inflight=pool.settings.default_max_inflight
        )
        await pool.reload_all()
        await self.keys.reloaded_all()
        if rep.settings and self.settings is not None:
            await self.settings.changed()
        return rep
