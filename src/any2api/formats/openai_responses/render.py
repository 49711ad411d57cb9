"""Hub response -> Response object (and the output items both it and the stream are made of)."""

from __future__ import annotations

import os
import time
from typing import Any, assert_never

import orjson

from ...core.parts import (
    JSON,
    ImagePart,
    OutputPart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
)
from ...core.request import ChatRequest
from ...core.response import ChatResponse, FinishReason, Usage
from ...core.seal import default_sealer, is_sealed
from ...wire import openai_responses as W
from ...wire.openai_responses import NAME, custom_input, new_id, status_for, usage_to_wire
from .state import record_of

ENCRYPTED_REASONING = "reasoning.encrypted_content"


def details(p: Any) -> dict[str, Any]:
    """The ``openai_responses`` namespace of a part's (or tool's) ``provider_details``."""
    pd = p.provider_details
    d = pd.get(NAME) if pd else None
    return d if isinstance(d, dict) else {}


def is_refusal(p: TextPart) -> bool:
    return bool(p.provider_details and (p.provider_details.get("openai") or {}).get("refusal"))


def seal_reasoning(p: ReasoningPart, provider: str | None) -> str | None:
    """``encrypted_content`` for a reasoning part: the upstream's own blob (a Responses upstream), else the
    part (text, signature, redacted data) sealed for the provider that produced it."""
    own = details(p).get("encrypted_content")
    if isinstance(own, str) and own and not is_sealed(own):
        return own
    if provider is None or not (p.text or p.signature or p.redacted):
        return None
    payload: dict[str, JSON] = {"t": p.text}
    if p.signature:
        payload["s"] = p.signature
    if p.redacted:
        payload["r"] = p.redacted
    return default_sealer().seal(provider, payload)


def _tool_echo(t: Any) -> Any:
    """A tool as the response object lists it: function tools with every field the reference requires."""
    if not isinstance(t, dict):
        return t
    if t.get("type") == "function":
        return {"type": "function", "description": t.get("description"), "name": t.get("name"),
                "parameters": t.get("parameters"), "strict": t.get("strict"),
                **{k: v for k, v in t.items() if k not in ("type", "description", "name", "parameters", "strict")}}  # fmt: skip
    if t.get("type") == "namespace" and isinstance(t.get("tools"), list):
        return {**t, "description": t.get("description") or "", "tools": [_tool_echo(x) for x in t["tools"]]}
    return t


class Shape:
    """What every Response object of one request repeats (the echo of the request) and what rendering
    needs to know about it. Built once per request."""

    __slots__ = ("custom", "echo_head", "echo_tail", "echo_tail_end", "include_encrypted", "model", "record",
                 "seal", "tools")  # fmt: skip

    def __init__(self, req: ChatRequest) -> None:
        extra = req.extra_for(NAME)
        self.model = req.model
        include = extra.get("include")
        self.include_encrypted = isinstance(include, list) and ENCRYPTED_REASONING in include
        self.record = record_of(extra)
        """Where the finished response goes to be stored (``store: true``); its copy keeps reasoning sealed for
        continuations."""
        self.seal = self.include_encrypted or self.record is not None
        self.custom: frozenset[str] = frozenset(extra.get("_custom") or ())
        self.tools: dict[str, dict[str, Any]] = {}
        """flat tool name -> its ``openai_responses`` details (namespace, original name, custom)."""
        for t in req.tools or ():
            d = details(t)
            if d:
                self.tools[t.name] = d
        rr, rt = extra.get("reasoning"), extra.get("text")
        raw_reasoning: dict[str, Any] = rr if isinstance(rr, dict) else {}
        raw_text: dict[str, Any] = rt if isinstance(rt, dict) else {}
        tc = req.tool_choice
        self.echo_head: dict[str, Any] = {
            "background": bool(extra.get("background") or False),
            "error": None,
            "incomplete_details": None,
            "instructions": extra.get("instructions"),
            "max_output_tokens": req.max_tokens,
            "max_tool_calls": extra.get("max_tool_calls"),
        }
        self.echo_tail: dict[str, Any] = {
            "parallel_tool_calls": tc.parallel if tc is not None and tc.parallel is not None else True,
            "previous_response_id": extra.get("previous_response_id") or extra.get("_previous_response_id"),
            "prompt_cache_key": extra.get("prompt_cache_key"),
            "reasoning": {"effort": raw_reasoning.get("effort"), "summary": raw_reasoning.get("summary")},
            "safety_identifier": extra.get("safety_identifier"),
            "service_tier": extra.get("service_tier") or "default",
            "store": bool(extra.get("store", True)),
            "temperature": req.temperature if req.temperature is not None else 1.0,
            "text": {
                "format": raw_text.get("format") or {"type": "text"},
                "verbosity": raw_text.get("verbosity") or "medium",
            },
            "tool_choice": extra.get("tool_choice") or "auto",
            "tools": [_tool_echo(t) for t in extra.get("tools") or ()],
            "top_logprobs": extra.get("top_logprobs") or 0,
            "top_p": req.top_p if req.top_p is not None else 1.0,
            "truncation": extra.get("truncation") or "disabled",
        }
        self.echo_tail_end: dict[str, Any] = {"user": req.user} if req.user is not None else {}
        self.echo_tail_end["metadata"] = req.metadata or {}

    def client_view(self, item: dict[str, Any]) -> dict[str, Any]:
        """An output item as the client gets it (sealed reasoning only when it asked for it)."""
        if self.include_encrypted or "encrypted_content" not in item:
            return item
        return {k: v for k, v in item.items() if k != "encrypted_content"}

    def response_id(self, upstream_id: str) -> str:
        if self.record is not None:  # stored here: an id of ours (continuations never pass through)
            return W.LOCAL_ID_PREFIX + os.urandom(22).hex()
        return upstream_id if upstream_id.startswith("resp_") else W.new_id("resp")

    def tool_info(self, p: ToolCallPart) -> tuple[bool, str | None, str]:
        """(custom, namespace, name) of a call, from the part's own details or the request's tools."""
        d = details(p) or self.tools.get(p.name) or {}
        custom = bool(d.get("custom")) or p.name in self.custom
        ns = d.get("namespace")
        name = d.get("name") if ns else None
        return custom, ns if isinstance(ns, str) else None, name if isinstance(name, str) else p.name

    def response(self, rid: str, created: int, model: str, status: str, output: list[dict[str, Any]],
                 usage: Usage | None, *, incomplete: str | None = None, error: dict[str, Any] | None = None,
                 ) -> dict[str, Any]:  # fmt: skip
        """The Response object."""
        body: dict[str, Any] = {"id": rid, "object": "response", "created_at": created, "status": status}
        body.update(self.echo_head)
        if status == "completed":
            body["completed_at"] = int(time.time())
        if error is not None:
            body["error"] = error
        if incomplete is not None:
            body["incomplete_details"] = {"reason": incomplete}
        body["model"] = model
        body["output"] = output
        body.update(self.echo_tail)
        if (
            usage is not None
        ):  # the reference has no null usage (OpenAI's own stream sends one before the end)
            body["usage"] = usage_to_wire(usage)
        body.update(self.echo_tail_end)
        return body


