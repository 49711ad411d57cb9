"""The OpenAI Responses client dialect: its routes, its state hooks and its own endpoints.

Routes:

* ``POST /v1/responses`` (and ``/responses``): chat. ``before_routing`` inlines a ``previous_response_id``
  stored here and stored ``item_reference`` items; ``before_upstream`` refuses what only a Responses upstream
  can take (hosted tools, their items, an upstream's own ``previous_response_id``) and opens reasoning this
  gateway sealed for the provider the request goes to; ``after_completion`` stores the answer
  (``store: true``, the default).
* ``POST /v1/responses/compact``: chat too. Passed through to a Responses upstream's ``/compact`` (the hook
  adds :data:`~any2api.wire.openai_responses.COMPACT_HEADER` to the headers ``Provider.forward`` gets);
  elsewhere a summarising call to the routed model, rendered in the compacted shape (``compact.py``).
* ``POST /v1/responses/input_tokens``: ``count_tokens`` (the routed model's tokenizer, nothing goes upstream).
* ``GET``/``DELETE /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items``: stored responses (custom
  routes; ``state.py``: in memory, per instance, bounded; only the key that made a response sees it).

Errors are OpenAI's shape; a parameter an upstream's refusal names in another format's terms
(``max_tokens``) is renamed to the Responses field (``max_output_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from ...core.errors import GatewayError, invalid
from ...core.request import ChatRequest
from ...core.response import ChatResponse
from ...wire.openai_responses import COMPACT_HEADER, NAME, error_json
from ..base import (
    Dialect,
    DialectRoute,
    RequestContext,
    StreamRenderer,
    UpstreamTarget,
    UsageSniffer,
    chat_route,
    count_tokens_route,
)
from .compact import compacted, summary_request
from .parse import foreign_items, hosted_tools, parse_request, peek, restore_reasoning
from .render import render_response
from .sniff import ResponsesUsageSniffer
from .state import (
    RECORD,
    Continuation,
    Record,
    ResponseStore,
    Stored,
    continue_stored,
    not_found,
    record_of,
    stored_input_items,
    unresolved_previous,
)
from .stream import ResponsesStreamRenderer

COMPACT_PATHS = frozenset({"/v1/responses/compact", "/responses/compact"})
COMPACT = "_compact"
"""``vendor_extra`` key of a compaction request: the request's own input (kept in the compacted answer)."""

PARAMS = {
    "response_format": "text.format",
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
}
"""Hub / other-format parameter names an upstream's refusal may name -> the Responses field."""

# ctx.state keys
_INPUT = "input"
"""The request's own ``input`` as sent (before a stored conversation was inlined)."""
_CONTINUES = "continues"
"""The :class:`Continuation` of a request continuing a stored response."""


def error_body(err: GatewayError) -> dict[str, Any]:
    """OpenAI's error body, a parameter named in another format's terms renamed to the Responses field."""
    body = error_json(err)
    p = err.param
    if p is not None and p in PARAMS:
        e = body["error"]
        e["param"] = PARAMS[p]
        e["message"] = err.message.replace(p, PARAMS[p])
    return body


def _no_item(iid: str) -> dict[str, Any] | None:
    """Item references left after :func:`continue_stored` are of nothing stored (for this key)."""
    return None


