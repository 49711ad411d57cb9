"""The simulator's dialects: each wire format registers what the server needs to answer in it.

A dialect module (``openai_chat``, ``anthropic_messages``) ends with ``register(Dialect(...))``; the server
imports the modules once and dispatches by the registry only. A new upstream format (OpenAI Responses,
Gemini, ...) is one module -- request checks, reply renderer, error bodies -- plus its import in
``server.py``'s ``DIALECT_MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .inbound import ChatInput, Invalid
from .script import Script
from .wire import Reply

if TYPE_CHECKING:
    from .server import RecordedRequest


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may use besides the script and the request."""

    seq: int
    """The request's number (ids and request ids are derived from it)."""
    reasoning_field: str = "reasoning_content"
    """Server-wide name of the reasoning delta field (OpenAI-compatible vendors differ)."""


Handler = Callable[["RecordedRequest"], tuple[int, dict[str, Any]]]
"""An extra endpoint of a dialect (not a chat request): the recorded request -> (status, JSON body)."""


@dataclass(frozen=True)
class Dialect:
    name: str
    """``RecordedRequest.dialect`` and ``ChatInput.dialect`` of requests in this dialect."""
    chat_paths: tuple[str, ...]
    """POST path suffixes answered as chat requests (``/chat/completions``); more via ``add_path``."""
    parse: Callable[[Any], ChatInput]
    """The checks the real API makes before any model runs (raise :class:`Invalid`), and the facts the
    simulator needs."""
    render: Callable[[Script, ChatInput, RenderContext], Reply]
    """A script as this dialect's answer: a whole body or stream operations."""
    invalid: Callable[[Invalid], dict[str, Any]]
    """The 400 body for a request the real API rejects."""
    unauthorized: Callable[[str | None, int], dict[str, Any]]
    """The 401 body for a wrong key (the key sent, the request's number)."""
    unauthorized_status: int = 401
    """The status of that answer (Google answers a wrong key with 400 ``API_KEY_INVALID``)."""
    chat_match: Callable[[str], bool] | None = None
    """POST paths answered as chat requests that no suffix describes (Gemini's
    ``/models/{model}:generateContent``)."""
    parse_recorded: Callable[[RecordedRequest], ChatInput] | None = None
    """Instead of ``parse``: the checks with the whole recorded request, for a dialect whose URL carries
    part of the request (Gemini: the model, the stream flag and ``alt=sse``)."""
    routes: Mapping[tuple[str, str], Handler] = field(default_factory=dict)
    """Other endpoints: (method, path suffix) -> handler, e.g. ``("POST", "/messages/count_tokens")``."""
    models_wanted: Callable[[RecordedRequest], bool] | None = None
    """Whether a ``GET …/models`` request is for this dialect's listing (e.g. by a version header)."""
    model_object: Callable[[str, int], dict[str, Any]] | None = None
    """One model in this dialect's listing (id, unix time now)."""
    model_list: Callable[[list[dict[str, Any]], list[str]], dict[str, Any]] | None = None
    """The listing body around the model objects (objects, model ids)."""
    model_missing: Callable[[str], dict[str, Any]] | None = None
    """The 404 body for an unknown model id."""


_REGISTRY: dict[str, Dialect] = {}


def register(dialect: Dialect) -> Dialect:
    if dialect.name in _REGISTRY and _REGISTRY[dialect.name] is not dialect:
        raise ValueError(f"simulator dialect {dialect.name!r} registered twice")
    _REGISTRY[dialect.name] = dialect
    return dialect


def get(name: str) -> Dialect:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def names() -> list[str]:
    return list(_REGISTRY)


def for_chat_path(path: str) -> Dialect | None:
    """The dialect whose ``chat_match`` takes ``path``, else whose chat path ``path`` ends with (the longest
    suffix wins)."""
    best: tuple[int, Dialect] | None = None
    for d in _REGISTRY.values():
        if d.chat_match is not None and d.chat_match(path):
            return d
        for suffix in d.chat_paths:
            if path.endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), d)
    return best[1] if best else None


def route_for(method: str, path: str) -> Handler | None:
    """An extra endpoint some dialect registered for this method and path."""
    for d in _REGISTRY.values():
        for (m, suffix), handler in d.routes.items():
            if m == method and path.endswith(suffix):
                return handler
    return None


def for_models(rec: RecordedRequest, default: str = "openai") -> Dialect:
    """The dialect whose model listing answers this request (``default`` when none asks for it)."""
    for d in _REGISTRY.values():
        if d.models_wanted is not None and d.models_wanted(rec):
            return d
    return get(default)
