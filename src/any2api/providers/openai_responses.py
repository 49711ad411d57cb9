"""The OpenAI Responses API as an upstream: hub request -> Responses body; Responses JSON / SSE -> hub events.

Configuration (``type: openai_responses``): ``base_url`` is the API root with ``/v1`` (default OpenAI's),
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
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, assert_never

import orjson

from ..core.errors import GatewayError, invalid
from ..core.events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
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
from ..sse import SSEDecoder
from ..upstream import iter_body, read_body
from ..wire import openai_responses as W
from ..wire.openai_responses import NAME, usage_from_wire
from .base import Account, ModelInfo, Provider, register

if TYPE_CHECKING:
    import aiohttp

    from ..config import ProviderConfig
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
    tc = req.tool_choice
    if tc is not None:
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
    if req.reasoning is not None and "reasoning" not in extra:
        r = req.reasoning
        effort = r.effort
        if effort is None and r.enabled is not None:
            b = r.budget_tokens
            effort = "none" if not r.enabled else "medium" if b is None else "low" if b < 4096 else \
                "medium" if b < 16384 else "high"  # fmt: skip
        if effort:
            body["reasoning"] = {"effort": effort, "summary": "auto"}
    rf = req.response_format
    if rf is not None and not (own and isinstance(extra.get("text"), dict) and "format" in extra["text"]):
        text = dict(body.get("text") or {})
        if rf.get("type") == "json_schema" and isinstance(rf.get("json_schema"), dict):
            text["format"] = {"type": "json_schema", **rf["json_schema"]}
        else:
            text["format"] = {k: v for k, v in rf.items()}
        body["text"] = text
    if not own:
        body["store"] = False
        if req.reasoning is not None and req.reasoning.enabled is not False:
            body["include"] = ["reasoning.encrypted_content"]
    return body


# ------------------------------------------------------------------------------------- response -> hub


def _item_details(item: dict[str, Any], *keys: str) -> dict[str, JSON] | None:
    d = {k: item[k] for k in keys if item.get(k) is not None}
    return {NAME: d} if d else None


class ResponsesParser:
    """Responses stream events (decoded JSON) -> hub events.

    Each output item is one hub part (a message's content parts: one each); ``reasoning`` summary parts
    and raw ``reasoning_text`` both feed one reasoning part. Items of hosted tools become whole server-tool
    parts when they are done."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.done = False
        self.next = 0
        self.by_item: dict[int, int] = {}
        """output_index -> hub index (reasoning / calls)."""
        self.text_parts: dict[tuple[int, int], int] = {}
        """(output_index, content_index) -> hub index (message content)."""
        self.kinds: dict[int, str] = {}
        self.summary_seen: dict[int, int] = {}
        self.args_seen: set[int] = set()
        self.has_calls = False

    def _start(self, resp: dict[str, Any]) -> ResponseStart:
        self.started = True
        created = resp.get("created_at")
        return ResponseStart(str(resp.get("id") or W.new_id("resp")), str(resp.get("model") or self.model),
                             int(created) if isinstance(created, (int, float)) else int(time.time()))  # fmt: skip

    def _new(self, out: list[Event], part: OutputPart) -> int:
        idx = self.next
        self.next += 1
        out.append(PartStart(idx, part))
        return idx

    def feed(self, obj: Any) -> list[Event]:
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent an event that is not a JSON object: {obj!r:.200}")
        t = obj.get("type")
        out: list[Event] = []
        if t in (W.CREATED, W.IN_PROGRESS, "response.queued"):
            if not self.started:
                out.append(self._start(obj.get("response") or {}))
            return out
        if not self.started:
            r = obj.get("response")
            out.append(self._start(r if isinstance(r, dict) else {}))
        oi = obj.get("output_index")
        if not isinstance(oi, int):
            oi = -1
        if t == W.ITEM_ADDED:
            self._added(out, oi, obj.get("item") or {})
        elif t == W.PART_ADDED:
            part = obj.get("part") or {}
            ci = obj.get("content_index", 0)
            if part.get("type") in ("output_text", "refusal") and isinstance(ci, int):
                refusal = part.get("type") == "refusal"
                text = str(part.get("refusal" if refusal else "text") or "")
                tp = TextPart(text, provider_details={"openai": {"refusal": True}} if refusal else None)
                self.text_parts[(oi, ci)] = self._new(out, tp)
        elif t in (W.TEXT_DELTA, W.REFUSAL_DELTA):
            idx = self.text_parts.get((oi, obj.get("content_index", 0)))
            if idx is not None and obj.get("delta"):
                out.append(PartDelta(idx, str(obj["delta"])))
        elif t in (W.SUMMARY_DELTA, W.REASONING_TEXT_DELTA):
            idx = self.by_item.get(oi)
            if idx is not None and obj.get("delta"):
                out.append(PartDelta(idx, str(obj["delta"])))
        elif t == W.SUMMARY_PART_ADDED:
            idx = self.by_item.get(oi)
            if idx is not None:
                n = self.summary_seen.get(idx, 0)
                if n:
                    out.append(PartDelta(idx, "\n\n"))
                self.summary_seen[idx] = n + 1
        elif t in (W.ARGS_DELTA, W.CUSTOM_INPUT_DELTA):
            idx = self.by_item.get(oi)
            if idx is not None and obj.get("delta"):
                self.args_seen.add(idx)
                delta = str(obj["delta"])
                if t == W.CUSTOM_INPUT_DELTA:
                    delta = orjson.dumps(delta).decode()[1:-1]
                out.append(PartDelta(idx, delta))
        elif t == W.ITEM_DONE:
            self._item_done(out, oi, obj.get("item") or {})
        elif t in W.TERMINAL_EVENTS:
            out.extend(self._terminal(t, obj.get("response") or {}))
        elif t == W.ERROR:
            out.append(ErrorEvent(W.error_from_wire(obj)))
        return out  # other events (annotations, hosted tool progress ...) carry nothing the hub keeps

    def _added(self, out: list[Event], oi: int, item: dict[str, Any]) -> None:
        it = item.get("type")
        if it == W.REASONING:
            self.by_item[oi] = self._new(out, ReasoningPart(""))
            self.kinds[oi] = it
        elif it == W.FUNCTION_CALL:
            self.has_calls = True
            self.by_item[oi] = self._new(out, ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""),
                                                           str(item.get("arguments") or "")))  # fmt: skip
            if item.get("arguments"):
                self.args_seen.add(self.by_item[oi])
            self.kinds[oi] = it
        elif it == W.CUSTOM_TOOL_CALL:
            self.has_calls = True
            inp = str(item.get("input") or "")
            self.by_item[oi] = self._new(out, ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""),
                                                           '{"input":"' + orjson.dumps(inp).decode()[1:-1]))  # fmt: skip
            self.kinds[oi] = it
        elif it == W.MESSAGE:
            self.kinds[oi] = it

    def _item_done(self, out: list[Event], oi: int, item: dict[str, Any]) -> None:
        it = item.get("type")
        if it == W.MESSAGE:
            content = item.get("content") or []
            for ci, c in enumerate(content):
                idx = self.text_parts.pop((oi, ci), None)
                if idx is None and isinstance(c, dict) and c.get("type") in ("output_text", "refusal"):
                    refusal = c.get("type") == "refusal"
                    tp = TextPart(str(c.get("refusal" if refusal else "text") or ""),
                                  provider_details={"openai": {"refusal": True}} if refusal else None)  # fmt: skip
                    idx = self._new(out, tp)
                if idx is not None:
                    extra = {"id": item.get("id"), "phase": item.get("phase")}
                    if isinstance(c, dict) and c.get("annotations"):
                        extra["annotations"] = c["annotations"]
                    d = {k: v for k, v in extra.items() if v is not None}
                    out.append(PartEnd(idx, {NAME: d} if d else None))
            return
        idx = self.by_item.pop(oi, None)
        if it == W.REASONING:
            if idx is None:
                idx = self._new(out, ReasoningPart(""))
                texts = [s.get("text", "") for s in item.get("summary") or () if isinstance(s, dict)]
                if any(texts):
                    out.append(PartDelta(idx, "\n\n".join(texts)))
            out.append(PartEnd(idx, _item_details(item, "id", "encrypted_content", "summary")))
        elif it == W.FUNCTION_CALL:
            if idx is None:
                self.has_calls = True
                idx = self._new(
                    out, ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""), "")
                )
            if idx not in self.args_seen and item.get("arguments"):
                out.append(PartDelta(idx, str(item["arguments"])))
            out.append(PartEnd(idx, _item_details(item, "id", "namespace")))
        elif it == W.CUSTOM_TOOL_CALL:
            if idx is None:
                self.has_calls = True
                idx = self._new(out, ToolCallPart(str(item.get("call_id") or ""), str(item.get("name") or ""),
                                                  '{"input":"'))  # fmt: skip
            if idx not in self.args_seen and item.get("input"):
                out.append(PartDelta(idx, orjson.dumps(str(item["input"])).decode()[1:-1]))
            out.append(PartDelta(idx, '"}'))
            d = _item_details(item, "id", "namespace") or {NAME: {}}
            d[NAME]["custom"] = True
            out.append(PartEnd(idx, d))
        elif isinstance(it, str):
            iid = str(item.get("id") or item.get("call_id") or "")
            part: OutputPart = (ServerToolResultPart(str(item.get("call_id") or iid), NAME, item)
                                if it.endswith("_output") else ServerToolCallPart(iid, it, NAME, item))  # fmt: skip
            idx = self._new(out, part)
            out.append(PartEnd(idx))

    def _terminal(self, t: str, resp: dict[str, Any]) -> list[Event]:
        out: list[Event] = []
        for idx in sorted(set(self.by_item.values()) | set(self.text_parts.values())):
            out.append(PartEnd(idx))
        self.by_item.clear()
        self.text_parts.clear()
        u = resp.get("usage")
        if isinstance(u, dict):
            out.append(UsageEvent(usage_from_wire(u)))
        self.done = True
        if t == W.FAILED:
            err = resp.get("error")
            out.append(
                ErrorEvent(
                    W.error_from_wire(err if isinstance(err, dict) else {}, "Upstream response failed")
                )
            )
            return out
        inc = resp.get("incomplete_details")
        reason = inc.get("reason") if isinstance(inc, dict) else None
        out.append(Finish(W.finish_for(resp.get("status"), reason, self.has_calls)))
        return out


