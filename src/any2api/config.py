"""Configuration: one YAML file with ``${ENV}`` / ``${ENV:-default}`` interpolation.

Errors name the key path and the line (``providers[1].type (line 14): ...``), never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from .config_types import (
    Config,
    ConfigError,
    ConfigPath,
    ErrorRule,
    HostedTools,
    LineOf,
    ModelEntry,
    ProviderConfig,
    ServerConfig,
    Timeouts,
)
from .core.errors import DEFAULT_STATUS
from .providers.registry import ProviderType, api_type, apis_of, provider_type, provider_types

__all__ = [
    "Config", "ConfigError", "ConfigPath", "ErrorRule", "LineOf", "ModelEntry", "ProviderConfig", "ServerConfig",
    "Timeouts", "load_config", "parse_config", "parse_provider",
]  # fmt: skip

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


_PLACEHOLDER = re.compile(r"__ANY2API_ENV_(\d+)__")


def _protect(text: str) -> tuple[str, list[re.Match[str]]]:
    """Swap each ``${...}`` for a plain token first: ``[${KEY}]`` is not valid YAML as written."""
    found: list[re.Match[str]] = []

    def sub(m: re.Match[str]) -> str:
        found.append(m)
        return f"__ANY2API_ENV_{len(found) - 1}__"

    return _ENV.sub(sub, text), found


def _interpolate(value: str, found: list[re.Match[str]]) -> str:
    def sub(p: re.Match[str]) -> str:
        m = found[int(p.group(1))]
        return os.environ.get(m.group(1)) or (m.group(2) or "")

    return _PLACEHOLDER.sub(sub, value)


class _Lines:
    """Key path -> line number, from the YAML node tree."""

    def __init__(self, env: list[re.Match[str]]) -> None:
        self.lines: dict[str, int] = {}
        self.env = env

    def walk(self, node: yaml.Node, path: str) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for k, v in node.value:
                key = str(k.value)
                sub = f"{path}.{key}" if path else key
                self.lines[sub] = k.start_mark.line + 1
                out[key] = self.walk(v, sub)
                self.lines[sub] = k.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "tag:yaml.org,2002:null" or (
            node.style is None and node.value in ("", "~", "null", "Null", "NULL")
        ):
            return None
        value = yaml.safe_load(yaml.serialize(node))
        if isinstance(value, str) and "__ANY2API_ENV_" in value:
            value = _interpolate(value, self.env)
            if node.style is None and value != "":
                # an unquoted env value keeps YAML's scalar typing (ports, booleans)
                try:
                    typed = yaml.safe_load(value)
                except yaml.YAMLError:
                    typed = value
                if isinstance(typed, (int, float, bool)):
                    value = typed
        return value

    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
            if parent == path:
                break
            path = parent
        return None


class _Reader:
    def __init__(self, lines: _Lines) -> None:
        self.lines = lines

    def err(self, path: str, msg: str) -> ConfigError:
        return ConfigError(path, msg, self.lines.line(path))

    def mapping(self, value: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.err(path, f"must be a mapping, got {_tname(value)}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    sub = f"{path}.{k}" if path else str(k)
                    raise self.err(sub, f"unknown key (expected one of: {', '.join(sorted(allowed))})")
        return value

    def str_(self, value: Any, path: str, required: bool = False) -> str | None:
        if value is None or value == "":
            if required:
                raise self.err(path, "is required")
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.err(path, f"must be a string, got {_tname(value)}")
        return value

    def num(self, value: Any, path: str, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.err(path, f"must be a number, got {_tname(value)}")
        if value < 0:
            raise self.err(path, "must not be negative")
        return float(value)

    def int_(self, value: Any, path: str, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(path, f"must be an integer, got {_tname(value)}")
        return value

    def bool_(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.err(path, f"must be true or false, got {_tname(value)}")
        return value

    def str_list(self, value: Any, path: str) -> list[str]:
        """A list of strings (a single string is a list of one); empty entries (unset env) are dropped."""
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.err(path, f"must be a list of strings, got {_tname(value)}")
        out = []
        for i, v in enumerate(value):
            s = self.str_(v, f"{path}[{i}]")
            if s:
                out.append(s)
        return out

    def timeouts(self, value: Any, path: str, base: Timeouts) -> Timeouts:
        m = self.mapping(value, path, {"connect", "first_byte", "idle"})
        return Timeouts(
            connect=self.num(m.get("connect"), f"{path}.connect", base.connect),
            first_byte=self.num(m.get("first_byte"), f"{path}.first_byte", base.first_byte),
            idle=self.num(m.get("idle"), f"{path}.idle", base.idle),
        )

    def error_rules(self, value: Any, path: str) -> list[ErrorRule]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.err(path, f"must be a list, got {_tname(value)}")
        rules = []
        for i, r in enumerate(value):
            p = f"{path}[{i}]"
            m = self.mapping(r, p, {"match", "regex", "status", "upstream_status", "kind", "class", "code"})
            kind = self.str_(m.get("kind", m.get("class")), f"{p}.kind", required=True)
            assert kind is not None
            if kind not in DEFAULT_STATUS:
                raise self.err(
                    f"{p}.kind", f"unknown error class {kind!r} (one of: {', '.join(DEFAULT_STATUS)})"
                )
            rx = self.str_(m.get("regex"), f"{p}.regex")
            try:
                compiled = re.compile(rx) if rx else None
            except re.error as e:
                raise self.err(f"{p}.regex", f"invalid regular expression: {e}") from None
            match = self.str_(m.get("match"), f"{p}.match")
            ups = m.get("upstream_status")
            if match is None and compiled is None and ups is None:
                raise self.err(p, "needs at least one of match, regex, upstream_status")
            st = m.get("status")
            rules.append(
                ErrorRule(
                    kind=kind,
                    status=self.int_(st, f"{p}.status", 0) or None,
                    match=match,
                    regex=compiled,
                    code=self.str_(m.get("code"), f"{p}.code"),
                    upstream_status=self.int_(ups, f"{p}.upstream_status", 0) or None,
                )
            )
        return rules


def _tname(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


_PROVIDER_KEYS = {
    "name", "type", "base_url", "api_keys", "api_key", "models", "chat_path", "models_path", "discover_models",
    "headers", "auth_header", "param_renames", "param_drops", "param_clamps", "reasoning_field", "passthrough",
    "timeouts", "error_rules", "proxy", "options", "api", "hosted_tools",
}  # fmt: skip


def _provider_type(r: _Reader, m: dict[str, Any], path: str) -> ProviderType:
    ptype = r.str_(m.get("type"), f"{path}.type", required=True)
    assert ptype is not None
    entry = provider_type(ptype)
    if entry is None:
        raise r.err(f"{path}.type", f"provider type {ptype!r} is not available (registered types: "
                                    f"{', '.join(provider_types())})")  # fmt: skip
    # ``api``: which of a vendor type's wire formats (``type: openai`` + ``api: responses``); also in options
    opts = m.get("options")
    api_value, api_path = m.get("api"), f"{path}.api"
    if api_value is None and isinstance(opts, dict) and "api" in opts:
        api_value, api_path = opts["api"], f"{path}.options.api"
    api = r.str_(api_value, api_path)
    if api is not None:
        variant = api_type(ptype, api)
        variant_entry = provider_type(variant) if variant is not None else None
        if variant_entry is None:
            known = apis_of(ptype)
            raise r.err(api_path, f"provider type {ptype!r} has no api {api!r}"
                                  + (f" (expected one of: {', '.join(known)})" if known else ""))  # fmt: skip
        entry = variant_entry
    if not entry.inline_options:
        for k in m:
            if k not in _PROVIDER_KEYS:
                raise r.err(
                    f"{path}.{k}", f"unknown key (expected one of: {', '.join(sorted(_PROVIDER_KEYS))})"
                )
    return entry


def _models(r: _Reader, value: Any, path: str) -> list[ModelEntry]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise r.err(path, f"must be a list, got {_tname(value)}")
    models: list[ModelEntry] = []
    for i, mv in enumerate(value):
        mp = f"{path}[{i}]"
        if isinstance(mv, dict):
            mm = r.mapping(mv, mp, {"id", "display_name", "name"})
            mid = r.str_(mm.get("id"), f"{mp}.id", required=True)
            assert mid is not None
            models.append(
                ModelEntry(mid, r.str_(mm.get("display_name", mm.get("name")), f"{mp}.display_name"))
            )
        else:
            mid = r.str_(mv, mp, required=True)
            assert mid is not None
            models.append(ModelEntry(mid))
    return models


def _clamps(r: _Reader, value: Any, path: str) -> dict[str, tuple[float | None, float | None]]:
    clamps: dict[str, tuple[float | None, float | None]] = {}
    for k, v in r.mapping(value, path).items():
        cp = f"{path}.{k}"
        if not isinstance(v, list) or len(v) != 2:
            raise r.err(cp, "must be [min, max] (use null for no bound)")
        lo = None if v[0] is None else r.num(v[0], cp, 0)
        hi = None if v[1] is None else r.num(v[1], cp, 0)
        clamps[str(k)] = (lo, hi)
    return clamps


def _base_url(r: _Reader, value: Any, path: str) -> str:
    base_url = r.str_(value, path) or ""
    if base_url and not re.match(r"^https?://", base_url):
        raise r.err(path, "must start with http:// or https://")
    return base_url.rstrip("/")


def _hosted_tools(r: _Reader, value: Any, path: str) -> HostedTools:
    v = r.str_(value, path) or "error"
    if v not in ("error", "drop"):
        raise r.err(path, f"must be 'error' or 'drop', got {v!r}")
    return "drop" if v == "drop" else "error"


def _provider(
    r: _Reader, value: Any, path: str, server: ServerConfig, env_allowed: frozenset[str] | None = None
) -> ProviderConfig:
    """One provider block: the common keys here, the type's own options by its registered validator."""
    m = r.mapping(value, path)
    name = r.str_(m.get("name"), f"{path}.name", required=True)
    assert name is not None
    if "/" in name:
        raise r.err(f"{path}.name", "must not contain '/'")
    entry = _provider_type(r, m, path)
    headers_m = r.mapping(m.get("headers"), f"{path}.headers")
    renames_m = r.mapping(m.get("param_renames"), f"{path}.param_renames")
    timeouts = m.get("timeouts")
    pc = ProviderConfig(
        name=name,
        type=entry.name,
        base_url=_base_url(r, m.get("base_url"), f"{path}.base_url"),
        api_keys=r.str_list(m.get("api_keys"), f"{path}.api_keys")
        + r.str_list(m.get("api_key"), f"{path}.api_key"),
        models=_models(r, m.get("models"), f"{path}.models"),
        chat_path=r.str_(m.get("chat_path"), f"{path}.chat_path"),
        models_path=r.str_(m.get("models_path"), f"{path}.models_path"),
        discover_models=r.bool_(m.get("discover_models"), f"{path}.discover_models", False),
        headers={str(k): str(v) for k, v in headers_m.items() if v is not None},
        auth_header=r.str_(m.get("auth_header"), f"{path}.auth_header"),
        param_renames={str(k): str(v) for k, v in renames_m.items()},
        param_drops=r.str_list(m.get("param_drops"), f"{path}.param_drops"),
        param_clamps=_clamps(r, m.get("param_clamps"), f"{path}.param_clamps"),
        reasoning_field=r.str_(m.get("reasoning_field"), f"{path}.reasoning_field"),
        passthrough=r.bool_(m.get("passthrough"), f"{path}.passthrough", True),
        timeouts=r.timeouts(timeouts, f"{path}.timeouts", server.timeouts) if timeouts else None,
        error_rules=r.error_rules(m.get("error_rules"), f"{path}.error_rules"),
        proxy=r.str_(m.get("proxy"), f"{path}.proxy"),
        options={k: v for k, v in m.items() if k not in _PROVIDER_KEYS}
        | {k: v for k, v in r.mapping(m.get("options"), f"{path}.options").items() if k != "api"},
        env_allowed=env_allowed,
        hosted_tools=_hosted_tools(r, m.get("hosted_tools"), f"{path}.hosted_tools"),
    )
    entry.validate(pc, ConfigPath(path, r.lines.line))
    return pc


