"""The admin API and the store wiring.

- ``attach(gateway, config)``: at startup, puts the store-backed account pool, client keys and usage writer
  into the gateway; returns an async ``close()`` to await at shutdown (flushes usage and account health).
- ``build_routes(rt)``: ``[Mount("/admin", ...)]`` for an app whose ``rt.gateway`` is set by its lifespan.
- ``routes``: the same routes (relative to an ``/admin`` mount), bound to the last attached gateway."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount

from .routes import make_routes, routes
from .runtime import attach, runtime_for


def build_routes(rt: Any) -> list[BaseRoute]:
    """Routes for the app that owns ``rt`` (anything with a ``gateway`` attribute once started)."""
    return [Mount("/admin", routes=make_routes(lambda: runtime_for(getattr(rt, "gateway", None))))]


__all__ = ["attach", "build_routes", "routes"]
