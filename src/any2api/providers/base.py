"""What every upstream adapter provides, and the registry of adapter types."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.events import Event
from ..core.request import ChatRequest

if TYPE_CHECKING:
    from aiohttp import ClientResponse

    from ..config import ProviderConfig
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

    dialect: ClassVar[str] = ""

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

    async def post(self, url: str, body: bytes, headers: dict[str, str], proxy: str | None) -> ClientResponse:
        """POST upstream; a non-2xx answer is read, released and raised as a mapped ``GatewayError``."""
        from ..upstream import map_upstream_error, read_body

        resp = await self.upstream.request("POST", url, data=body, headers=headers, timeouts=self.timeouts,
                                           proxy=proxy)  # fmt: skip
        if resp.status >= 300:
            try:
                raw = await read_body(resp, self.timeouts.idle)
            finally:
                resp.release()
            raise map_upstream_error(resp.status, raw, resp.headers, self.rules, self.name)
        return resp

    async def get_json(self, url: str, headers: dict[str, str], proxy: str | None, what: str) -> Any:
        """GET a JSON document upstream (model lists); errors mapped like chat errors."""
        import orjson

        from ..core.errors import GatewayError
        from ..upstream import map_upstream_error, read_body

        resp = await self.upstream.request("GET", url, headers=headers, timeouts=self.timeouts, proxy=proxy)
        try:
            raw = await read_body(resp, self.timeouts.idle)
        finally:
            resp.release()
        if resp.status >= 300:
            raise map_upstream_error(resp.status, raw, resp.headers, self.rules, self.name)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise GatewayError("upstream", f"Upstream {what} answer is not JSON: {raw[:200]!r}") from None

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


ProviderFactory = Callable[["ProviderConfig", "Upstream"], Provider]
_REGISTRY: dict[str, ProviderFactory] = {}


def register(*types: str) -> Callable[[ProviderFactory], ProviderFactory]:
    def deco(factory: ProviderFactory) -> ProviderFactory:
        for t in types:
            _REGISTRY[t] = factory
        return factory

    return deco


def create_provider(config: ProviderConfig, upstream: Upstream) -> Provider:
    from . import load_builtin

    load_builtin()
    factory = _REGISTRY.get(config.type)
    if factory is None:
        raise ValueError(f"provider type {config.type!r} is not available")
    return factory(config, upstream)
