"""Validation of account and key descriptions from operators (admin API bodies, CLI files, imports).

Errors name the field: ``accounts[3].weight: must be an integer >= 1``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class InputError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


ACCOUNT_FIELDS = {"provider", "api_key", "label", "weight", "max_inflight", "proxy", "enabled"}
KEY_FIELDS = {
    "name",
    "models",
    "allowed_models",
    "rpm",
    "tpm",
    "token_budget",
    "expires_at",
    "expires_in_days",
    "is_admin",
}
_PROXY_SCHEMES = ("http://", "https://", "socks4://", "socks5://", "socks5h://")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


def obj(data: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(path, f"must be an object, got {_type(data)}")
    if allowed is not None:
        for k in data:
            if k not in allowed:
                raise InputError(
                    _join(path, str(k)), f"unknown field (expected one of: {', '.join(sorted(allowed))})"
                )
    return data


def opt_str(d: dict[str, Any], key: str, path: str, max_len: int = 256) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise InputError(_join(path, key), f"must be a string, got {_type(v)}")
    if len(v) > max_len:
        raise InputError(_join(path, key), f"must be at most {max_len} characters")
    return v


def opt_int(d: dict[str, Any], key: str, path: str, minimum: int = 0) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(_join(path, key), f"must be an integer, got {_type(v)}")
    if v < minimum:
        raise InputError(_join(path, key), f"must be >= {minimum}")
    return v


def opt_bool(d: dict[str, Any], key: str, path: str) -> bool | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise InputError(_join(path, key), f"must be true or false, got {_type(v)}")
    return v


def opt_time(d: dict[str, Any], key: str, path: str) -> float | None:
    """A time as UNIX seconds or an ISO-8601 string (with a zone, or UTC)."""
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool):
        raise InputError(_join(path, key), "must be a time (UNIX seconds or ISO-8601)")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(_join(path, key), f"{v!r} is not an ISO-8601 time") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise InputError(_join(path, key), f"must be a time (UNIX seconds or ISO-8601), got {_type(v)}")


@dataclass(slots=True)
class AccountInput:
    provider: str
    api_key: str | None
    label: str | None = None
    weight: int | None = None
    max_inflight: int | None = None
    proxy: str | None = None
    enabled: bool | None = None


def parse_proxy(d: dict[str, Any], path: str) -> str | None:
    proxy = opt_str(d, "proxy", path, 2048)
    if proxy is not None and proxy != "" and not proxy.startswith(_PROXY_SCHEMES):
        raise InputError(_join(path, "proxy"), "must be a URL starting with http://, https:// or socks5://")
    return proxy or None


def parse_account(
    data: Any,
    path: str = "",
    providers: set[str] | None = None,
    extra: frozenset[str] | set[str] = frozenset(),
) -> AccountInput:
    d = obj(data, path, ACCOUNT_FIELDS | extra)
    provider = opt_str(d, "provider", path, 128)
    if not provider:
        raise InputError(_join(path, "provider"), "is required")
    if providers is not None and provider not in providers:
        known = ", ".join(sorted(providers)) or "none configured"
        raise InputError(_join(path, "provider"), f"unknown provider {provider!r} (configured: {known})")
    api_key = opt_str(d, "api_key", path, 8192)
    return AccountInput(
        provider=provider,
        api_key=api_key or None,
        label=opt_str(d, "label", path),
        weight=opt_int(d, "weight", path, 1),
        max_inflight=opt_int(d, "max_inflight", path, 0),
        proxy=parse_proxy(d, path),
        enabled=opt_bool(d, "enabled", path),
    )


@dataclass(slots=True)
class KeyInput:
    name: str = ""
    allowed_models: frozenset[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    token_budget: int | None = None
    expires_at: float | None = None
    is_admin: bool = False
    present: frozenset[str] = frozenset()
    """The fields the description gave (an update changes only these)."""


def parse_key(data: Any, path: str = "", extra: set[str] = frozenset()) -> KeyInput:  # type: ignore[assignment]
    d = obj(data, path, KEY_FIELDS | extra)
    models_key = "models" if "models" in d else "allowed_models"
    models_raw = d.get(models_key)
    models: frozenset[str] | None = None
    if models_raw is not None:
        if not isinstance(models_raw, list) or not all(isinstance(m, str) and m for m in models_raw):
            raise InputError(
                _join(path, models_key), "must be a list of model names (or null for every model)"
            )
        models = frozenset(models_raw)
    expires_at = opt_time(d, "expires_at", path)
    days = d.get("expires_in_days")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0:
            raise InputError(_join(path, "expires_in_days"), "must be a positive number")
        expires_at = time.time() + float(days) * 86400
    present = {k for k in d if k in KEY_FIELDS}
    if "models" in present:
        present.add("allowed_models")
    if "expires_in_days" in present:
        present.add("expires_at")
    return KeyInput(
        name=opt_str(d, "name", path) or "",
        allowed_models=models,
        rpm=opt_int(d, "rpm", path, 1),
        tpm=opt_int(d, "tpm", path, 1),
        token_budget=opt_int(d, "token_budget", path, 0),
        expires_at=expires_at,
        is_admin=opt_bool(d, "is_admin", path) or False,
        present=frozenset(present),
    )
