"""Stored responses (``store: true``, the API's default): ``previous_response_id``, ``item_reference``, and
what ``GET /v1/responses/{id}`` (``/input_items``) and ``DELETE`` read.

The store is **in memory and per instance**: bounded (``MAX_RESPONSES`` responses, each kept
``RETENTION_SECONDS``), lost on restart, not shared between instances or workers. A client that needs its
conversation on any instance sends the whole history with ``store: false`` (what Codex does); reasoning then
travels sealed in ``encrypted_content``. Only the API key that made a response can read, continue or delete
it; for any other key it does not exist (404).

Answers that pass through to a Responses upstream unchanged are stored by that upstream (if at all), not
here. Continuing a locally stored response never passes through: its id is this gateway's
(``LOCAL_ID_PREFIX``) and the conversation has to be sent in full.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import GatewayError, invalid
from ...core.request import ChatRequest
from ...wire.openai_responses import LOCAL_ID_PREFIX, NAME, new_id
from .dialect import OpenAIResponses
from .parse import parse_request

MAX_RESPONSES = 1000
MAX_BYTES = 64 * 1024 * 1024
"""About this much text (inputs, images as data URLs included) is kept at most; the oldest go first."""
RETENTION_SECONDS = 3600.0
SINK = "_sink"
"""``vendor_extra`` key of the callback that stores the finished response (see :class:`Sink`)."""


@dataclass(slots=True)
class Stored:
    owner: str
    response: dict[str, Any]
    """The Response object as the client got it."""
    input_items: list[dict[str, Any]]
    """This request's input items (each with an id)."""
    conversation: list[dict[str, Any]]
    """Every item up to and including this response's output (reasoning sealed), for continuations."""
    expires: float
    item_ids: list[str] = field(default_factory=list)
    size: int = 0


class ResponseStore:
    """Bounded, expiring, per-instance storage of responses and their items."""

    def __init__(self, max_responses: int = MAX_RESPONSES, retention: float = RETENTION_SECONDS,
                 max_bytes: int = MAX_BYTES) -> None:  # fmt: skip
        self.max = max_responses
        self.max_bytes = max_bytes
        self.retention = retention
        self.size = 0
        self._responses: OrderedDict[str, Stored] = OrderedDict()
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}

    def put(self, rid: str, entry: Stored) -> None:
        old = self._responses.pop(rid, None)
        if old is not None:
            self._forget_items(old)
        entry.expires = time.monotonic() + self.retention
        entry.size = _approx_size(entry.input_items) + _approx_size(entry.response.get("output"))
        if entry.size > self.max_bytes:
            return  # larger than the whole store: not kept
        for it in (*entry.input_items, *entry.response.get("output", ())):
            iid = it.get("id") if isinstance(it, dict) else None
            if isinstance(iid, str) and iid:
                self._items[iid] = (entry.owner, it)
                entry.item_ids.append(iid)
        self._responses[rid] = entry
        self.size += entry.size
        while len(self._responses) > self.max or self.size > self.max_bytes:
            _, evicted = self._responses.popitem(last=False)
            self._forget_items(evicted)

    def _forget_items(self, entry: Stored) -> None:
        self.size -= entry.size
        entry.size = 0
        for iid in entry.item_ids:
            self._items.pop(iid, None)

    def get(self, rid: str, owner: str) -> Stored | None:
        entry = self._responses.get(rid)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._forget_items(entry)
            del self._responses[rid]
            return None
        return entry if entry.owner == owner else None

    def delete(self, rid: str, owner: str) -> bool:
        if self.get(rid, owner) is None:
            return False
        self._forget_items(self._responses.pop(rid))
        return True

    def item(self, iid: str, owner: str) -> dict[str, Any] | None:
        found = self._items.get(iid)
        return found[1] if found is not None and found[0] == owner else None


def _approx_size(v: Any, depth: int = 0) -> int:
    """The length of the text in items (their strings, a few levels deep): what keeping them costs."""
    if isinstance(v, str):
        return len(v)
    if depth > 6:
        return 0
    if isinstance(v, dict):
        return sum(_approx_size(x, depth + 1) for x in v.values()) + 16
    if isinstance(v, list):
        return sum(_approx_size(x, depth + 1) for x in v) + 8
    return 8


