"""The OpenAI Responses API as an upstream: hub request -> Responses body; Responses JSON / SSE -> hub events.

Configuration (``type: openai`` with ``api: responses``, or ``type: openai_responses``): ``base_url`` is the API root with ``/v1`` (default OpenAI's),
``chat_path`` defaults to ``/responses``, ``auth_header`` to ``bearer``; ``param_drops`` lists body fields a
vendor's Responses API rejects (removed on both paths). A Responses client over this upstream
takes the byte pass-through path (usage sniffed from the terminal event) unless its input carries reasoning
this gateway sealed for another upstream.

Translation notes:

* Reasoning comes back as a ``ReasoningPart`` whose text is the summary (or the raw ``reasoning_text`` some
  vendors send); the item's id and ``encrypted_content`` stay in ``provider_details`` and go back to this
  upstream only. Reasoning without such a blob (another vendor's) is not sent: the API would reject it.
* ``custom`` tools (free-form input) reach the hub as JSON arguments ``{"input": ...}``, so every client
  dialect sees a function with one string parameter; they go back as ``custom_tool_call`` items.
* Items of hosted tools (web search ...) are opaque server-tool parts (``wire: openai_responses``).
* A request from a Responses client keeps every field the hub does not hold (``include``, ``store``,
  ``truncation``, hosted tools, the raw ``tools`` / ``tool_choice`` / ``text`` / ``reasoning``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, assert_never

import orjson

from ..core.errors import GatewayError, invalid
from ..core.events import Event, Finish, ResponseStart, UsageEvent
from ..core.parts import (
    JSON,
    FilePart,
    ImagePart,
    OutputPart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    unsupported_server_tool,
)
from ..core.request import ChatRequest, Message, ToolDef
from ..core.seal import is_sealed
from ..wire import openai_responses as W
from ..wire.openai_responses import NAME, usage_from_wire
from .base import Account
from .http_json import JsonHttpProvider, WireRequest
from .registry import register_api, register_provider
from .stream_parser import JsonStreamParser

if TYPE_CHECKING:
    import aiohttp

    from ..config_types import ProviderConfig
    from ..upstream import Upstream

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _d(p: Any) -> dict[str, Any]:
    pd = p.provider_details
    d = pd.get(NAME) if pd else None
    return d if isinstance(d, dict) else {}


def _refusal(p: TextPart) -> bool:
    return bool(p.provider_details and (p.provider_details.get("openai") or {}).get("refusal"))


# ------------------------------------------------------------------------------------- hub -> request


def _data_url(media: str | None, data: str) -> str:
    return f"data:{media or 'application/octet-stream'};base64,{data}"


def _input_content(p: Part, field: str) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return {"type": "input_text", "text": p.text}
    if isinstance(p, ImagePart):
        url = p.url or (_data_url(p.media_type or "image/png", p.data) if p.data else None)
        if url is None:
            raise invalid(f"The image in {field} has neither a URL nor data.", field)
        return {"type": "input_image", "image_url": url, "detail": p.detail or "auto"}
    if isinstance(p, FilePart):
        f: dict[str, Any] = {"type": "input_file"}
        if p.text is not None:
            return {"type": "input_text", "text": p.text}
        if p.data is not None:
            f["file_data"] = p.data if p.data.startswith("data:") else _data_url(p.media_type, p.data)
        elif p.url:
            f["file_url"] = p.url
        elif p.file_id:
            f["file_id"] = p.file_id
        else:
            raise invalid(f"The file in {field} has no content.", field)
        if p.filename:
            f["filename"] = p.filename
        elif "file_data" in f:
            f["filename"] = "file"
        return f
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        raise unsupported_server_tool(p, "OpenAI Responses message", field)
    raise invalid(f"Content of type {p.kind!r} cannot appear in this message ({field}).", field)


def _tool_output(p: ToolResultPart, field: str) -> str | list[dict[str, Any]]:
    prefix = "Error: " if p.is_error else ""
    if isinstance(p.content, str):
        return prefix + p.content
    out = [_input_content(c, f"{field}.content[{j}]") for j, c in enumerate(p.content)]
    if prefix:
        out.insert(0, {"type": "input_text", "text": prefix})
    return out


class _Input:
    """Hub messages -> input items."""

    def __init__(self, req: ChatRequest) -> None:
        self.req = req
        self.items: list[dict[str, Any]] = []
        self.instructions: str | None = None
        self.custom_calls: set[str] = set()
        self.custom_tools = {t.name for t in req.tools or () if _d(t).get("custom")}

    def build(self) -> list[dict[str, Any]]:
        own = self.req.origin == NAME
        for i, m in enumerate(self.req.messages):
            field = f"messages[{i}]"
            if m.role in ("system", "developer"):
                text = "\n\n".join(p.text for p in m.parts if isinstance(p, TextPart))
                if any(not isinstance(p, TextPart) for p in m.parts):
                    raise invalid(f"A {m.role} message ({field}) may only contain text.", f"{field}.content")
                if own and i == 0 and (m.provider_details or {}).get(NAME, {}).get("instructions"):
                    self.instructions = text
                    continue
                self.items.append({"type": "message", "role": m.role, "content": text})
            elif m.role == "assistant":
                self._assistant(m, field)
            else:
                self._user(m, field)
        return self.items

    def _user(self, m: Message, field: str) -> None:
        content: list[dict[str, Any]] = []
        for j, p in enumerate(m.parts):
            if isinstance(p, ToolResultPart):
                self._result(p, f"{field}.content[{j}]")
            else:
                content.append(_input_content(p, f"{field}.content[{j}]"))
        if content or (m.role == "user" and not any(isinstance(p, ToolResultPart) for p in m.parts)):
            self.items.append({"type": "message", "role": "user", "content": content})

    def _result(self, p: ToolResultPart, field: str) -> None:
        custom = bool(_d(p).get("custom")) or p.tool_call_id in self.custom_calls
        t = "custom_tool_call_output" if custom else "function_call_output"
        self.items.append({"type": t, "call_id": p.tool_call_id, "output": _tool_output(p, field)})

    def _assistant(self, m: Message, field: str) -> None:
        for j, p in enumerate(m.parts):
            pf = f"{field}.content[{j}]"
            if isinstance(p, TextPart):
                part = ({"type": "refusal", "refusal": p.text} if _refusal(p) else
                        {"type": "output_text", "text": p.text, "annotations": []})  # fmt: skip
                item: dict[str, Any] = {"type": "message", "role": "assistant", "content": [part]}
                phase = _d(p).get("phase")
                if isinstance(phase, str):
                    item["phase"] = phase
                self.items.append(item)
            elif isinstance(p, ReasoningPart):
                d = _d(p)
                enc = d.get("encrypted_content")
                if isinstance(enc, str) and enc and not is_sealed(enc) and d.get("id"):
                    summary = d.get("summary") or (
                        [{"type": "summary_text", "text": p.text}] if p.text else []
                    )
                    self.items.append({"type": "reasoning", "id": d["id"], "summary": summary,
                                       "encrypted_content": enc})  # fmt: skip
                # reasoning without this upstream's own blob cannot be verified by it: left out
            elif isinstance(p, ToolCallPart):
                self.items.append(self._call(p))
            elif isinstance(p, ServerToolCallPart | ServerToolResultPart):
                if p.wire != NAME:
                    raise unsupported_server_tool(p, "OpenAI Responses", pf)
                self.items.append(dict(p.data))
            elif isinstance(p, ImagePart | FilePart | ToolResultPart):
                raise invalid(f"An assistant message ({field}) cannot contain {p.kind!r} content.", pf)
            else:
                assert_never(p)

    def _call(self, p: ToolCallPart) -> dict[str, Any]:
        d = _d(p)
        ns = d.get("namespace")
        name = d.get("name") if ns else p.name
        item: dict[str, Any]
        if d.get("custom") or p.name in self.custom_tools:
            self.custom_calls.add(p.id)
            item = {
                "type": "custom_tool_call",
                "call_id": p.id,
                "name": name,
                "input": W.custom_input(p.arguments),
            }
        else:
            item = {"type": "function_call", "call_id": p.id, "name": name, "arguments": p.arguments or "{}"}
        if ns:
            item["namespace"] = ns
        return item


def _tool_json(t: ToolDef) -> dict[str, Any]:
    d = _d(t)
    if "custom" in d:
        out: dict[str, Any] = {"type": "custom", "name": d.get("name") or t.name}
        if t.description:
            out["description"] = t.description
        fmt = (d.get("custom") or {}).get("format") if isinstance(d.get("custom"), dict) else None
        if fmt:
            out["format"] = fmt
        return out
    return {"type": "function", "name": d.get("name") or t.name, "description": t.description,
            "parameters": t.parameters or {"type": "object", "properties": {}}, "strict": bool(t.strict)}  # fmt: skip


def build_tools(tools: list[ToolDef]) -> list[dict[str, Any]]:
    """Hub tools -> Responses tools; tools that came from one namespace are grouped in it again."""
    out: list[dict[str, Any]] = []
    spaces: dict[str, dict[str, Any]] = {}
    for t in tools:
        d = _d(t)
        ns = d.get("namespace")
        if isinstance(ns, str) and ns:
            space = spaces.get(ns)
            if space is None:
                space = spaces[ns] = {"type": "namespace", "name": ns,
                                      "description": d.get("namespace_description") or "", "tools": []}  # fmt: skip
                out.append(space)
            space["tools"].append(_tool_json(t))
        else:
            out.append(_tool_json(t))
    return out


def _tool_choice(req: ChatRequest, body: dict[str, Any], extra: dict[str, Any]) -> None:
    tc = req.tool_choice
    if tc is None:
        return
    if "tool_choice" not in extra:
        if tc.mode == "tool":
            named = next((t for t in req.tools or () if t.name == tc.name), None)
            if named is not None and "custom" in _d(named):
                body["tool_choice"] = {"type": "custom", "name": _d(named).get("name") or tc.name}
            else:
                body["tool_choice"] = {"type": "function", "name": tc.name}
        else:
            body["tool_choice"] = tc.mode
    if tc.parallel is not None:
        body["parallel_tool_calls"] = tc.parallel


def _reasoning(req: ChatRequest, body: dict[str, Any]) -> None:
    r = req.reasoning
    if r is None:
        return
    effort = r.effort
    if effort is None and r.enabled is not None:
        b = r.budget_tokens
        effort = "none" if not r.enabled else "medium" if b is None else "low" if b < 4096 else \
            "medium" if b < 16384 else "high"  # fmt: skip
    if effort:
        body["reasoning"] = {"effort": effort, "summary": "auto"}


def _text_format(req: ChatRequest, body: dict[str, Any], extra: dict[str, Any], own: bool) -> None:
    rf = req.response_format
    if rf is None or (own and isinstance(extra.get("text"), dict) and "format" in extra["text"]):
        return
    text = dict(body.get("text") or {})
    if rf.get("type") == "json_schema" and isinstance(rf.get("json_schema"), dict):
        text["format"] = {"type": "json_schema", **rf["json_schema"]}
    else:
        text["format"] = {k: v for k, v in rf.items()}
    body["text"] = text


def build_body(req: ChatRequest, model: str) -> dict[str, Any]:
    """The Responses body for a hub request."""
    own = req.origin == NAME
    extra = {k: v for k, v in req.extra_for(NAME).items() if not k.startswith("_")} if own else {}
    inp = _Input(req)
    items = inp.build()
    body: dict[str, Any] = {"model": model}
    if inp.instructions is not None:
        body["instructions"] = inp.instructions
    body["input"] = items
    body.update(extra)
    body["model"] = model
    body["input"] = items
    if inp.instructions is None:
        body.pop("instructions", None)
    else:
        body["instructions"] = inp.instructions
    if req.stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    for k in ("temperature", "top_p", "user", "metadata"):
        v = getattr(req, k)
        if v is not None:
            body[k] = v
    if req.tools and "tools" not in extra:
        body["tools"] = build_tools(req.tools)
    _tool_choice(req, body, extra)
    if "reasoning" not in extra:
        _reasoning(req, body)
    _text_format(req, body, extra, own)
    if not own:
        body["store"] = False
        if req.reasoning is not None and req.reasoning.enabled is not False:
            body["include"] = ["reasoning.encrypted_content"]
    return body


# ------------------------------------------------------------------------------------- response -> hub


def _item_details(item: dict[str, Any], *keys: str) -> dict[str, JSON] | None:
    d = {k: item[k] for k in keys if item.get(k) is not None}
    return {NAME: d} if d else None


def _text_part(c: dict[str, Any]) -> TextPart:
    refusal = c.get("type") == "refusal"
    return TextPart(str(c.get("refusal" if refusal else "text") or ""),
                    provider_details={"openai": {"refusal": True}} if refusal else None)  # fmt: skip


class ResponsesParser(JsonStreamParser):
    """Responses stream events (decoded JSON) -> hub events.

    Each output item is one hub part (a message's content parts: one each), started in the parts manager
    under its ``output_index`` (content: ``(output_index, content_index)``); ``reasoning`` summary parts and
    raw ``reasoning_text`` both feed one reasoning part. Items of hosted tools become whole server-tool
    parts when they are done."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.by_item: dict[int, int] = {}
        """output_index -> hub index of the open reasoning / call part."""
        self.text_parts: dict[tuple[int, int], int] = {}
        """(output_index, content_index) -> hub index of the open message content part."""
        self.summary_seen: dict[int, int] = {}
        self.args_seen: set[int] = set()
        self.has_calls = False

    def start(self, resp: dict[str, Any]) -> None:
        self.started = True
        created = resp.get("created_at")
        self.parts.events.append(ResponseStart(
            str(resp.get("id") or W.new_id("resp")), str(resp.get("model") or self.model),
            int(created) if isinstance(created, (int, float)) else int(time.time())))  # fmt: skip

    def feed(self, obj: Any) -> list[Event]:
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent an event that is not a JSON object: {obj!r:.200}")
        t = obj.get("type")
        if t in _TEXT_DELTAS and self.started:  # the hot path
            idx = self.text_parts.get((obj.get("output_index", -1), obj.get("content_index", 0)))
            if idx is not None and obj.get("delta"):
                self.parts.delta(idx, str(obj["delta"]))
            return self.parts.take()
        if t in _STARTS:
            if not self.started:
                self.start(obj.get("response") or {})
            return self.parts.take()
        if not self.started:
            r = obj.get("response")
            self.start(r if isinstance(r, dict) else {})
        handler = _HANDLERS.get(t) if isinstance(t, str) else None
        if handler is not None:  # other events (annotations, hosted tool progress ...) carry nothing we keep
            oi = obj.get("output_index")
            handler(self, obj, oi if isinstance(oi, int) else -1)
        return self.parts.take()

    # one handler per event type (see _HANDLERS)

    def _on_item_added(self, obj: dict[str, Any], oi: int) -> None:
        self._added(oi, obj.get("item") or {})

    def _on_part_added(self, obj: dict[str, Any], oi: int) -> None:
        part = obj.get("part") or {}
        ci = obj.get("content_index", 0)
        if part.get("type") in ("output_text", "refusal") and isinstance(ci, int):
            self.text_parts[(oi, ci)] = self.parts.start(_text_part(part))

    def _on_text_delta(self, obj: dict[str, Any], oi: int) -> None:
        idx = self.text_parts.get((oi, obj.get("content_index", 0)))
        if idx is not None and obj.get("delta"):
            self.parts.delta(idx, str(obj["delta"]))

    def _on_reasoning_delta(self, obj: dict[str, Any], oi: int) -> None:
        idx = self.by_item.get(oi)
        if idx is not None and obj.get("delta"):
            self.parts.delta(idx, str(obj["delta"]))

    def _on_summary_part(self, obj: dict[str, Any], oi: int) -> None:
        idx = self.by_item.get(oi)
        if idx is not None:
            n = self.summary_seen.get(idx, 0)
            if n:
                self.parts.delta(idx, "\n\n")
            self.summary_seen[idx] = n + 1

    def _on_args_delta(self, obj: dict[str, Any], oi: int) -> None:
        self._args_delta(oi, str(obj.get("type")), obj.get("delta"))

    def _on_item_done(self, obj: dict[str, Any], oi: int) -> None:
        self._item_done(oi, obj.get("item") or {})

    def _on_terminal(self, obj: dict[str, Any], oi: int) -> None:
        self._terminal(str(obj.get("type")), obj.get("response") or {})

    def _on_error(self, obj: dict[str, Any], oi: int) -> None:
        self.parts.events.append(self.fail(W.error_from_wire(obj)))

    def _args_delta(self, oi: int, t: str, delta: Any) -> None:
        idx = self.by_item.get(oi)
        if idx is not None and delta:
            self.args_seen.add(idx)
            d = str(delta)
            self.parts.delta(idx, orjson.dumps(d).decode()[1:-1] if t == W.CUSTOM_INPUT_DELTA else d)

    def _call(self, oi: int, item: dict[str, Any], arguments: str) -> int:
        self.has_calls = True
        idx = self.by_item[oi] = self.parts.start(
            ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""), arguments), oi
        )
        return idx

    def _added(self, oi: int, item: dict[str, Any]) -> None:
        it = item.get("type")
        if it == W.REASONING:
            self.by_item[oi] = self.parts.start(ReasoningPart(""), oi)
        elif it == W.FUNCTION_CALL:
            idx = self._call(oi, item, str(item.get("arguments") or ""))
            if item.get("arguments"):
                self.args_seen.add(idx)
        elif it == W.CUSTOM_TOOL_CALL:
            self._call(oi, item, '{"input":"' + orjson.dumps(str(item.get("input") or "")).decode()[1:-1])

    def _message_done(self, oi: int, item: dict[str, Any]) -> None:
        for ci, c in enumerate(item.get("content") or []):
            idx = self.text_parts.pop((oi, ci), None)
            if idx is None and isinstance(c, dict) and c.get("type") in ("output_text", "refusal"):
                idx = self.parts.start(_text_part(c))
            if idx is not None:
                extra = {"id": item.get("id"), "phase": item.get("phase")}
                if isinstance(c, dict) and c.get("annotations"):
                    extra["annotations"] = c["annotations"]
                d = {k: v for k, v in extra.items() if v is not None}
                self.parts.end(idx, {NAME: d} if d else None)

    def _item_done(self, oi: int, item: dict[str, Any]) -> None:
        it = item.get("type")
        if it == W.MESSAGE:
            self._message_done(oi, item)
            return
        parts = self.parts
        idx = self.by_item.pop(oi, None)
        if it == W.REASONING:
            if idx is None:
                idx = parts.start(ReasoningPart(""))
                texts = [s.get("text", "") for s in item.get("summary") or () if isinstance(s, dict)]
                if any(texts):
                    parts.delta(idx, "\n\n".join(texts))
            parts.end(idx, _item_details(item, "id", "encrypted_content", "summary"))
        elif it == W.FUNCTION_CALL:
            if idx is None:
                idx = self._call(oi, item, "")
                del self.by_item[oi]
            if idx not in self.args_seen and item.get("arguments"):
                parts.delta(idx, str(item["arguments"]))
            parts.end(idx, _item_details(item, "id", "namespace"))
        elif it == W.CUSTOM_TOOL_CALL:
            if idx is None:
                idx = self._call(oi, item, '{"input":"')
                del self.by_item[oi]
            if idx not in self.args_seen and item.get("input"):
                parts.delta(idx, orjson.dumps(str(item["input"])).decode()[1:-1])
            parts.delta(idx, '"}')
            d = _item_details(item, "id", "namespace") or {NAME: {}}
            d[NAME]["custom"] = True
            parts.end(idx, d)
        elif isinstance(it, str):
            iid = str(item.get("id") or item.get("call_id") or "")
            part: OutputPart = (ServerToolResultPart(str(item.get("call_id") or iid), NAME, item)
                                if it.endswith("_output") else ServerToolCallPart(iid, it, NAME, item))  # fmt: skip
            parts.whole(part)

    def _terminal(self, t: str, resp: dict[str, Any]) -> None:
        parts = self.parts
        parts.close()
        self.by_item.clear()
        self.text_parts.clear()
        u = resp.get("usage")
        if isinstance(u, dict):
            parts.events.append(UsageEvent(usage_from_wire(u)))
        self.done = True
        if t == W.FAILED:
            err = resp.get("error")
            parts.events.append(
                self.fail(W.error_from_wire(err if isinstance(err, dict) else {}, "Upstream response failed"))
            )
            return
        inc = resp.get("incomplete_details")
        reason = inc.get("reason") if isinstance(inc, dict) else None
        parts.events.append(Finish(W.finish_for(resp.get("status"), reason, self.has_calls)))

    def close(self) -> list[Event]:
        out = self.parts.take()
        if self.done:
            return out
        if not self.started:
            raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                               code="upstream_empty")  # fmt: skip
        out.append(self.fail(GatewayError("upstream", "Upstream stream ended before the response was complete",
                                          code="upstream_disconnected")))  # fmt: skip
        return out


