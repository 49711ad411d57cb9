"""Public model names -> ordered list of (provider, upstream model) routes."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..core.errors import GatewayError
from ..providers.base import Provider
from .claude_aliases import default_claude_aliases
from .gemini_aliases import GEMINI_PREFIX, gemini_fallback


@dataclass(slots=True, frozen=True)
class Route:
    provider: Provider
    model: str
    """The upstream model id."""
    public_model: str


class Router:
    """Resolution order: an alias in ``models:`` (a list is a fallback chain); ``provider/model``;
    a bare model id that a provider lists (first provider in config order wins); without a Gemini provider,
    a ``gemini-*`` name goes to the first provider's default model (see :mod:`.gemini_aliases`)."""

    def __init__(self, config: Config, providers: dict[str, Provider]) -> None:
        self.providers = providers
        self.aliases: dict[str, list[str]] = {**default_claude_aliases(config), **config.models}
        self._cache: dict[str, tuple[Route, ...]] = {}
        self._bare: dict[str, Route] = {}
        for p in config.providers:
            prov = providers[p.name]
            for m in p.models:
                self._bare.setdefault(m.id, Route(prov, m.id, m.id))
        self._gemini = gemini_fallback(providers[p.name] for p in config.providers)

    def set_aliases(self, aliases: dict[str, list[str]]) -> None:
        self.aliases = dict(aliases)
        self._cache.clear()

    def add_discovered(self, provider: Provider, model_ids: list[str]) -> None:
        for mid in model_ids:
            self._bare.setdefault(mid, Route(provider, mid, mid))
        self._cache.clear()

    def add_provider(self, provider: Provider) -> None:
        """Make a provider routable at run time (``name/model`` and its bare model ids); a provider of the
        same name is replaced. Bare ids another provider claimed first stay with it."""
        self.providers[provider.name] = provider
        self._drop_bare(provider.name)
        for m in provider.config.models:
            self._bare.setdefault(m.id, Route(provider, m.id, m.id))
        self._gemini = gemini_fallback(self.providers.values())
        self._cache.clear()

    def remove_provider(self, name: str) -> Provider | None:
        """Stop routing to a provider; its bare model ids fall to the next provider listing them."""
        provider = self.providers.pop(name, None)
        self._drop_bare(name)
        self._gemini = gemini_fallback(self.providers.values())
        self._cache.clear()
        return provider

    def _drop_bare(self, name: str) -> None:
        bare = {mid: r for mid, r in self._bare.items() if r.provider.name != name}
        for prov in self.providers.values():
            if prov.name != name:
                for m in prov.config.models:
                    bare.setdefault(m.id, Route(prov, m.id, m.id))
        self._bare = bare

    def resolve(self, model: str) -> tuple[Route, ...]:
        hit = self._cache.get(model)
        if hit is not None:
            return hit
        routes = self._resolve(model)
        if len(self._cache) < 10_000:
            self._cache[model] = routes
        return routes

    def _resolve(self, model: str) -> tuple[Route, ...]:
        chain = self.aliases.get(model)
        if chain is not None:
            out = []
            for target in chain:
                pname, _, mid = target.partition("/")
                prov = self.providers.get(pname)
                if prov is not None:
                    out.append(Route(prov, mid, model))
            if out:
                return tuple(out)
        pname, sep, mid = model.partition("/")
        if sep and mid:
            prov = self.providers.get(pname)
            if prov is not None:
                listed = {m.id for m in prov.config.models}
                if not listed or mid in listed or prov.config.discover_models:
                    return (Route(prov, mid, model),)
        bare = self._bare.get(model)
        if bare is not None:
            return (Route(bare.provider, bare.model, model),)
        if self._gemini is not None and model.startswith(GEMINI_PREFIX):
            return (Route(self._gemini[0], self._gemini[1], model),)
        raise GatewayError(
            "not_found", f"The model `{model}` does not exist or you do not have access to it.",
            param="model", code="model_not_found",
        )  # fmt: skip

    def public_models(self) -> list[tuple[str, str]]:
        """(public id, owner) for every routable name: aliases first, then provider models."""
        seen: dict[str, str] = {}
        for alias, chain in self.aliases.items():
            seen.setdefault(alias, chain[0].partition("/")[0])
        for mid, route in self._bare.items():
            seen.setdefault(mid, route.provider.name)
        for name, prov in self.providers.items():
            for m in prov.config.models:
                seen.setdefault(f"{name}/{m.id}", name)
        return list(seen.items())