class OpenAIResponses(Dialect):
    name: ClassVar[str] = NAME
    wire: ClassVar[str] = NAME

    def __init__(self, store: ResponseStore | None = None) -> None:
        self.store = store or ResponseStore()

    def routes(self) -> Sequence[DialectRoute]:
        out: list[DialectRoute] = []
        for base in ("/v1/responses", "/responses"):
            out += [
                chat_route(base),
                chat_route(base + "/compact"),
                count_tokens_route(base + "/input_tokens"),
                DialectRoute(base + "/{response_id}", "custom", ("GET", "DELETE"), handler=self.stored),
                DialectRoute(
                    base + "/{response_id}/input_items", "custom", ("GET",), handler=self.input_items
                ),
            ]
        return out

    # ---------------------------------------------------------------- reading a request

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        model, stream = peek(ctx.json)
        return model, stream and ctx.path not in COMPACT_PATHS

    async def before_routing(self, ctx: RequestContext) -> None:
        body: dict[str, Any] = ctx.json
        ctx.state[_INPUT] = body.get("input")
        if ctx.path in COMPACT_PATHS:
            body = {k: v for k, v in body.items() if k != "stream"}
            body["store"] = False
            ctx.headers[COMPACT_HEADER] = "1"  # a pass-through goes to the upstream's /compact
        elif COMPACT_HEADER in ctx.headers:
            del ctx.headers[COMPACT_HEADER]  # the gateway's own marker, never the client's
        new, cont = continue_stored(self.store, ctx.client_id, body)
        if cont is not None:
            ctx.state[_CONTINUES] = cont
        if new is not ctx.json:
            ctx.json = new

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        return self._parse(
            ctx.json, ctx.state.get(_CONTINUES), ctx.path in COMPACT_PATHS, ctx.state.get(_INPUT)
        )

    def _parse(
        self, body: dict[str, Any], cont: Continuation | None, compact: bool, own_input: Any
    ) -> ChatRequest:
        if cont is not None:  # inlined already: the id is echoed, never sent on
            body = {k: v for k, v in body.items() if k != "previous_response_id"}
        req = parse_request(body, _no_item)
        extra = req.vendor_extra[NAME]
        if cont is not None:
            extra["_previous_response_id"] = cont.previous_id
        if compact:
            req = summary_request(req)
            req.vendor_extra[NAME][COMPACT] = {"input": own_input}
        elif body.get("store") is not False:
            extra[RECORD] = Record()
        return req

    def before_upstream(self, ctx: RequestContext, req: ChatRequest, target: UpstreamTarget) -> None:
        """What depends on the upstream: hosted tools and their items, an upstream's stored ids, sealed
        reasoning (opened for ``target.provider`` only)."""
        if target.wire != NAME:
            hosted = hosted_tools(req)
            if hosted and target.hosted_tools != "drop":
                raise GatewayError(
                    "invalid_request",
                    f"The hosted tool {hosted[0]!r} needs an OpenAI Responses upstream, but model {req.model!r} "
                    f"is served by provider {target.provider!r}. Remove the tool, or set "
                    "'hosted_tools: drop' on that provider to leave hosted tools out.",
                    param="tools", code="unsupported_tool",
                )  # fmt: skip
            items = foreign_items(req)
            if items:
                field, kind = items[0]
                raise GatewayError(
                    "invalid_request",
                    f"Input item '{field}' ({kind}) comes from a tool only the OpenAI Responses API runs; model "
                    f"{req.model!r} is served by provider {target.provider!r}, which cannot take it.",
                    param=field, code="unsupported_content",
                )  # fmt: skip
            prev = unresolved_previous(req)
            if prev is not None:
                raise not_found(prev, "Previous response", "previous_response_id")
        restore_reasoning(req, target.provider)

    async def after_completion(self, ctx: RequestContext, req: ChatRequest, resp: ChatResponse) -> None:
        """Store what the renderer sent (``store: true``) under the id the client got."""
        rec = record_of(req.extra_for(NAME))
        if rec is None or rec.response is None:
            return
        items = stored_input_items(ctx.state.get(_INPUT))
        cont: Continuation | None = ctx.state.get(_CONTINUES)
        conversation = [*(cont.prior if cont is not None else ()), *items, *rec.full]
        self.store.put(rec.response["id"], Stored(ctx.client_id, rec.response, items, conversation, 0.0))

    def usage_sniffer(self, stream: bool, strip: bool = False) -> UsageSniffer | None:
        return ResponsesUsageSniffer(stream)

    # ---------------------------------------------------------------- rendering

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        compact = req.extra_for(NAME).get(COMPACT)
        if compact is not None:
            return orjson.dumps(compacted(compact, resp))
        return render_response(resp, req)

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return ResponsesStreamRenderer(req)

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_body(err))

    # ---------------------------------------------------------------- input_tokens

    def parse_count_request(self, ctx: RequestContext) -> ChatRequest:
        body = ctx.json
        peek(body)
        body, cont = continue_stored(self.store, ctx.client_id, {**body, "store": False})
        return self._parse(body, cont, False, None)

    def render_token_count(self, n: int) -> bytes:
        return orjson.dumps({"object": "response.input_tokens", "input_tokens": n})

    # ---------------------------------------------------------------- stored responses

    def _entry(self, ctx: RequestContext) -> tuple[str, Stored]:
        rid = str(ctx.path_params["response_id"])
        entry = self.store.get(rid, ctx.client_id)
        if entry is None:
            raise not_found(rid)
        return rid, entry

    async def stored(self, ctx: RequestContext) -> bytes:
        """``GET`` (the Response object as the client got it) or ``DELETE`` a stored response."""
        rid, entry = self._entry(ctx)
        if ctx.method == "DELETE":
            self.store.delete(rid, ctx.client_id)
            return orjson.dumps({"id": rid, "object": "response", "deleted": True})
        return orjson.dumps(entry.response)

    async def input_items(self, ctx: RequestContext) -> bytes:
        """``GET /v1/responses/{id}/input_items``: the request's input items, paged (``order``, ``limit``,
        ``after``)."""
        _, entry = self._entry(ctx)
        q = ctx.query
        order = q.get("order", "desc")
        if order not in ("asc", "desc"):
            raise invalid(
                f"Invalid value for 'order': {order!r}. Supported values are: 'asc' and 'desc'.", "order"
            )
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            raise invalid("'limit' must be an integer.", "limit") from None
        if not 1 <= limit <= 100:
            raise invalid("'limit' must be between 1 and 100.", "limit")
        items: list[dict[str, Any]] = list(
            entry.input_items if order == "asc" else reversed(entry.input_items)
        )
        after = q.get("after")
        if after:
            ids = [it.get("id") for it in items]
            if after not in ids:
                raise not_found(after, "Item", "after")
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return orjson.dumps({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                             "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})  # fmt: skip


OPENAI_RESPONSES = OpenAIResponses()
DIALECT = OPENAI_RESPONSES
