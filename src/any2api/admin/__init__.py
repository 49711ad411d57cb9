"""The admin API (its runtime is built by :mod:`any2api.compose`).

- ``build_routes(rt)``: ``[Mount("/admin", ...)]`` for an app whose ``rt.gateway`` is set by its lifespan.
- ``routes``: the same routes (relative to an ``/admin`` mount), bound to the last registered runtime."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount

from .routes import make_routes, routes
from .runtime import runtime_for


def build_routes(rt: Any) -> list[BaseRoute]:
    """Routes for the app that owns ``rt`` (anything with a ``gateway`` attribute once started)."""
    return [Mount("/admin", routes=make_routes(lambda: runtime_for(getattr(rt, "gateway", None))))]


__all__ = ["build_routes", "routes"]
