"""What every upstream adapter provides (the registry of types is ``providers/registry.py``; the base of
JSON-over-HTTP upstreams is ``providers/http_json.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.events import Event
from ..core.request import ChatRequest

if TYPE_CHECKING:
    from aiohttp import ClientResponse

    from ..config_types import ProviderConfig
    from ..upstream import Upstream


@dataclass(slots=True)
class Account:
    """One upstream credential of a provider."""

    id: str
    provider: str
    api_key: str | None
    label: str = ""
    proxy: str | None = None
    weight: int = 1
    max_inflight: int = 0
    """0: unlimited."""


@dataclass(slots=True)
class ModelInfo:
    id: str
    """The upstream model id."""
    display_name: str | None = None
    created: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Provider:
    """Base class of upstream adapters.

    ``dialect`` names the wire format the upstream speaks. When a client speaks the same dialect and
    ``passthrough`` is allowed, the gateway forwards bytes (see ``forward``) instead of translating.

    ``stream`` yields hub events. It must raise :class:`GatewayError` (not yield an ``ErrorEvent``) for
    failures that happen before the upstream accepted the request, so routing can retry elsewhere; once
    ``ResponseStart`` was yielded, failures are reported as an ``ErrorEvent`` and the stream ends.
    """

    dialect: str = ""
    """Set from the type's registration (``providers/registry.py``) when built by ``create_provider``."""

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        self.config = config
        self.name = config.name
        self.upstream = upstream
        self.timeouts = config.timeouts or upstream.timeouts
        self.rules = list(config.error_rules) + upstream.global_rules

    @property
    def passthrough(self) -> bool:
        return self.config.passthrough

    def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        raise NotImplementedError

    def can_forward(self, body: dict[str, Any]) -> bool:
        """Whether this request may take the pass-through path (the adapter may need to rewrite it)."""
        return True

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Pass-through: send a body already in this provider's dialect (only ``model`` and the profile's
        parameter rules change). Returns the upstream response when it is 2xx (the caller reads and
        releases it); raises ``GatewayError`` (mapped) otherwise. ``headers`` are the client's request
        headers (lower-case names), for dialect headers that must reach the upstream (``anthropic-beta``);
        ``query`` the client's query parameters (``None``: none), for options of the wire format carried in
        the URL (Gemini's ``alt=sse``). Neither is forwarded wholesale (they hold the client's gateway key)."""
        raise NotImplementedError

    async def list_models(self) -> list[ModelInfo]:
        """Models this provider serves: the configured list, or the upstream's own when discovery is on."""
        return [ModelInfo(m.id, m.display_name) for m in self.config.models]

    async def close(self) -> None:
        return None
