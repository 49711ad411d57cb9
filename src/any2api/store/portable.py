"""A portable JSON of the whole runtime configuration: accounts, client keys, settings.

Secrets (upstream credentials, proxy URLs, client-key digests) are included only on request. Import merges
by identity (an account by its credential, or by provider + label when the file has no credential; a key by
digest, else by id); with
``replace`` what the file does not name is removed (accounts) or revoked (keys)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .client_keys import KeyRow
from .inputs import InputError, obj, opt_bool, opt_int, opt_str, opt_time, parse_account, parse_key
from .store import Store

FORMAT = "any2api-export"
VERSION = 1
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
        "format": FORMAT,
        "version": VERSION,
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


_ACCOUNT_EXTRA = {"id", "disabled_reason"}
_KEY_EXTRA = {"id", "hint", "tokens_used", "revoked_at", "key_hash"}


def validate(data: Any, providers: set[str] | None = None) -> dict[str, Any]:
    """Check an export document; raises :class:`InputError` naming the first bad field."""
    d = obj(
        data, "", {"format", "version", "exported_at", "secrets_included", "accounts", "keys", "settings"}
    )
    if d.get("format", FORMAT) != FORMAT:
        raise InputError("format", f"must be {FORMAT!r}")
    if opt_int(d, "version", "") not in (None, VERSION):
        raise InputError("version", f"unsupported version (this gateway reads version {VERSION})")
    for name in ("accounts", "keys"):
        items = d.get(name, [])
        if not isinstance(items, list):
            raise InputError(name, "must be a list")
    for i, a in enumerate(d.get("accounts", [])):
        parse_account(a, f"accounts[{i}]", providers, _ACCOUNT_EXTRA)
    for i, k in enumerate(d.get("keys", [])):
        kd = obj(k, f"keys[{i}]")
        parse_key(kd, f"keys[{i}]", _KEY_EXTRA)
        h = opt_str(kd, "key_hash", f"keys[{i}]", 64)
        if h is not None and (len(h) != 64 or any(c not in "0123456789abcdef" for c in h)):
            raise InputError(f"keys[{i}].key_hash", "must be a SHA-256 hex digest")
        opt_time(kd, "revoked_at", f"keys[{i}]")
        opt_int(kd, "tokens_used", f"keys[{i}]")
    s = obj(d.get("settings", {}), "settings", set(SETTING_KEYS))
    if "models" in s:
        obj(s["models"], "settings.models")
    if "pool" in s:
        obj(s["pool"], "settings.pool")
    opt_bool(d, "secrets_included", "")
    return d


async def import_all(
    store: Store,
    data: Any,
    *,
    replace: bool = False,
    providers: set[str] | None = None,
    default_max_inflight: int = 2,
) -> ImportReport:
    d = validate(data, providers)
    rep = ImportReport()
    existing = await store.accounts.all()
    by_fp = {(a.provider, a.fingerprint): a for a in existing}
    by_label = {(a.provider, a.label): a for a in existing}
    seen: set[str] = set()
    for i, raw in enumerate(d.get("accounts", [])):
        a = parse_account(raw, f"accounts[{i}]", providers, _ACCOUNT_EXTRA)
        changes: dict[str, Any] = {
            k: v for k, v in (("label", a.label), ("weight", a.weight), ("max_inflight", a.max_inflight),
                              ("enabled", a.enabled)) if v is not None
        }  # fmt: skip
        if "proxy" in raw:
            changes["proxy"] = a.proxy
        has_key = "api_key" in raw
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

    keys = await store.keys.all()
    keys_by_id = {k.id: k for k in keys}
    keys_by_hash = {k.key_hash: k for k in keys}
    kept: set[str] = set()
    for i, raw in enumerate(d.get("keys", [])):
        path = f"keys[{i}]"
        k = parse_key(raw, path, _KEY_EXTRA)
        digest = raw.get("key_hash")
        kid = raw.get("id")
        current = keys_by_hash.get(digest) if digest else None
        if current is None and isinstance(kid, str):
            current = keys_by_id.get(kid)
        fields_: dict[str, Any] = {
            "name": k.name, "allowed_models": k.allowed_models, "rpm": k.rpm, "tpm": k.tpm,
            "token_budget": k.token_budget, "expires_at": k.expires_at, "is_admin": k.is_admin,
        }  # fmt: skip
        fields_ = {f: v for f, v in fields_.items() if f in k.present}
        if "revoked_at" in raw:
            fields_["revoked_at"] = opt_time(raw, "revoked_at", path)
        if current is not None:
            kept.add(current.id)
            await store.keys.update(current.id, **fields_)
            rep.keys_updated += 1
            continue
        if not digest:
            rep.skipped.append(f"{path}: no key_hash in the file (export made without secrets) and no match")
            continue
        now = time.time()
        new_id = kid if isinstance(kid, str) and kid and kid not in keys_by_id else None
        key_row = KeyRow(
            id=new_id or f"key_{secrets.token_hex(8)}", key_hash=digest, name=k.name,
            hint=str(raw.get("hint") or ""), allowed_models=k.allowed_models, rpm=k.rpm, tpm=k.tpm,
            token_budget=k.token_budget, tokens_used=int(raw.get("tokens_used") or 0), expires_at=k.expires_at,
            revoked_at=opt_time(raw, "revoked_at", path), is_admin=k.is_admin, source="import",
            created_at=now, updated_at=now,
        )  # fmt: skip
        await store.keys.insert(key_row)
        kept.add(key_row.id)
        keys_by_hash[digest] = key_row
        rep.keys_added += 1
    if replace:
        for key in keys:
            if key.id not in kept and key.revoked_at is None:
                await store.keys.revoke(key.id)
                rep.keys_revoked += 1

    for name, value in d.get("settings", {}).items():
        await store.settings.put(name, value)
        rep.settings.append(name)
    return rep