def message_item(p: TextPart, item_id: str, status: str) -> dict[str, Any]:
    content: dict[str, Any]
    if is_refusal(p):
        content = {"type": "refusal", "refusal": p.text}
    else:
        content = {"type": "output_text", "text": p.text, "annotations": details(p).get("annotations") or [],
                   "logprobs": []}  # fmt: skip
    item: dict[str, Any] = {"id": item_id, "type": "message", "status": status, "role": "assistant",
                            "content": [content]}  # fmt: skip
    phase = details(p).get("phase")
    if isinstance(phase, str):
        item["phase"] = phase
    return item


def reasoning_item(p: ReasoningPart, item_id: str, shape: Shape, provider: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
    if p.text:
        item["summary"] = [{"type": "summary_text", "text": p.text}]
    if shape.seal:
        item["encrypted_content"] = seal_reasoning(p, provider)
    return item


def call_item(p: ToolCallPart, item_id: str, shape: Shape, status: str = "completed") -> dict[str, Any]:
    custom, ns, name = shape.tool_info(p)
    item: dict[str, Any]
    if custom:
        item = {"id": item_id, "type": "custom_tool_call", "call_id": p.id, "name": name,
                "input": custom_input(p.arguments)}  # fmt: skip
    else:
        item = {"id": item_id, "type": "function_call", "status": status, "arguments": p.arguments,
                "call_id": p.id, "name": name}  # fmt: skip
    if ns:
        item["namespace"] = ns
    return item


def image_item(p: ImagePart, item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "image_generation_call",
        "status": "completed",
        "result": p.data or p.url or "",
    }


ID_PREFIX = {"text": "msg", "reasoning": "rs", "tool_call": "fc", "image": "ig"}


def item_id(p: OutputPart) -> str:
    """The part's own item id (from a Responses upstream), else a new one."""
    own = details(p).get("id")
    if isinstance(own, str) and own:
        return own
    if isinstance(p, ToolCallPart) and details(p).get("custom"):
        return new_id("ctc")
    return new_id(ID_PREFIX.get(p.kind, "item"))


def output_item(
    p: OutputPart, iid: str, shape: Shape, provider: str | None, status: str
) -> dict[str, Any] | None:
    """The output item of a finished hub part (None: not representable in Responses, left out)."""
    if isinstance(p, TextPart):
        return message_item(p, iid, status)
    if isinstance(p, ReasoningPart):
        return reasoning_item(p, iid, shape, provider)
    if isinstance(p, ToolCallPart):
        return call_item(p, iid, shape, status)
    if isinstance(p, ImagePart):
        return image_item(p, iid)
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        return dict(p.data) if p.wire == NAME else None
    assert_never(p)


def terminal(reason: FinishReason | None) -> tuple[str, str | None, dict[str, Any] | None]:
    """(status, incomplete reason, error object) of a finished response."""
    status, incomplete = status_for(reason)
    error = (
        {"code": "server_error", "message": "The model stopped with an error."}
        if status == "failed"
        else None
    )
    return status, incomplete, error


def response_object(resp: ChatResponse, req: ChatRequest, shape: Shape | None = None) -> dict[str, Any]:
    shape = shape or Shape(req)
    status, incomplete, error = terminal(resp.finish_reason)
    item_status = "incomplete" if status == "incomplete" else "completed"
    full: list[dict[str, Any]] = []
    for p in resp.parts:
        item = output_item(p, item_id(p), shape, resp.provider, item_status)
        if item is not None:
            full.append(item)
    obj = shape.response(shape.response_id(resp.id), resp.created or int(time.time()), req.model or resp.model,
                         status, [shape.client_view(i) for i in full], resp.usage or Usage(), incomplete=incomplete,
                         error=error)  # fmt: skip
    if shape.record is not None:
        shape.record.keep(obj, full)
    return obj


def render_response(resp: ChatResponse, req: ChatRequest) -> bytes:
    return orjson.dumps(response_object(resp, req))
