"""Routes, dispatch and error ownership, all derived from the registered dialects' route declarations.

- Every declared path becomes one Starlette route (405 with ``Allow`` for other methods). Where several
  dialects declare one path, a :class:`ByHeader` dispatcher picks by the declared ``when_header``.
- Chat routes also go into the front door's tables: exact paths into a dict (one lookup per request),
  paths with parameters (``/v1beta/models/{model}:{action}``) into a short list tried only when the exact
  lookup misses. Every POST route with parameters is in that list, in declaration order, so a more
  specific one declared first (``/v1beta/models/{model:path}:countTokens``) is not shadowed by a chat
  route that also matches it.
- :class:`ErrorOwners` answers "which dialect renders the error for this path" (unknown path, wrong
  method, internal error): the dialect with the longest declared prefix (route paths up to their first
  parameter, plus ``Dialect.namespaces``), else the fallback dialect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.convertors import Convertor
from starlette.routing import BaseRoute, Route, compile_path

from ..formats.base import Dialect, DialectRoute
from .asgi import Receive, Scope, Send
from .chat import ChatEndpoint, Runtime
from .endpoints import CountTokensEndpoint, CustomEndpoint, ModelEndpoint, ModelsEndpoint

ASGIApp = Any
"""A raw ASGI callable (scope, receive, send)."""


def endpoint_for(rt: Runtime, dialect: Dialect, route: DialectRoute) -> ASGIApp:
    """The generic handler that serves a declared route."""
    kind = route.kind
    if kind == "chat":
        return ChatEndpoint(rt, dialect)
    if kind == "models":
        return ModelsEndpoint(rt, dialect, route.auth)
    if kind == "model":
        return ModelEndpoint(rt, dialect, route.auth)
    if kind == "count_tokens":
        return CountTokensEndpoint(rt, dialect, route.auth)
    if kind == "custom":
        if route.handler is None:
            raise ValueError(f"dialect {dialect.name!r}: custom route {route.path} has no handler")
        return CustomEndpoint(rt, dialect, route.handler, route.auth)
    raise ValueError(f"dialect {dialect.name!r}: route {route.path} has unknown kind {kind!r}")


def _methods(route: DialectRoute) -> frozenset[str]:
    m = {x.upper() for x in route.methods}
    if "GET" in m:
        m.add("HEAD")
    return frozenset(m)


@dataclass(slots=True)
class _Choice:
    dialect: Dialect
    route: DialectRoute
    app: ASGIApp
    methods: frozenset[str]


class ByHeader:
    """One path declared by several dialects: the first declaration whose method matches and whose
    ``when_header`` the request carries, else the one without a header for that method."""

    def __init__(self, choices: Sequence[_Choice]) -> None:
        self.choices = [(c.route.when_header.lower().encode("latin-1"), c.methods, c.app)
                        for c in choices if c.route.when_header]  # fmt: skip
        self.defaults: dict[str, ASGIApp] = {}
        for c in choices:
            if not c.route.when_header:
                for m in c.methods:
                    self.defaults[m] = c.app
        self.first = choices[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        names = None
        for header, methods, app in self.choices:
            if method in methods:
                if names is None:
                    names = {k.lower() for k, _ in scope["headers"]}
                if header in names:
                    await app(scope, receive, send)
                    return
        app = self.defaults.get(method)
        if app is None:  # only header-bound declarations, and the request has none of the headers
            app = self.first.app
        await app(scope, receive, send)


@dataclass(slots=True)
class ParamRoute:
    """A POST route with path parameters, for the front door's second lookup."""

    regex: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]
    app: ASGIApp

    def match(self, path: str) -> dict[str, Any] | None:
        m = self.regex.match(path)
        if m is None:
            return None
        return {k: self.convertors[k].convert(v) for k, v in m.groupdict().items()}


def match_param_route(routes: Sequence[ParamRoute], scope: Scope) -> ASGIApp | None:
    """The first route matching the request's path (its parameters put into the scope), or ``None``."""
    path = scope["path"]
    for r in routes:
        params = r.match(path)
        if params is not None:
            scope["path_params"] = params
            return r.app
    return None


class ErrorOwners:
    """Which dialect renders errors for a path (see the module doc)."""

    def __init__(self, prefixes: Sequence[tuple[str, Dialect]], fallback: Dialect) -> None:
        seen: dict[str, Dialect] = {}
        for p, d in prefixes:
            if p:  # the root is nobody's prefix
                seen.setdefault(p, d)  # the first dialect to declare a prefix owns it
        self.prefixes = sorted(seen.items(), key=lambda pd: len(pd[0]), reverse=True)
        self.fallback = fallback

    def __call__(self, path: str) -> Dialect:
        for p, d in self.prefixes:
            if path == p or path.startswith(p + "/"):
                return d
        return self.fallback


def _static_prefix(path: str) -> str:
    i = path.find("{")
    head = path if i < 0 else path[:i]
    return head.rstrip("/")


@dataclass(slots=True)
class Dispatch:
    owners: ErrorOwners
    routes: list[BaseRoute] = field(default_factory=list)
    """One Starlette route per declared path."""
    fast: dict[str, ASGIApp] = field(default_factory=dict)
    """Chat paths without parameters -> handler (POST)."""
    fast_params: list[ParamRoute] = field(default_factory=list)
    """POST paths with parameters (chat and others), tried in declaration order when ``fast`` misses."""
    exact_paths: frozenset[str] = frozenset()
    """Every declared path without parameters (a POST to one never goes to ``fast_params``)."""


def build_dispatch(rt: Runtime, dialects: Sequence[Dialect], fallback: Dialect) -> Dispatch:
    """Everything the app routes, from the dialects' declarations (in registration order)."""
    by_path: dict[str, list[_Choice]] = {}
    prefixes: list[tuple[str, Dialect]] = []
    for d in dialects:
        for r in d.routes():
            by_path.setdefault(r.path, []).append(_Choice(d, r, endpoint_for(rt, d, r), _methods(r)))
            if not r.when_header:
                prefixes.append((_static_prefix(r.path), d))
        prefixes.extend((ns.rstrip("/"), d) for ns in d.namespaces)
    out = Dispatch(ErrorOwners(prefixes, fallback))
    exact: set[str] = set()
    for path, choices in by_path.items():
        _check(path, choices)
        app = choices[0].app if len(choices) == 1 else ByHeader(choices)
        methods = sorted({m for c in choices for m in c.methods})
        out.routes.append(Route(path, app, methods=methods))
        params = "{" in path
        if not params:
            exact.add(path)
        if params:
            if any("POST" in c.methods for c in choices):
                regex, _, convertors = compile_path(path)
                out.fast_params.append(ParamRoute(regex, convertors, app))
        elif any(c.route.kind == "chat" and "POST" in c.methods for c in choices):
            out.fast[path] = app
    out.exact_paths = frozenset(exact)
    return out


def _check(path: str, choices: Sequence[_Choice]) -> None:
    """Two declarations of one path must be told apart: per method, one header each and one without."""
    seen: dict[tuple[str, str | None], str] = {}
    for c in choices:
        for m in c.methods:
            key = (m, c.route.when_header.lower() if c.route.when_header else None)
            other = seen.get(key)
            if other is not None:
                raise ValueError(
                    f"dialects {other!r} and {c.dialect.name!r} both declare {m} {path}"
                    + (
                        f" for requests with {key[1]!r}"
                        if key[1]
                        else " without a 'when_header' to tell them apart"
                    )
                )
            seen[key] = c.dialect.name
