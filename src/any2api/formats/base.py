"""What a client dialect provides to the generic request handlers in ``api/``.

A dialect is one package in ``formats/`` (parse, render, stream, sniff, dialect) plus one ``register`` line in
``formats/registry.py``. It declares its routes (:class:`DialectRoute`) and everything the handlers need to
serve them: reading a request (:meth:`Dialect.peek`, :meth:`Dialect.credentials`, :meth:`Dialect.parse_request`
over a :class:`RequestContext`), rendering answers, model lists and errors in its own shape, and a
:class:`StreamRenderer` that owns the stream framing (content type, start, heartbeat, end, error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

import orjson

from ..core.errors import GatewayError
from ..core.events import Event
from ..core.request import ChatRequest
from ..core.response import ChatResponse, Usage
from ..jsonutil import loads_body

SSE_CONTENT_TYPE = b"text/event-stream; charset=utf-8"

_UNREAD: Any = object()


class RequestContext:
    """One HTTP request as a dialect sees it.

    ``headers`` have lower-case names; ``path_params`` come from the matched route (``{model}``,
    ``{model}:{action}``); ``query`` is the decoded query string (last value wins), parsed on first use.
    ``body`` is the raw request body and ``json`` its JSON, decoded once on first use (a malformed body
    raises the ``invalid_json`` :class:`GatewayError`). ``client_id`` is the authenticated key's id (set
    by the handler before the dialect hooks run); ``state`` is free for the dialect's own hooks."""

    __slots__ = ("_json", "_query", "body", "client_id", "headers", "method", "path", "path_params",
                 "query_string", "state")  # fmt: skip

    def __init__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        query_string: bytes = b"",
        path_params: Mapping[str, Any] | None = None,
        body: bytes = b"",
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.query_string = query_string
        self.path_params: Mapping[str, Any] = path_params if path_params is not None else {}
        self.body = body
        self.client_id = ""
        self.state: dict[str, Any] = {}
        self._json: Any = _UNREAD
        self._query: dict[str, str] | None = None

    @property
    def json(self) -> Any:
        j = self._json
        if j is _UNREAD:
            j = self._json = loads_body(self.body)
        return j

    @json.setter
    def json(self, value: Any) -> None:
        """A hook may replace the decoded body (e.g. to inline stored history)."""
        self._json = value

    @property
    def query(self) -> dict[str, str]:
        q = self._query
        if q is None:
            q = self._query = dict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))
        return q


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The client key of OpenAI- and Anthropic-style requests: ``Authorization: Bearer``, else ``x-api-key``
    or ``api-key``. An ``Authorization`` header of another scheme gives no key."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer":
            return token.strip() or None
        return None
    return headers.get("x-api-key") or headers.get("api-key") or None


RouteKind = Literal["chat", "models", "model", "count_tokens", "custom"]
"""What a route is, which picks the generic handler that serves it:

- ``chat``: the chat handler (auth, routing, pass-through or translation, streaming);
- ``models``: the model list, rendered by :meth:`Dialect.render_model_list`;
- ``model``: one model, named by the path parameter ``model``, rendered by :meth:`Dialect.render_model`;
- ``count_tokens``: :meth:`Dialect.parse_count_request`, counted locally, :meth:`Dialect.render_token_count`;
- ``custom``: the route's own ``handler`` (after authentication), for dialect-specific endpoints."""

CustomHandler = Callable[[RequestContext], Awaitable[bytes]]
"""A dialect-specific endpoint: the authenticated request in, a JSON body (status 200) out; failures are
raised as :class:`GatewayError` and rendered by the dialect."""


@dataclass(frozen=True, slots=True)
class DialectRoute:
    """One route a dialect answers.

    ``path`` uses Starlette's syntax: ``{name}`` matches one path segment (or part of one:
    ``/v1beta/models/{model}:{action}``), ``{name:path}`` the rest of the path. ``when_header``
    discriminates a path two dialects share: the route answers only requests that carry this header
    (``GET /v1/models`` with ``anthropic-version`` is Anthropic's list, without it OpenAI's). On a shared
    path, at most one dialect may leave it unset (per method); that one answers everything else."""

    path: str
    kind: RouteKind
    methods: tuple[str, ...] = ("POST",)
    when_header: str | None = None
    handler: CustomHandler | None = None
    auth: bool = True


def chat_route(path: str) -> DialectRoute:
    return DialectRoute(path, "chat")


def models_route(path: str, when_header: str | None = None) -> DialectRoute:
    return DialectRoute(path, "models", ("GET",), when_header)


