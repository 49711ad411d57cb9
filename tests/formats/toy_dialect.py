"""A toy client dialect, written the way the recipe "Add a client dialect" says, touching nothing in src/.

The "Toy" API (made up, but shaped like Gemini's to exercise the same seams):

- ``POST /toy/v1/models/{model}:{action}``, action ``say`` (one JSON answer) or ``streamSay`` (a JSON-array
  stream: ``[`` then ``{"delta": ...}`` elements, ``]``; no heartbeat exists in that framing);
- the key in ``x-toy-key`` or ``?key=``; the body ``{"prompt": "...", "limit": n}``;
- answers ``{"id": "...", "reply": "...", "finish": "...", "tokens": {"in": n, "out": n}}`` (a stream: the id
  first, the finish and tokens last);
- errors ``{"toy_error": {"code": ..., "message": ..., "field": ...}}`` (in a stream: a last element);
- ``GET /toy/v1/models`` and ``GET /toy/v1/models/{model}``, and ``GET /v1/models`` when the request has
  an ``x-toy`` header (the path OpenAI's dialect answers otherwise);
- state: every finished answer is kept (``after_completion``) and can be read back with
  ``GET /toy/v1/replies/{id}`` (a custom route); ``"again": "<id>"`` in a request prepends that reply's
  prompt (``before_routing``, the way Responses' ``previous_response_id`` would).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from any2api.core.errors import GatewayError, invalid
from any2api.core.events import ErrorEvent, Event, Finish, PartDelta, PartStart, ResponseStart, UsageEvent
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.core.response import ChatResponse, Usage
from any2api.formats.base import (
    Dialect,
    DialectRoute,
    ModelCard,
    RequestContext,
    StreamRenderer,
    chat_route,
    model_route,
    models_route,
)

WIRE = "toy"
ACTIONS = {"say": False, "streamSay": True}


def error_body(err: GatewayError) -> dict[str, Any]:
    return {"toy_error": {"code": err.code or err.kind, "message": err.message, "field": err.param}}


class ToyStreamRenderer(StreamRenderer):
    """Hub events -> a JSON array, one element per text delta."""

    content_type: ClassVar[bytes] = b"application/json"

    def __init__(self) -> None:
        self._sep = b""
        self._usage = Usage()
        self._finish = "stop"

    def start(self) -> bytes:
        return b"["

    def heartbeat(self) -> bytes:
        return b""  # nothing is legal between two array elements

    def _element(self, obj: Any) -> bytes:
        out = self._sep + orjson.dumps(obj)
        self._sep = b","
        return out

    def event(self, e: Event) -> bytes:
        if isinstance(e, ResponseStart):
            return self._element({"id": e.id})
        if isinstance(e, PartStart) and isinstance(e.part, TextPart) and e.part.text:
            return self._element({"delta": e.part.text})
        if isinstance(e, PartDelta) and e.delta:
            return self._element({"delta": e.delta})
        if isinstance(e, UsageEvent):
            self._usage.merge(e.usage)
        elif isinstance(e, Finish):
            self._finish = e.reason
        elif isinstance(e, ErrorEvent):
            return self.error(e.error)
        return b""

    def end(self) -> bytes:
        tokens = {"in": self._usage.input_tokens, "out": self._usage.output_tokens}
        return self._element({"finish": self._finish, "tokens": tokens}) + b"]"

    def error(self, err: GatewayError) -> bytes:
        return self._element(error_body(err)) + b"]"


class ToyDialect(Dialect):
    name: ClassVar[str] = "toy"
    wire: ClassVar[str] = WIRE
    namespaces: ClassVar[tuple[str, ...]] = ("/toy",)

    def __init__(self) -> None:
        self.replies: dict[str, dict[str, Any]] = {}

    # -- declaration

    def routes(self) -> Sequence[DialectRoute]:
        return (
            chat_route("/toy/v1/models/{model}:{action}"),
            models_route("/toy/v1/models"),
            model_route("/toy/v1/models/{model}"),
            models_route("/v1/models", when_header="x-toy"),
            DialectRoute("/toy/v1/replies/{id}", "custom", ("GET",), handler=self.get_reply),
        )

    # -- reading a request

    def credentials(self, ctx: RequestContext) -> str | None:
        return ctx.headers.get("x-toy-key") or ctx.query.get("key")

    def peek(self, ctx: RequestContext) -> tuple[str, bool]:
        action = ctx.path_params["action"]
        if action not in ACTIONS:
            raise GatewayError("not_found", f"Unknown action {action!r}.", code="unknown_action")
        body = ctx.json
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            raise invalid("'prompt' must be a string.", "prompt", "invalid_prompt")
        return ctx.path_params["model"], ACTIONS[action]

    async def before_routing(self, ctx: RequestContext) -> None:
        again = ctx.json.get("again")
        if again is not None:
            prior = self.replies.get(again)
            if prior is None or prior["client"] != ctx.client_id:
                raise invalid(f"No stored reply {again!r}.", "again", "unknown_reply")
            ctx.json = {**ctx.json, "prompt": prior["prompt"] + " / " + ctx.json["prompt"]}

    def parse_request(self, ctx: RequestContext) -> ChatRequest:
        body = ctx.json
        limit = body.get("limit")
        if limit is not None and not (isinstance(limit, int) and limit > 0):
            raise invalid("'limit' must be a positive integer.", "limit", "invalid_limit")
        model, stream = self.peek(ctx)
        req = ChatRequest(model=model, messages=[Message("user", [TextPart(body["prompt"])])], stream=stream,
                          max_tokens=limit, origin=WIRE)  # fmt: skip
        ctx.state["prompt"] = body["prompt"]
        return req

    async def after_completion(self, ctx: RequestContext, req: ChatRequest, resp: ChatResponse) -> None:
        self.replies[resp.id] = {"client": ctx.client_id, "prompt": ctx.state["prompt"], "reply": resp.text()}

    async def get_reply(self, ctx: RequestContext) -> bytes:
        stored = self.replies.get(ctx.path_params["id"])
        if stored is None or stored["client"] != ctx.client_id:
            raise GatewayError("not_found", "No such reply.", code="unknown_reply")
        return orjson.dumps({"prompt": stored["prompt"], "reply": stored["reply"]})

    # -- rendering

    def render_response(self, resp: ChatResponse, req: ChatRequest) -> bytes:
        u = resp.usage or Usage()
        return orjson.dumps({"id": resp.id, "reply": resp.text(), "finish": resp.finish_reason or "stop",
                             "tokens": {"in": u.input_tokens, "out": u.output_tokens}})  # fmt: skip

    def stream_renderer(self, req: ChatRequest) -> StreamRenderer:
        return ToyStreamRenderer()

    def render_error(self, err: GatewayError) -> bytes:
        return orjson.dumps(error_body(err))

    def error_status(self, err: GatewayError) -> int:
        return 418 if err.kind == "internal" else err.status

    def render_model_list(self, models: Sequence[ModelCard]) -> bytes:
        return orjson.dumps({"toy_models": [m.id for m in models]})

    def render_model(self, model: ModelCard) -> bytes:
        return orjson.dumps({"toy_model": model.id, "served_by": model.owner})


TOY = ToyDialect()
