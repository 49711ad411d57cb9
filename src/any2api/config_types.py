"""The configuration's data: what ``config.py`` builds from YAML and every package reads.

A leaf module (it imports nothing of ours), so providers and their option validators can use these types
without importing the YAML parser, which in turn asks the provider registry to validate each provider's
own options.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

LineOf = Callable[[str], "int | None"]
"""Key path (``providers[1].request.body``) -> its line in the config file, when known."""


class ConfigError(ValueError):
    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path} (line {line})" if line else path
        super().__init__(f"{where}: {message}" if path else message)
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class ConfigPath:
    """Where a block sits in the config: its key path and how to find a key's line.

    Option validators raise ``where.error("request.body", "...")`` and the message names the full path
    and line: ``providers[1].request.body (line 14): ...``."""

    path: str
    line_of: LineOf | None = None

    def key(self, sub: str) -> str:
        return f"{self.path}.{sub}" if sub and self.path else sub or self.path

    def error(self, sub: str, message: str) -> ConfigError:
        path = self.key(sub)
        return ConfigError(path, message, self.line_of(path) if self.line_of is not None else None)


@dataclass(slots=True)
class Timeouts:
    connect: float = 10.0
    first_byte: float = 300.0
    idle: float = 300.0


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 20 * 1024 * 1024
    heartbeat_seconds: float = 15.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    cors_origins: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ErrorRule:
    """Map an upstream error to a class: by upstream status and/or a substring/regex of its body."""

    kind: str
    status: int | None = None
    match: str | None = None
    regex: re.Pattern[str] | None = None
    code: str | None = None
    upstream_status: int | None = None


@dataclass(slots=True)
class ModelEntry:
    id: str
    """Upstream model id."""
    display_name: str | None = None


HostedTools = Literal["error", "drop"]


@dataclass(slots=True)
class ProviderConfig:
    name: str
    type: str
    base_url: str = ""
    api_keys: list[str] = field(default_factory=list)
    models: list[ModelEntry] = field(default_factory=list)
    chat_path: str | None = None
    models_path: str | None = None
    discover_models: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    auth_header: str | None = None
    """Header style: ``bearer`` (Authorization: Bearer), ``x-api-key``, ``none`` or a header name."""
    param_renames: dict[str, str] = field(default_factory=dict)
    param_drops: list[str] = field(default_factory=list)
    param_clamps: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    reasoning_field: str | None = None
    passthrough: bool = True
    """Allow the byte pass-through fast path when the client speaks this provider's dialect."""
    timeouts: Timeouts | None = None
    error_rules: list[ErrorRule] = field(default_factory=list)
    proxy: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """Type-specific settings (e.g. the whole spec of an ``http`` provider), validated by the provider
    type's own options validator (see ``providers/registry.py``)."""
    env_allowed: frozenset[str] | None = None
    """The environment variables an ``http`` spec's templates may read: None (a config file provider)
    those its templates name; a provider added at run time only those the operator allows
    (``admin.runtime_env``)."""
    hosted_tools: HostedTools = "error"
    """Tools the vendor runs itself (OpenAI Responses' ``web_search`` ...) in a request for a provider that
    cannot run them: refused with a 400 (``error``) or left out (``drop``). Read by client dialects
    (``Dialect.before_upstream``)."""


@dataclass(slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    auth_keys: list[str] = field(default_factory=list)
    admin_key: str | None = None
    runtime_env: list[str] = field(default_factory=list)
    """``admin.runtime_env``: environment variables the templates of runtime (admin API) ``http`` providers
    may read (none by default)."""
    providers: list[ProviderConfig] = field(default_factory=list)
    models: dict[str, list[str]] = field(default_factory=dict)
    error_rules: list[ErrorRule] = field(default_factory=list)
    database_url: str | None = None
    redis_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def provider(self, name: str) -> ProviderConfig | None:
        for p in self.providers:
            if p.name == name:
                return p
        return None