def model_route(path: str, when_header: str | None = None) -> DialectRoute:
    """``path`` must have a ``{model}`` (or ``{model:path}``) parameter."""
    return DialectRoute(path, "model", ("GET",), when_header)


def count_tokens_route(path: str) -> DialectRoute:
    return DialectRoute(path, "count_tokens")


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    """The upstream a translated request goes to first (the first route of its model), as
    :meth:`Dialect.before_upstream` sees it: plain data, no provider object."""

    provider: str
    """The configured provider's name (state sealed for the client is bound to it)."""
    wire: str
    """The wire format it speaks (``Provider.dialect``): equal to the dialect's ``wire`` when the upstream
    speaks the client's format but the request is translated anyway."""
    options: Mapping[str, Any]
    """The provider's ``options`` block from the config (its type's own settings)."""
    hosted_tools: Literal["error", "drop"] = "error"
    """The provider's ``hosted_tools`` setting: tools only the vendor runs (a dialect's hosted / server
    tools), when this upstream cannot run them, are refused (``error``) or left out (``drop``)."""


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One model of the gateway's model list, for a dialect to render."""

    id: str
    owner: str
    """The provider that serves it (OpenAI's ``owned_by``)."""
    created: int
    """Unix seconds (the gateway's start time)."""


class StreamRenderer:
    """Turns hub events into the dialect's stream bytes. One instance per response.

    The renderer owns the framing: ``content_type``, ``start`` (sent once before the first event),
    ``heartbeat`` (sent during silences; must be legal between two events of this framing, or empty for
    none), ``end`` and ``error``. On the pass-through path only ``heartbeat`` and ``error`` are used (the
    upstream's bytes carry their own framing)."""

    content_type: ClassVar[bytes] = SSE_CONTENT_TYPE

    def start(self) -> bytes:
        """Bytes before the first event (``[`` for a JSON-array stream; nothing for SSE)."""
        return b""

    def event(self, e: Event) -> bytes:
        raise NotImplementedError

    def error(self, err: GatewayError) -> bytes:
        """The terminal error event(s) for a stream that broke (including any closing marker)."""
        raise NotImplementedError

    def end(self) -> bytes:
        """Closing bytes after a successful stream (e.g. ``data: [DONE]``)."""
        return b""

    def heartbeat(self) -> bytes:
        """Keep-alive bytes for a silence (an SSE comment). Empty: this framing has none, and the handler
        sends none (and skips the heartbeat timer)."""
        return b": keep-alive\n\n"