def parse_provider(
    block: Any, path: str, server: ServerConfig | None = None, runtime_env: Collection[str] = ()
) -> ProviderConfig:
    """Validate one provider block (not from a file) as the config file's parser does: the admin API's
    runtime providers, whose templates may read only the environment variables in ``runtime_env``. Errors
    name the key under ``path``."""
    return _provider(_Reader(_Lines([])), block, path, server or ServerConfig(), frozenset(runtime_env))


_TOP_KEYS = {"server", "auth", "admin", "providers", "models", "error_rules", "database_url", "redis_url", "store",
             "pool"}  # fmt: skip


def parse_config(text: str, source: str | None = None) -> Config:
    text, env = _protect(text)
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            "", f"invalid YAML{f' at line {line}' if line else ''}: {getattr(e, 'problem', e)}"
        ) from None
    lines = _Lines(env)
    raw = lines.walk(node, "") if node is not None else {}
    r = _Reader(lines)
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError("", f"the config must be a mapping at the top level, got {_tname(raw)}", 1)
    top = r.mapping(raw, "", _TOP_KEYS)

    s = r.mapping(top.get("server"), "server",
                  {"host", "port", "max_body_bytes", "heartbeat_seconds", "timeouts", "cors_origins"})  # fmt: skip
    server = ServerConfig()
    server.host = r.str_(s.get("host"), "server.host") or server.host
    server.port = r.int_(s.get("port"), "server.port", server.port)
    if not 0 <= server.port < 65536:
        raise r.err("server.port", "must be between 0 and 65535")
    server.max_body_bytes = r.int_(s.get("max_body_bytes"), "server.max_body_bytes", server.max_body_bytes)
    server.heartbeat_seconds = r.num(
        s.get("heartbeat_seconds"), "server.heartbeat_seconds", server.heartbeat_seconds
    )
    server.timeouts = r.timeouts(s.get("timeouts"), "server.timeouts", Timeouts())
    server.cors_origins = r.str_list(s.get("cors_origins"), "server.cors_origins")

    auth = r.mapping(top.get("auth"), "auth", {"keys"})
    admin = r.mapping(top.get("admin"), "admin", {"key", "runtime_env"})
    store = r.mapping(top.get("store"), "store", {"database_url", "redis_url"})

    providers_raw = top.get("providers") or []
    if not isinstance(providers_raw, list):
        raise r.err("providers", f"must be a list, got {_tname(providers_raw)}")
    providers = [_provider(r, p, f"providers[{i}]", server) for i, p in enumerate(providers_raw)]
    seen: set[str] = set()
    for i, p in enumerate(providers):
        if p.name in seen:
            raise r.err(f"providers[{i}].name", f"duplicate provider name {p.name!r}")
        seen.add(p.name)

    models: dict[str, list[str]] = {}
    for alias, target in r.mapping(top.get("models"), "models").items():
        path = f"models.{alias}"
        targets = r.str_list(target, path)
        if not targets:
            raise r.err(path, "must name at least one provider/model")
        for t in targets:
            prov, _, mod = t.partition("/")
            if not mod:
                raise r.err(path, f"{t!r} must have the form provider/model")
            if prov not in seen:
                raise r.err(path, f"{t!r} names unknown provider {prov!r}")
        models[str(alias)] = targets

    return Config(
        server=server,
        auth_keys=r.str_list(auth.get("keys"), "auth.keys"),
        admin_key=r.str_(admin.get("key"), "admin.key"),
        runtime_env=r.str_list(admin.get("runtime_env"), "admin.runtime_env"),
        providers=providers,
        models=models,
        error_rules=r.error_rules(top.get("error_rules"), "error_rules"),
        database_url=r.str_(top.get("database_url", store.get("database_url")), "database_url"),
        redis_url=r.str_(top.get("redis_url", store.get("redis_url")), "redis_url"),
        raw=top,
        source=source,
    )


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("", f"cannot read config file {str(p)!r}: {e.strerror}") from None
    return parse_config(text, str(p))
