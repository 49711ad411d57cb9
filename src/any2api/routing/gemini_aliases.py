"""Gemini model names (``gemini-*``) for gateways without a Gemini upstream.

Google's clients (the Gemini CLI, google-genai) ask for ``gemini-*`` models, and the Gemini CLI picks several
of them on its own (a flash-lite model for side requests). When no ``gemini``-type provider is configured,
every ``gemini-*`` name routes to the first provider's default model (the first model it lists, else the
first of its built-in profile's models: ``deepseek-chat`` for a bare DeepSeek provider), so these
clients work out of the box (``any2api serve --demo`` included). Exact names win: an entry under ``models:``
or a model a provider lists is resolved before this fallback is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..providers.base import Provider
from ..providers.profiles import BUILTIN

GEMINI_PREFIX = "gemini-"
GEMINI_TYPE = "gemini"


def default_model(p: Provider) -> str | None:
    """The provider's first listed model, else its built-in profile's first (``None``: it names none)."""
    if p.config.models:
        return p.config.models[0].id
    profile = BUILTIN.get(p.config.type)
    return profile.models[0] if profile is not None and profile.models else None


def gemini_fallback(providers: Iterable[Provider]) -> tuple[Provider, str] | None:
    """(provider, upstream model) that serves ``gemini-*`` names, or ``None`` when a Gemini provider is
    configured (its own model names then decide) or no provider lists a model."""
    first: tuple[Provider, str] | None = None
    for p in providers:
        if p.config.type == GEMINI_TYPE:
            return None
        if first is None:
            model = default_model(p)
            if model is not None:
                first = (p, model)
    return first