class UsageSniffer:
    """Watches passed-through upstream bytes (same wire format) and extracts usage without re-rendering.

    ``feed`` returns the bytes to forward now (it may hold back an unfinished line, or remove an event the
    client did not ask for); ``flush`` returns what is held back at the end. A non-streamed body is kept
    whole and its ``usage`` object decoded once, at the end, by ``parse_wire_usage``."""

    __slots__ = ("_tail", "_usage", "stream")

    def __init__(self, stream: bool) -> None:
        self.stream = stream
        self._tail = b""
        self._usage: Usage | None = None

    def feed(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def _whole_lines(self, chunk: bytes) -> bytes:
        """What came so far up to its last line end (a stream is forwarded at line granularity, which never
        delays an SSE event: it dispatches on the blank line); the unfinished rest waits in ``_tail``."""
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n") + 1
        if end == len(data):
            self._tail = b""
            return data
        self._tail = data[end:]
        return data[:end]

    def parse_wire_usage(self, usage: dict[str, Any]) -> Usage:
        raise NotImplementedError

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail if self.stream else b""

    def usage(self) -> Usage | None:
        if self.stream:
            return self._usage
        try:
            obj = orjson.loads(self._tail)
        except orjson.JSONDecodeError:
            return None
        u = obj.get("usage") if isinstance(obj, dict) else None
        return self.parse_wire_usage(u) if isinstance(u, dict) else None


class Dialect:
    """A client dialect.

    ``name`` is unique among registered dialects. ``wire`` is the wire format its bodies are in: the
    pass-through path is taken when every route's provider speaks it (``Provider.dialect == wire``), and
    parsed requests keep fields without a hub slot under ``vendor_extra[wire]``. Two dialects may share
    a wire format (OpenAI Chat and the ``/chat`` proxy dialect differ only in their error shape).

    ``namespaces`` are path prefixes the dialect owns beyond its routes: errors for unknown paths or
    wrong methods under them are rendered by this dialect (the prefixes of its routes count already)."""

    name: ClassVar[str] = ""
    wire: ClassVar[str] = ""
    namespaces: ClassVar[tuple[str, ...]] = ()

    # ---------------------------------------------------------------- declaration

    def routes(self) -> Sequence[DialectRoute]:
        raise NotImplementedError

    def warm(self) -> None:
        """Load what the first request would otherwise wait for (called once, when the app is built)."""
        return None

    def variant(self, ctx: RequestContext) -> Dialect:
        """The dialect object that serves this request (default: this one). A dialect whose rendering
        depends on the request beyond its body (Gemini's ``?alt=sse`` picks SSE or a JSON-array stream,
        for the renderer and the usage sniffer alike) returns a twin built once beside it; the twin is not
        registered. Called by the chat handler before anything else, only when overridden (checked once)."""
        return self

    # ---------------------------------------------------------------- reading a request

    def credentials(self, ctx: RequestContext) -> str | None:
        """The client's gateway key (``None``: none sent)."""
        return bearer_token(ctx.headers)

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        """The cheap checks both paths share (body shape, ``model``, message roles): (model, stream)."""
        raise NotImplementedError

    def wants_usage(self, body: Any) -> bool:
        """Whether a streamed answer must carry usage for this client. ``False`` lets the pass-through
        sniffer strip the usage the gateway asked the upstream for (OpenAI's ``stream_options``)."""
        return True

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        """Validate the request; raise ``GatewayError`` (invalid_request, ``param`` naming the field)."""
        raise NotImplementedError

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        """``strip``: the gateway asked the upstream for usage the client did not request; remove it."""
        return None

    # ---------------------------------------------------------------- state hooks (no-ops by default)

    async def before_routing(self, ctx: RequestContext) -> None:
        """Runs after authentication and ``peek``, before the model is routed. A dialect with state may
        rewrite ``ctx.json`` here (inline the history of a ``previous_response_id``; the model stays the
        peeked one) or refuse the request (raise ``GatewayError``). ``ctx.headers`` are what a pass-through
        hands to ``Provider.forward``: a hook may add a header its own wire's upstream reads there. Not
        overridden: the handler does not call it."""
        return None

    def before_upstream(self, ctx: RequestContext, req: ChatRequest, target: UpstreamTarget) -> None:
        """Runs on the translating path after :meth:`parse_request`, once the model is routed, with the
        upstream the request goes to first. For what depends on the upstream: refuse content only some
        upstreams can take (raise ``GatewayError``), or restore state the client carried for that provider.
        Synchronous (no I/O on the hot path). Not called on the pass-through path; not overridden: the
        handler does not call it."""
        return None

    async def before_translation(self, ctx: RequestContext, wires: frozenset[str]) -> None:
        """Runs when the request will be translated (not passed through), with the wire formats of the
        providers it may go to (``Provider.dialect`` of every route). Raise ``GatewayError`` to refuse what
        only some wire formats can carry (Gemini's ``cachedContent`` needs a Gemini upstream). Not
        overridden: the handler does not call it."""
        return None

    async def after_completion(self, ctx: RequestContext, req: ChatRequest, resp: ChatResponse) -> None:
        """Runs after a translated answer was sent in full (streamed or not), with the accumulated response
        (store a response for later retrieval). Not called on the pass-through path (the upstream speaks
        this wire format and keeps its own state), nor after a failure. Not overridden: the handler
        neither calls it nor accumulates streams for it."""
        return None

    # ---------------------------------------------------------------- rendering

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        raise NotImplementedError

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        raise NotImplementedError

    def render_error(self, err: GatewayError) -> bytes:
        """The JSON error body (status is ``error_status(err)``)."""
        raise NotImplementedError

    def error_status(self, err: GatewayError) -> int:
        return err.status

    def render_model_list(self, models: Sequence[ModelCard]) -> bytes:
        raise NotImplementedError

    def render_model(self, model: ModelCard) -> bytes:
        raise NotImplementedError

    # ---------------------------------------------------------------- count_tokens routes

    def parse_count_request(self, ctx: RequestContext) -> ChatRequest:
        """The body of a ``count_tokens`` route as a hub request (only ``model``, messages, tools matter)."""
        raise NotImplementedError

    def render_token_count(self, n: int) -> bytes:
        raise NotImplementedError


def overrides(dialect: Dialect, method: str) -> bool:
    """Whether ``dialect`` overrides a hook of :class:`Dialect` (the handlers skip hooks that are not)."""
    return getattr(type(dialect), method) is not getattr(Dialect, method)
