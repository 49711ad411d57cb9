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

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import GatewayError, invalid
from ...core.request import ChatRequest
from ...wire.openai_responses import ITEM_REFERENCE, LOCAL_ID_PREFIX, NAME, new_id

MAX_RESPONSES = 1000
MAX_BYTES = 64 * 1024 * 1024
"""About this much text (inputs, images as data URLs included) is kept at most; the oldest go first."""
RETENTION_SECONDS = 3600.0
RECORD = "_record"
"""``vendor_extra`` key of the :class:`Record` of a request whose response is stored."""


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

    def has_items(self) -> bool:
        return bool(self._items)

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


def not_found(rid: str, what: str = "Response", param: str | None = None) -> GatewayError:
    return GatewayError("not_found", f"{what} with id '{rid}' not found.", param=param, code="not_found")


def stored_input_items(inp: Any) -> list[dict[str, Any]]:
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


class Record:
    """What the renderer sent for one stored request (``store: true``), for :meth:`after_completion
    <any2api.formats.openai_responses.dialect.OpenAIResponses.after_completion>` to keep: the Response object
    as the client got it and every output item with its reasoning sealed. One per request, in
    ``req.vendor_extra["openai_responses"][RECORD]``."""

    __slots__ = ("full", "response")

    def __init__(self) -> None:
        self.response: dict[str, Any] | None = None
        self.full: list[dict[str, Any]] = []

    def keep(self, response: dict[str, Any], full: list[dict[str, Any]]) -> None:
        self.response = response
        self.full = full


def unresolved_previous(req: ChatRequest) -> str | None:
    """A ``previous_response_id`` not stored here (only a Responses upstream may know it)."""
    v = req.extra_for(NAME).get("previous_response_id")
    return v if isinstance(v, str) else None


def record_of(extra: dict[str, Any]) -> Record | None:
    r = extra.get(RECORD)
    return r if isinstance(r, Record) else None


@dataclass(slots=True)
class Continuation:
    """A request continuing a response stored here (``previous_response_id``): its id and the conversation
    inlined before the request's own input."""

    previous_id: str
    prior: list[dict[str, Any]]


def continue_stored(
    store: ResponseStore, owner: str, body: dict[str, Any]
) -> tuple[dict[str, Any], Continuation | None]:
    """The body with a locally stored ``previous_response_id`` inlined (its conversation, then the request's
    own input) and ``item_reference`` items of stored items replaced by the items. The id stays in the body:
    such a request never passes through (the upstream does not know our ids), and :func:`parse_request`
    leaves it out. A local id that is not (or no longer) stored is a 404; another id is left for a Responses
    upstream. Returns the body unchanged (the same object) when there is nothing to inline."""
    cont: Continuation | None = None
    prev = body.get("previous_response_id")
    if prev is not None:
        if not isinstance(prev, str) or not prev:
            raise invalid("'previous_response_id' must be a non-empty string.", "previous_response_id")
        entry = store.get(prev, owner)
        if entry is None and prev.startswith(LOCAL_ID_PREFIX):
            raise not_found(prev, "Previous response", "previous_response_id")
        if entry is not None:
            cont = Continuation(prev, entry.conversation)
            inp = body.get("input")
            own = [inp] if isinstance(inp, str) else list(inp) if isinstance(inp, list) else []
            if own and isinstance(own[0], str):
                own = [{"type": "message", "role": "user", "content": own[0]}]
            body = {**body, "input": [*entry.conversation, *own]}
    inp = body.get("input")
    if isinstance(inp, list) and store.has_items():
        resolved = _resolve_references(store, owner, inp)
        if resolved is not inp:
            body = {**body, "input": resolved}
    return body, cont


def _resolve_references(store: ResponseStore, owner: str, items: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for i, it in enumerate(items):
        if (
            isinstance(it, dict)
            and it.get("type", None if "role" in it else ITEM_REFERENCE) == ITEM_REFERENCE
        ):
            iid = it.get("id")
            found = store.item(iid, owner) if isinstance(iid, str) else None
            if found is not None and found.get("type") != ITEM_REFERENCE:
                if out is None:
                    out = list(items[:i])
                out.append(found)
                continue
        if out is not None:
            out.append(it)
    return items if out is None else out
