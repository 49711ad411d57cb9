"""Upstream adapters: hub request -> wire request; wire response/SSE -> hub events."""

import importlib

_BUILTIN = ("openai_compat", "demo", "anthropic", "gemini", "http", "openai_responses")
_loaded = False


def load_builtin() -> None:
    """Import the built-in adapters so they register themselves (modules not yet written are skipped)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTIN:
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{mod}":
                raise