def owner_of(headers: dict[str, str]) -> str:
    """Who may read a stored response: a digest of the API key that made it."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else auth
    else:
        token = headers.get("x-api-key") or headers.get("api-key") or ""
    return hashlib.sha256(token.encode()).hexdigest()


def not_found(rid: str, what: str = "Response", param: str | None = None) -> GatewayError:
    return GatewayError("not_found", f"{what} with id '{rid}' not found.", param=param, code="not_found")


def _input_items(inp: Any) -> list[dict[str, Any]]:
    """The request's input as items, each with an id (as ``/input_items`` lists them)."""
    if isinstance(inp, str):
        inp = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": inp}]}]
    out: list[dict[str, Any]] = []
    for it in inp if isinstance(inp, list) else ():
        if not isinstance(it, dict):
            continue
        it = dict(it)
        t = it.setdefault("type", "message" if "role" in it else "item_reference")
        if t == "message" and isinstance(it.get("content"), str):
            kind = "output_text" if it.get("role") == "assistant" else "input_text"
            it["content"] = [{"type": kind, "text": it["content"]}]
        if not it.get("id"):
            it["id"] = new_id(
                {"message": "msg", "function_call_output": "fco", "reasoning": "rs"}.get(t, "item")
            )
        out.append(it)
    return out


class Sink:
    """Stores the response of one request when it is finished (called by the renderers)."""

    __slots__ = ("items", "owner", "prior", "store")

    def __init__(self, store: ResponseStore, owner: str, prior: list[dict[str, Any]],
                 items: list[dict[str, Any]]) -> None:  # fmt: skip
        self.store = store
        self.owner = owner
        self.prior = prior
        self.items = items

    def __call__(self, response: dict[str, Any], full_output: list[dict[str, Any]]) -> None:
        conversation = [*self.prior, *self.items, *full_output]
        self.store.put(response["id"], Stored(self.owner, response, self.items, conversation, 0.0))


def unresolved_previous(req: ChatRequest) -> str | None:
    """A ``previous_response_id`` not stored here (only a Responses upstream may know it)."""
    v = req.extra_for(NAME).get("previous_response_id")
    return v if isinstance(v, str) else None


def sink_of(req: ChatRequest) -> Callable[[dict[str, Any], list[dict[str, Any]]], None] | None:
    s = req.extra_for(NAME).get(SINK)
    return s if callable(s) else None


class StatefulResponses(OpenAIResponses):
    """The Responses dialect with this instance's response store."""

    def __init__(self, store: ResponseStore | None = None) -> None:
        self.store = store or ResponseStore()

    def parse_request(self, body: Any, headers: dict[str, str]) -> ChatRequest:
        if not isinstance(body, dict):
            return parse_request(body)
        owner = owner_of(headers)
        prior: list[dict[str, Any]] = []
        prev = body.get("previous_response_id")
        if prev is not None:
            if not isinstance(prev, str) or not prev:
                raise invalid("'previous_response_id' must be a non-empty string.", "previous_response_id")
            entry = self.store.get(prev, owner)
            if entry is None and prev.startswith(LOCAL_ID_PREFIX):
                raise not_found(prev, "Previous response", "previous_response_id")
            prior = entry.conversation if entry is not None else []
        inp = body.get("input")
        items = _input_items(inp) if body.get("store") is not False else []
        expanded = dict(body)
        if prior:
            own = [inp] if isinstance(inp, str) else list(inp) if isinstance(inp, list) else []
            if own and isinstance(own[0], str):
                own = [{"type": "message", "role": "user", "content": own[0]}]
            expanded["input"] = [*prior, *own]
            expanded.pop("previous_response_id")  # resolved here; an upstream's own id stays for it
        req = parse_request(expanded, lambda iid: self.store.item(iid, owner))
        extra = req.vendor_extra[NAME]
        if prev is not None and prior:
            extra["_previous_response_id"] = prev
        if body.get("store") is not False:
            extra[SINK] = Sink(self.store, owner, prior, items)
        return req
