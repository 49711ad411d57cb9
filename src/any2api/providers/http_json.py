"""The base of upstreams that speak JSON over HTTP: send, decode, feed a parser, close, auth, model list.

A wire format written on it supplies three things (see the recipe "Add an upstream" in ARCHITECTURE.md):

* :meth:`JsonHttpProvider.build` -- the hub request as the upstream's request (:class:`WireRequest`);
* :meth:`JsonHttpProvider.stream_parser` -- a :class:`~any2api.providers.stream_parser.StreamParser` for a
  streamed answer (SSE, NDJSON or a streamed JSON array: :attr:`JsonHttpProvider.stream_framing`);
* :meth:`JsonHttpProvider.response_events` -- a non-streamed JSON answer as hub events;

and, for model discovery, :attr:`JsonHttpProvider.models_url` with :meth:`JsonHttpProvider.model_list`.
Everything else is here: the account's auth header in the configured style, proxies, timeouts, upstream
errors mapped by the provider's error rules, releasing the connection (also when the client goes away),
and the byte pass-through's send (:meth:`JsonHttpProvider.send`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from ..core.errors import GatewayError
from ..core.events import Event
from ..core.request import ChatRequest
from ..upstream import iter_body, map_upstream_error, read_body
from .base import Account, ModelInfo, Provider
from .framing import Frame, Framing, frame_decoder
from .stream_parser import StreamParser

if TYPE_CHECKING:
    import aiohttp

    from ..config_types import ProviderConfig
    from ..upstream import Upstream

Trace = Callable[[str, Any], None]
"""Observer of the raw exchange (``adapter try``): ("request", WireRequest), ("response", the aiohttp
response head), ("chunk", bytes)."""

_ACCEPT: dict[Framing, str] = {"sse": "text/event-stream", "ndjson": "application/x-ndjson",
                               "json-array": "application/json", "json": "application/json"}  # fmt: skip


@dataclass(slots=True)
class WireRequest:
    """One upstream request, ready to send."""

    url: str
    body: bytes | None
    headers: dict[str, str]
    method: str = "POST"


class JsonHttpProvider(Provider):
    """Base of JSON-over-HTTP upstreams (see module doc).

    Class settings: ``auth_style`` -- the default of the config's ``auth_header`` (``bearer``,
    ``x-api-key``, ``none`` or a header name); ``lower_headers`` -- send header names in lower case;
    ``stream_framing`` -- how a streamed answer is framed."""

    auth_style: ClassVar[str] = "bearer"
    lower_headers: ClassVar[bool] = False
    stream_framing: ClassVar[Framing] = "sse"

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        self.trace: Trace | None = None
        self.auth: str = config.auth_header or self.auth_style
        """The auth header style of this provider's requests."""
        self._auth_cache: dict[str | None, dict[str, str]] = {}
        self._base_headers = self.base_headers()

    # -- headers -------------------------------------------------------------------------------------

    def base_headers(self) -> dict[str, str]:
        """Headers of every request (before auth): JSON content type and the config's ``headers``."""
        ct = "content-type" if self.lower_headers else "Content-Type"
        return {ct: "application/json", **self.config.headers}

    def auth_header(self, key: str | None) -> tuple[str, str] | None:
        """The account key as a header, in the configured style."""
        if not key:
            return None
        style = self.auth
        low = style.lower()
        if low == "none":
            return None
        if low == "bearer":
            return ("authorization" if self.lower_headers else "Authorization", f"Bearer {key}")
        return (low if self.lower_headers else style, key)

    def headers(self, account: Account, stream: bool) -> dict[str, str]:
        """Base headers, the account's auth header and, for a stream, ``Accept``. The caller may not change
        the dict it gets (it is cached per key when not streaming)."""
        key = account.api_key
        h = self._auth_cache.get(key)
        if h is None:
            h = dict(self._base_headers)
            auth = self.auth_header(key)
            if auth is not None:
                h[auth[0]] = auth[1]
            if len(self._auth_cache) < 1024:
                self._auth_cache[key] = h
        if stream:
            return {**h, "accept" if self.lower_headers else "Accept": _ACCEPT[self.stream_framing]}
        return h

    # -- send ----------------------------------------------------------------------------------------

    def proxy(self, account: Account) -> str | None:
        return account.proxy or self.config.proxy

    async def send(
        self, url: str, body: bytes | None, headers: dict[str, str], proxy: str | None, method: str = "POST"
    ) -> aiohttp.ClientResponse:
        """Send upstream; a non-2xx answer is read, released and raised as a mapped ``GatewayError``."""
        trace = self.trace
        resp = await self.upstream.request(method, url, data=body, headers=headers, timeouts=self.timeouts,
                                           proxy=proxy)  # fmt: skip
        if trace is not None:
            trace("response", resp)
        if resp.status >= 300:
            try:
                raw = await read_body(resp, self.timeouts.idle)
            finally:
                resp.release()
            if trace is not None:
                trace("chunk", raw)
            raise map_upstream_error(resp.status, raw, resp.headers, self.rules, self.name)
        return resp

    async def get_json(self, url: str, headers: dict[str, str], proxy: str | None, what: str) -> Any:
        """GET a JSON document upstream (model lists); errors mapped like chat errors."""
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

    async def read_json(self, resp: aiohttp.ClientResponse) -> Any:
        """A whole JSON answer."""
        raw = await read_body(resp, self.timeouts.idle)
        if self.trace is not None:
            self.trace("chunk", raw)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise GatewayError("upstream", f"Upstream sent invalid JSON: {raw[:200]!r}") from None

    # -- the translating path ------------------------------------------------------------------------

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        """The upstream request for ``req`` (raise a 400 ``GatewayError`` for content it cannot carry)."""
        raise NotImplementedError

    def stream_parser(self, req: ChatRequest, model: str) -> StreamParser:
        """A parser for one streamed answer."""
        raise NotImplementedError

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        """A non-streamed JSON answer as the events a stream would give."""
        raise NotImplementedError

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        call = await self.build(req, model, account)
        if self.trace is not None:
            self.trace("request", call)
        resp = await self.send(call.url, call.body, call.headers, self.proxy(account), call.method)
        try:
            if req.stream:
                async for e in self.events(resp, self.stream_parser(req, model), self.stream_framing):
                    yield e
            else:
                for e in self.response_events(await self.read_json(resp), req, model):
                    yield e
        finally:
            resp.release()

    async def events(
        self, resp: aiohttp.ClientResponse, parser: StreamParser, framing: Framing
    ) -> AsyncIterator[Event]:
        """Decode the body, feed each frame to ``parser``, yield what it makes.

        Before the response started a failure is raised (routing may retry elsewhere); after, it ends the
        stream as an ``ErrorEvent``. Reading stops when the parser is done."""
        decoder = frame_decoder(framing)
        trace = self.trace
        try:
            async for chunk in iter_body(resp, self.timeouts.idle):
                if chunk is None:
                    continue
                if trace is not None:
                    trace("chunk", chunk)
                for e in _feed(parser, decoder.feed(chunk)):
                    yield e
                if parser.done:
                    break
            else:
                for e in _feed(parser, decoder.close()):
                    yield e
            out = parser.close()
        except GatewayError as err:
            if not parser.started:
                raise
            for e in parser.abort(err):
                yield e
            return
        for e in out:
            yield e

    # -- models --------------------------------------------------------------------------------------

    models_url: str | None = None
    """Where the upstream lists its models (None: no discovery)."""

    def model_list(self, doc: Any) -> list[ModelInfo]:
        """The upstream's model list document as model infos (default: OpenAI's ``{"data": [{"id"}]}``)."""
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise GatewayError("upstream", "Upstream model list answer is not a model list")
        return [ModelInfo(str(m["id"]), m.get("display_name"), int(m.get("created") or time.time()))
                for m in data if isinstance(m, dict) and m.get("id")]  # fmt: skip

    async def list_models(self) -> list[ModelInfo]:
        """The configured models; with ``discover_models``, the upstream's own first."""
        configured = [ModelInfo(m.id, m.display_name) for m in self.config.models]
        if not self.config.discover_models or not self.models_url:
            return configured
        key = self.config.api_keys[0] if self.config.api_keys else None
        account = Account(
            id=f"{self.name}#discover", provider=self.name, api_key=key, proxy=self.config.proxy
        )
        doc = await self.get_json(self.models_url, self.headers(account, False), account.proxy, "model list")
        found = self.model_list(doc)
        known = {m.id for m in found}
        return found + [m for m in configured if m.id not in known]


def _feed(parser: StreamParser, frames: list[Frame]) -> list[Event]:
    """Feed frames until the parser is done; the events they made."""
    if len(frames) == 1:
        return parser.feed_frame(frames[0])
    out: list[Event] = []
    try:
        for frame in frames:
            out += parser.feed_frame(frame)
            if parser.done:
                break
    except GatewayError:
        parser.parts.events[:0] = out  # made before the failure: out first (see StreamParser.abort)
        raise
    return out
