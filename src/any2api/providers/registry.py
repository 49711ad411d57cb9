"""The one registry of provider types: name -> factory, options validator, wire format.

The config's list of types, its per-type option checks and the construction of providers all read it, so
a type registered here (by a built-in module when ``any2api.providers`` is imported, by a plug-in or a
test at run time) is known everywhere at once::

    register_provider("toy", ToyProvider, wire="toy_chat", options=toy_options)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config_types import ConfigPath, ProviderConfig
from .base import Provider

if TYPE_CHECKING:
    from ..upstream import Upstream

ProviderFactory = Callable[[ProviderConfig, "Upstream"], Provider]
OptionsValidator = Callable[[ProviderConfig, ConfigPath], object]
"""Checks a provider's ``options`` (and any other field it cares about), raising ``where.error(...)``
(a :class:`~any2api.config_types.ConfigError` naming the key and its line). It may return what it parsed;
the factory is free to call it again."""


def no_options(config: ProviderConfig, where: ConfigPath) -> None:
    """The validator of types that take no options."""
    for k in config.options:
        raise where.error(f"options.{k}", f"unknown option (a {config.type} provider takes no options)")


@dataclass(frozen=True, slots=True)
class ProviderType:
    name: str
    factory: ProviderFactory
    wire: str
    """The wire format (dialect name) the upstream speaks; a client speaking it may get the pass-through."""
    validate: OptionsValidator = no_options
    inline_options: bool = False
    """Options may also be written beside the common keys of the provider block (the ``http`` spec's
    ``request`` / ``response`` ...), not only under ``options``."""


_TYPES: dict[str, ProviderType] = {}
_APIS: dict[tuple[str, str], str] = {}


def register_provider(
    name: str,
    factory: ProviderFactory,
    *,
    wire: str,
    options: OptionsValidator = no_options,
    inline_options: bool = False,
) -> ProviderType:
    """Register (or replace) a provider type."""
    if not name or "/" in name:
        raise ValueError(f"invalid provider type name {name!r}")
    entry = ProviderType(name, factory, wire, options, inline_options)
    _TYPES[name] = entry
    return entry


def unregister_provider(name: str) -> None:
    _TYPES.pop(name, None)
    for k in [k for k, v in _APIS.items() if name in (k[0], v)]:
        del _APIS[k]


def register_api(base: str, api: str, type_name: str) -> None:
    """A provider block ``type: <base>`` with ``api: <api>`` is a ``type_name`` provider: one vendor type
    whose API comes in several wire formats (``type: openai`` + ``api: responses`` is ``openai_responses``;
    ``type_name`` stays a type of its own too)."""
    _APIS[(base, api)] = type_name


def api_type(base: str, api: str) -> str | None:
    """The type a ``type: base`` block with ``api: api`` is (None: that type has no such API)."""
    return _APIS.get((base, api))


def apis_of(base: str) -> list[str]:
    """The ``api`` values a ``type: base`` block may have, sorted."""
    return sorted(a for b, a in _APIS if b == base)


def provider_type(name: str) -> ProviderType | None:
    return _TYPES.get(name)


def provider_types() -> tuple[str, ...]:
    """The registered type names, sorted."""
    return tuple(sorted(_TYPES))


def validate_options(config: ProviderConfig, where: ConfigPath) -> None:
    """Run the type's own validator (the type must be registered)."""
    _TYPES[config.type].validate(config, where)


def create_provider(config: ProviderConfig, upstream: Upstream) -> Provider:
    entry = _TYPES.get(config.type)
    if entry is None:
        raise ValueError(f"provider type {config.type!r} is not available")
    provider = entry.factory(config, upstream)
    provider.dialect = entry.wire
    return provider