_TEXT_DELTAS = frozenset({W.TEXT_DELTA, W.REFUSAL_DELTA})
_STARTS = frozenset({W.CREATED, W.IN_PROGRESS, "response.queued"})
_Handler = Callable[[ResponsesParser, dict[str, Any], int], None]
_HANDLERS: dict[str, _Handler] = {
    W.ITEM_ADDED: ResponsesParser._on_item_added,
    W.PART_ADDED: ResponsesParser._on_part_added,
    W.TEXT_DELTA: ResponsesParser._on_text_delta,
    W.REFUSAL_DELTA: ResponsesParser._on_text_delta,
    W.SUMMARY_DELTA: ResponsesParser._on_reasoning_delta,
    W.REASONING_TEXT_DELTA: ResponsesParser._on_reasoning_delta,
    W.SUMMARY_PART_ADDED: ResponsesParser._on_summary_part,
    W.ARGS_DELTA: ResponsesParser._on_args_delta,
    W.CUSTOM_INPUT_DELTA: ResponsesParser._on_args_delta,
    W.ITEM_DONE: ResponsesParser._on_item_done,
    **dict.fromkeys(W.TERMINAL_EVENTS, ResponsesParser._on_terminal),
    W.ERROR: ResponsesParser._on_error,
}
"""Responses event type -> what the parser does with it."""