def response_events(obj: Any, model: str) -> list[Event]:
    """A non-streamed Response object as the event sequence a stream would give."""
    if not isinstance(obj, dict) or not isinstance(obj.get("output"), list):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    p = ResponsesParser(model)
    events: list[Event] = [p._start(obj)]
    for oi, item in enumerate(obj["output"]):
        if isinstance(item, dict):
            if item.get("type") in (W.FUNCTION_CALL, W.CUSTOM_TOOL_CALL):
                p.has_calls = True
            p._item_done(events, oi, item)
    status = obj.get("status")
    events += p._terminal(W.FAILED if status == "failed" else W.COMPLETED, obj)
    return events


# ------------------------------------------------------------------------------------------ provider


@register("openai_responses")
class OpenAIResponsesProvider(Provider):
    dialect = NAME

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.base = base
        self.url = base + (config.chat_path or "/responses")
        self.models_url = base + (config.models_path or "/models")
        self._base_headers = {"Content-Type": "application/json", **config.headers}
        self._headers_cache: dict[str | None, dict[str, str]] = {}
        self.drops = tuple(config.param_drops)
        """Body fields this vendor rejects (``param_drops``), removed on both paths."""

    def headers(self, account: Account, stream: bool) -> dict[str, str]:
        key = account.api_key
        h = self._headers_cache.get(key)
        if h is None:
            h = dict(self._base_headers)
            style = (self.config.auth_header or "bearer").lower()
            if key:
                if style == "bearer":
                    h["Authorization"] = f"Bearer {key}"
                elif style != "none":
                    h[self.config.auth_header or "Authorization"] = key
            if len(self._headers_cache) < 1024:
                self._headers_cache[key] = h
        return {**h, "Accept": "text/event-stream"} if stream else h

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
    ) -> aiohttp.ClientResponse:
        out = dict(body)
        out["model"] = model
        for k in self.drops:
            out.pop(k, None)
        url = self.url + "/compact" if headers and headers.get(W.COMPACT_HEADER) else self.url
        return await self.post(url, orjson.dumps(out), self.headers(account, stream), account.proxy)

    async def stream(self, req: ChatRequest, model: str, account: Account) -> AsyncGenerator[Event, None]:
        built = build_body(req, model)
        for k in self.drops:
            built.pop(k, None)
        body = orjson.dumps(built)
        resp = await self.post(self.url, body, self.headers(account, req.stream), account.proxy)
        try:
            if not req.stream:
                raw = await read_body(resp, self.timeouts.idle)
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise GatewayError("upstream", f"Upstream sent invalid JSON: {raw[:200]!r}") from None
                for e in response_events(obj, model):
                    yield e
                return
            async for e in self._events(resp, model):
                yield e
        finally:
            resp.release()

    async def _events(self, resp: aiohttp.ClientResponse, model: str) -> AsyncIterator[Event]:
        parser = ResponsesParser(model)
        decoder = SSEDecoder()
        try:
            async for chunk in iter_body(resp, self.timeouts.idle):
                if chunk is None:
                    continue
                for ev in decoder.feed(chunk):
                    for e in self._decode(parser, ev.data):
                        yield e
                        if isinstance(e, ErrorEvent):
                            return
                    if parser.done:
                        return
            for ev in decoder.close():
                for e in self._decode(parser, ev.data):
                    yield e
                    if isinstance(e, ErrorEvent):
                        return
        except GatewayError as err:
            if not parser.started:
                raise
            yield ErrorEvent(err)
            return
        if not parser.done:
            if not parser.started:
                raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                                   code="upstream_empty")  # fmt: skip
            yield ErrorEvent(GatewayError("upstream", "Upstream stream ended before the response was complete",
                                          code="upstream_disconnected"))  # fmt: skip

    @staticmethod
    def _decode(parser: ResponsesParser, data: str) -> list[Event]:
        if not data or data == "[DONE]":
            return []
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise GatewayError(
                "upstream", f"Upstream sent invalid JSON in its stream: {data[:200]!r}"
            ) from None
        return parser.feed(obj)

    async def list_models(self) -> list[ModelInfo]:
        configured = [ModelInfo(m.id, m.display_name) for m in self.config.models]
        if not self.config.discover_models:
            return configured
        key = self.config.api_keys[0] if self.config.api_keys else None
        account = Account(
            id=f"{self.name}#discover", provider=self.name, api_key=key, proxy=self.config.proxy
        )
        doc = await self.get_json(self.models_url, self.headers(account, False), account.proxy, "/models")
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise GatewayError("upstream", "Upstream /models answer is not an OpenAI model list")
        found = [ModelInfo(str(m["id"]), created=int(m.get("created") or time.time())) for m in data
                 if isinstance(m, dict) and m.get("id")]  # fmt: skip
        known = {m.id for m in found}
        return found + [m for m in configured if m.id not in known]
