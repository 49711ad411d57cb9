"""The one registry of client dialects. ``api/`` derives every route, the dispatch and the owner of error
answers on unknown paths from what is registered here when the app is built.

Built-in dialects are registered below, one line each. A dialect from elsewhere (a plugin, a test)
registers itself with :func:`register` before ``create_app`` is called."""

from __future__ import annotations

from .anthropic_messages import ANTHROPIC_MESSAGES
from .base import Dialect
from .gemini import GEMINI
from .openai_chat import OPENAI_CHAT, PROXY_CHAT
from .openai_responses import OPENAI_RESPONSES

_DIALECTS: dict[str, Dialect] = {}
_fallback: list[Dialect] = []


def register(dialect: Dialect, *, fallback: bool = False) -> Dialect:
    """Add a dialect (its ``name`` must be new). ``fallback``: this dialect renders the errors of paths no
    dialect owns (404 for an unknown path); the first registered dialect is the fallback otherwise."""
    if not dialect.name or not dialect.wire:
        raise ValueError(f"dialect {type(dialect).__name__} needs a name and a wire format")
    old = _DIALECTS.get(dialect.name)
    if old is not None and old is not dialect:
        raise ValueError(f"a dialect named {dialect.name!r} is registered already")
    _DIALECTS[dialect.name] = dialect
    if fallback:
        _fallback[:] = [dialect]
    return dialect


def unregister(name: str) -> None:
    """Remove a dialect (apps built before keep their routes)."""
    d = _DIALECTS.pop(name, None)
    if d is not None and _fallback and _fallback[0] is d:
        _fallback.clear()


def dialects() -> tuple[Dialect, ...]:
    """The registered dialects, in registration order (the order their routes are tried in)."""
    return tuple(_DIALECTS.values())


def fallback() -> Dialect:
    if _fallback:
        return _fallback[0]
    if not _DIALECTS:
        raise LookupError("no client dialect is registered")
    return next(iter(_DIALECTS.values()))


def get(name: str) -> Dialect:
    return _DIALECTS[name]


register(OPENAI_CHAT, fallback=True)
register(PROXY_CHAT)
register(ANTHROPIC_MESSAGES)
register(OPENAI_RESPONSES)
register(GEMINI)