def response_events(obj: Any, model: str) -> list[Event]:
    """A non-streamed Response object as the event sequence a stream would give."""
    if not isinstance(obj, dict) or not isinstance(obj.get("output"), list):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    p = ResponsesParser(model)
    p.start(obj)
    for oi, item in enumerate(obj["output"]):
        if isinstance(item, dict):
            if item.get("type") in (W.FUNCTION_CALL, W.CUSTOM_TOOL_CALL):
                p.has_calls = True
            p._item_done(oi, item)
    status = obj.get("status")
    p._terminal(W.FAILED if status == "failed" else W.COMPLETED, obj)
    return p.parts.take()


# ------------------------------------------------------------------------------------------ provider


class OpenAIResponsesProvider(JsonHttpProvider):
    """``type: openai_responses``, or ``type: openai`` with ``api: responses``."""

    dialect = NAME

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        self.base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.url = self.base + (config.chat_path or "/responses")
        self.models_url = self.base + (config.models_path or "/models")
        self.drops = tuple(config.param_drops)
        """Body fields this vendor rejects (``param_drops``), removed on both paths."""

    def can_forward(self, body: dict[str, Any]) -> bool:
        """Bytes pass through unless the input carries reasoning this gateway sealed (for another upstream):
        the translating path drops what this upstream could not open; or it continues a response this gateway
        stored."""
        prev = body.get("previous_response_id")
        if isinstance(prev, str) and prev.startswith(W.LOCAL_ID_PREFIX):
            return False  # a response stored by this gateway: the conversation is expanded here
        items = body.get("input")
        if not isinstance(items, list):
            return True
        for it in items:
            if (
                isinstance(it, dict)
                and it.get("type") == "reasoning"
                and is_sealed(it.get("encrypted_content"))
            ):
                return False
        return True

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        out = dict(body)
        out["model"] = model
        for k in self.drops:
            out.pop(k, None)
        url = self.url + "/compact" if headers and headers.get(W.COMPACT_HEADER) else self.url
        return await self.send(url, orjson.dumps(out), self.headers(account, stream), self.proxy(account))

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        built = build_body(req, model)
        for k in self.drops:
            built.pop(k, None)
        return WireRequest(self.url, orjson.dumps(built), self.headers(account, req.stream))

    def stream_parser(self, req: ChatRequest, model: str) -> ResponsesParser:
        return ResponsesParser(model)

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        return response_events(obj, model)


register_provider("openai_responses", OpenAIResponsesProvider, wire=NAME)
register_api("openai", "responses", "openai_responses")
register_api("openai", "chat", "openai")
