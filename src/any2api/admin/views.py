"""How the admin API shows what the services return (DS2API-compatible shapes; secrets masked or absent).
The CLI and the web UI render with the same functions."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from ..routing.pool import iso
from ..routing.pool_ports import ProbeResult
from ..store.accounts import AccountRow
from ..store.client_keys import KeyRow
from ..store.crypto import mask
from .service import ConfigSnapshot, ProviderEntry, UsageReport
from .service.ports import AccountPool, KeyCache

_SENSITIVE = re.compile(r"auth|key|token|secret|cookie|session|passw|signature", re.IGNORECASE)


def account_view(row: AccountRow, pool: AccountPool | None = None) -> dict[str, Any]:
    st = pool.state(row.id) if pool is not None else None
    now = time.time()
    cooling = row.cooldown_until is not None and row.cooldown_until > now
    return {
        "id": row.id, "provider": row.provider, "label": row.label, "api_key": mask(row.api_key),
        "weight": row.weight, "max_inflight": row.max_inflight, "proxy": "***" if row.proxy else None,
        "enabled": row.enabled, "disabled_reason": row.disabled_reason, "disabled_by": row.disabled_by,
        "cooldown_until": iso(row.cooldown_until) if cooling else None, "failures": row.failures,
        "last_error": row.last_error, "last_used": iso(row.last_used), "source": row.source,
        "in_flight": st.inflight if st is not None else 0, "created_at": iso(row.created_at),
    }  # fmt: skip


def key_status(row: KeyRow, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if row.revoked_at:
        return "revoked"
    return "expired" if row.expires_at and row.expires_at <= now else "active"


def key_view(row: KeyRow, cache: KeyCache | None = None) -> dict[str, Any]:
    entry = cache.entry(row.id) if cache is not None else None
    used = max(row.tokens_used, entry.used) if entry is not None else row.tokens_used
    return {
        "id": row.id, "name": row.name, "hint": row.hint, "status": key_status(row),
        "models": sorted(row.allowed_models) if row.allowed_models is not None else None,
        "rpm": row.rpm, "tpm": row.tpm, "token_budget": row.token_budget, "tokens_used": used,
        "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at), "is_admin": row.is_admin,
        "source": row.source, "created_at": iso(row.created_at),
    }  # fmt: skip


def probe_view(account_id: str, r: ProbeResult) -> dict[str, Any]:
    out: dict[str, Any] = {"id": account_id, "ok": r.ok, **r.details}
    if r.error is not None:
        out["error"] = r.error.message
        out["error_kind"] = r.error.kind
        out["upstream_status"] = r.error.upstream_status
    return out


def _mask_headers(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        literal = isinstance(v, str) and "{{" not in v
        out[k] = mask(v) if literal and _SENSITIVE.search(str(k)) else v
    return out


def masked_block(block: Any) -> Any:
    """What an operator may see of a block: api keys masked, secret-looking literal headers masked."""
    if not isinstance(block, dict):
        return block
    b = copy.deepcopy(block)
    for k in ("api_keys", "api_key"):
        v = b.get(k)
        if isinstance(v, list):
            b[k] = [mask(x) if isinstance(x, str) else x for x in v]
        elif isinstance(v, str):
            b[k] = mask(v)
    if b.get("proxy"):
        b["proxy"] = "***"
    b["headers"] = _mask_headers(b.get("headers")) if "headers" in b else None
    if b["headers"] is None:
        del b["headers"]
    req = b.get("request")
    if isinstance(req, dict):
        for k in ("headers", "query"):
            if k in req:
                req[k] = _mask_headers(req[k])
    return b


def provider_view(e: ProviderEntry) -> dict[str, Any]:
    return {
        "name": e.name,
        "type": e.type,
        "source": e.source,
        "models": e.models,
        "spec": masked_block(e.block),
    }


def config_view(
    c: ConfigSnapshot, pool: AccountPool | None = None, cache: KeyCache | None = None
) -> dict[str, Any]:
    return {
        "keys": [key_view(k, cache) for k in c.keys],
        "accounts": [account_view(a, pool) for a in c.accounts],
        "models": c.models,
        "model_overrides": c.model_overrides,
        "pool": c.pool,
        "providers": [
            {"name": p.name, "type": p.type, "models": p.models, "source": p.source} for p in c.providers
        ],
        "database": c.database,
        "redis": c.redis,
    }


def usage_view(u: UsageReport) -> dict[str, Any]:
    return {
        "since": iso(u.since), "until": iso(u.until), "totals": u.totals, "by_key": u.by_key,
        "by_model": u.by_model, "by_provider": u.by_provider,
    }  # fmt: skip
