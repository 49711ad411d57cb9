"""The native Anthropic upstream (Messages API): hub -> Messages request; Messages JSON/SSE -> hub events.

Configuration (``type: anthropic``): ``base_url`` is the API root as the Anthropic SDKs take it
(``ANTHROPIC_BASE_URL``; a trailing ``/v1`` is accepted too), ``chat_path`` defaults to ``/v1/messages``,
``auth_header`` to ``x-api-key`` (``bearer`` for Anthropic-compatible vendors that want it), ``headers`` may
set ``anthropic-version`` (default ``2023-06-01``) and ``anthropic-beta``. ``options``:
``default_max_tokens`` (used when an OpenAI client sends none; default 4096) and ``thinking_budgets``
(reasoning effort -> ``budget_tokens``).

Translation notes (what cannot be carried over is refused with a clear error, never dropped silently):

* Reasoning from the history is sent back as ``thinking`` blocks with their signature, or as
  ``redacted_thinking``. Reasoning *without* a signature came from another model and cannot be verified
  by Anthropic, which rejects such blocks; it is left out (Anthropic ignores earlier turns' thinking
  anyway).
* A system message inside the history is hoisted into ``system`` unless the client sent the
  ``mid-conversation-system`` beta, in which case it stays in place.
* OpenAI's ``n > 1`` and ``response_format`` (JSON mode / schema) have no Messages equivalent: a clear
  400. Other OpenAI-only knobs (penalties, logprobs ...) do not exist upstream and are not sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, assert_never

import orjson

from ..config_types import ConfigPath
from ..core.errors import GatewayError, invalid
from ..core.events import Event, Finish, PartDelta, ResponseStart, UsageEvent
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
from ..core.parts_manager import PartsManager
from ..core.request import ChatRequest, Message
from ..core.response import FinishReason
from ..core.seal import is_sealed
from ..wire.anthropic_messages import (
    ERROR_KINDS,
    NAME,
    STOP_IN,
    anthropic_details,
    message_id,
    tool_input_json,
    usage_from_wire,
)
from ..wire.openai_chat import NAME as OPENAI_CHAT
from .base import Account, ModelInfo
from .http_json import JsonHttpProvider, WireRequest
from .registry import register_provider
from .stream_parser import JsonStreamParser

if TYPE_CHECKING:
    import aiohttp

    from ..config_types import ProviderConfig
    from ..upstream import Upstream

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024
THINKING_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32768,
    "max": 32768,
}
"""Reasoning effort (OpenAI ``reasoning_effort``) -> Anthropic ``thinking.budget_tokens``."""
MID_CONVERSATION_SYSTEM_BETA = "mid-conversation-system"


# ------------------------------------------------------------------------------------- hub -> request


def _cache(p: Any, block: dict[str, Any]) -> dict[str, Any]:
    """Add the Anthropic-only keys a part carried in (``cache_control``, ``citations``, ``title`` ...)."""
    d = anthropic_details(p)
    if d:
        for k, v in d.items():
            block.setdefault(k, v)
    return block


def _split_data_url(url: str) -> tuple[str | None, str]:
    head, _, data = url.partition(",")
    media = head[5:].split(";")[0] or None
    return media, data


def _image(p: ImagePart, field: str) -> dict[str, Any]:
    if p.data is not None:
        src: dict[str, Any] = {"type": "base64", "media_type": p.media_type or "image/png", "data": p.data}
    elif p.url and p.url.startswith("data:"):
        media, data = _split_data_url(p.url)
        src = {"type": "base64", "media_type": p.media_type or media or "image/png", "data": data}
    elif p.url:
        src = {"type": "url", "url": p.url}
    else:
        raise invalid(f"The image in {field} has neither data nor a URL.", field, "invalid_value")
    return _cache(p, {"type": "image", "source": src})


def _document(p: FilePart, field: str) -> dict[str, Any]:
    if p.text is not None:
        src: dict[str, Any] = {"type": "text", "media_type": "text/plain", "data": p.text}
    elif p.data is not None:
        data = p.data
        media = p.media_type
        if data.startswith("data:"):
            m2, data = _split_data_url(data)
            media = media or m2
        if media and media.startswith("text/"):
            import base64
            import binascii

            try:
                src = {
                    "type": "text",
                    "media_type": "text/plain",
                    "data": base64.b64decode(data).decode("utf-8"),
                }
            except (binascii.Error, ValueError):
                raise invalid(f"The text file in {field} is not valid base64 UTF-8.", field) from None
        else:
            src = {"type": "base64", "media_type": media or "application/pdf", "data": data}
    elif p.url:
        src = {"type": "url", "url": p.url}
    elif p.file_id:
        src = {"type": "file", "file_id": p.file_id}
    else:
        raise invalid(f"The file in {field} has no content.", field, "invalid_value")
    block: dict[str, Any] = {"type": "document", "source": src}
    if p.filename:
        block["title"] = p.filename
    return _cache(p, block)


def _tool_result(p: ToolResultPart, field: str) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": p.tool_call_id}
    if isinstance(p.content, str):
        if p.content:
            block["content"] = p.content
    else:
        content: list[dict[str, Any]] = []
        for j, c in enumerate(p.content):
            cf = f"{field}.content[{j}]"
            if isinstance(c, TextPart):
                if c.text:
                    content.append(_cache(c, {"type": "text", "text": c.text}))
            elif isinstance(c, ImagePart):
                content.append(_image(c, cf))
            elif isinstance(c, FilePart):
                content.append(_document(c, cf))
            elif isinstance(c, (ReasoningPart, ToolCallPart, ToolResultPart)):
                raise invalid(f"A tool result ({cf}) cannot contain {c.kind!r} content.", cf)
            elif isinstance(c, ServerToolCallPart | ServerToolResultPart):
                raise unsupported_server_tool(c, "Anthropic tool result", cf)
            else:
                assert_never(c)
        if content:
            block["content"] = content
    if p.is_error:
        block["is_error"] = True
    return _cache(p, block)


def _blocks(parts: list[Part], field: str, role: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, p in enumerate(parts):
        block = _block(p, f"{field}[{j}]", role)
        if block is not None:
            out.append(block)
    return out


def _block(p: Part, pf: str, role: str) -> dict[str, Any] | None:
    """One part as a content block (None: nothing to send)."""
    if isinstance(p, TextPart):
        # Anthropic rejects empty text blocks; they carry nothing
        return _cache(p, {"type": "text", "text": p.text}) if p.text else None
    if isinstance(p, ImagePart):
        return _image(p, pf)
    if isinstance(p, FilePart):
        return _document(p, pf)
    if isinstance(p, ToolCallPart):
        if role != "assistant":
            raise invalid(f"A tool call ({pf}) can only appear in an assistant message.", pf)
        return _cache(
            p, {"type": "tool_use", "id": p.id, "name": p.name, "input": tool_input_json(p.arguments)}
        )
    if isinstance(p, ToolResultPart):
        return _tool_result(p, pf)
    if isinstance(p, ReasoningPart):
        return _thinking_block(p, pf, role)
    if isinstance(p, ServerToolCallPart | ServerToolResultPart):
        if p.wire != NAME:
            raise unsupported_server_tool(p, "Anthropic", pf)
        return dict(p.data)
    assert_never(p)


def _thinking_block(p: ReasoningPart, pf: str, role: str) -> dict[str, Any] | None:
    if role != "assistant":
        raise invalid(f"Reasoning ({pf}) can only appear in an assistant message.", pf)
    if p.redacted:
        return {"type": "redacted_thinking", "data": p.redacted}
    if p.signature and not is_sealed(p.signature):  # a seal of ours is for another upstream's reasoning
        return {"type": "thinking", "thinking": p.text, "signature": p.signature}
    return None  # unsigned reasoning came from another model: Anthropic would reject it (see module doc)


def _system_blocks(m: Message, field: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, p in enumerate(m.parts):
        if not isinstance(p, TextPart):
            raise invalid(f"A {m.role} message ({field}) may only contain text.", f"{field}.content[{j}]")
        if p.text:
            out.append(_cache(p, {"type": "text", "text": p.text}))
    return out


def build_messages(req: ChatRequest, beta: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages). Consecutive user/tool turns merge into one user turn."""
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    keep_mid_system = bool(beta and MID_CONVERSATION_SYSTEM_BETA in beta)
    for i, m in enumerate(req.messages):
        field = f"messages[{i}]"
        if m.role in ("system", "developer"):
            blocks = _system_blocks(m, field)
            if keep_mid_system and messages:
                msg: dict[str, Any] = {"role": "system", "content": blocks}
                for k, v in anthropic_details(m).items():
                    msg.setdefault(k, v)
                messages.append(msg)
            else:
                system.extend(blocks)
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks = _blocks(m.parts, f"{field}.content", role)
        prev = messages[-1] if messages else None
        if prev is not None and prev["role"] == role:
            prev["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return system, messages


def _thinking(req: ChatRequest, max_tokens: int, budgets: dict[str, int]) -> dict[str, Any] | None:
    r = req.reasoning
    if r is None:
        return None
    if r.enabled is False or r.effort == "none":
        return {"type": "disabled"}
    if r.budget_tokens is not None:
        return {"type": "enabled", "budget_tokens": r.budget_tokens}
    if r.enabled or r.effort:
        budget = min(budgets.get(r.effort or "medium", budgets["medium"]), max_tokens - 1)
        if budget < MIN_THINKING_BUDGET:
            raise invalid(
                f"Reasoning needs max_tokens above {MIN_THINKING_BUDGET} on this model (got {max_tokens}).",
                "max_tokens", "invalid_value",
            )  # fmt: skip
        return {"type": "enabled", "budget_tokens": budget}
    return None


def build_body(
    req: ChatRequest, model: str, *, default_max_tokens: int = DEFAULT_MAX_TOKENS,
    budgets: dict[str, int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The Messages API body for a hub request."""
    own = req.extra_for(NAME)
    if req.origin != NAME:
        _refuse_foreign_options(req)
    system, messages = build_messages(req, req.header_for(NAME, "anthropic-beta"))
    max_tokens = req.max_tokens or default_max_tokens
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    if system:
        body["system"] = system
    if req.stream:
        body["stream"] = True
    for k in ("temperature", "top_p", "top_k"):
        v = getattr(req, k)
        if v is not None:
            body[k] = v
    if req.stop:
        body["stop_sequences"] = req.stop
    user = req.user
    if user is None and req.metadata and isinstance(req.metadata.get("user_id"), str):
        user = req.metadata["user_id"]
    if user is not None:
        body["metadata"] = {"user_id": user}
    if req.tools:
        _add_tools(body, req)
    if "thinking" not in own and (
        req.origin != NAME or (req.reasoning and req.reasoning.enabled is not None)
    ):
        # an Anthropic client's own thinking object is sent as it came (below); its effort alone is not
        # a request for thinking
        thinking = _thinking(req, max_tokens, budgets or THINKING_BUDGETS)
        if thinking is not None:
            body["thinking"] = thinking
    body.update(own)
    return body


def _refuse_foreign_options(req: ChatRequest) -> None:
    """OpenAI knobs that have no Messages equivalent: a clear 400."""
    n = req.extra_for(OPENAI_CHAT).get("n")
    if isinstance(n, int) and n > 1:
        raise invalid("'n' greater than 1 is not supported by Anthropic upstreams.", "n", "unsupported_value")
    rf = req.response_format
    if rf is not None and rf.get("type") not in (None, "text"):
        raise invalid(f"response_format {rf.get('type')!r} is not supported by Anthropic upstreams.",
                      "response_format", "unsupported_value")  # fmt: skip


_CHOICE_TYPES = {"auto": "auto", "none": "none", "required": "any", "tool": "tool"}


def _add_tools(body: dict[str, Any], req: ChatRequest) -> None:
    tools: list[dict[str, Any]] = []
    for t in req.tools or ():
        td: dict[str, Any] = {"name": t.name}
        if t.description:
            td["description"] = t.description
        td["input_schema"] = t.parameters or {"type": "object", "properties": {}}
        tools.append(_cache(t, td))
    body["tools"] = tools
    tc = req.tool_choice
    if tc is not None:
        choice: dict[str, Any] = {"type": _CHOICE_TYPES[tc.mode]}
        if tc.mode == "tool":
            choice["name"] = tc.name
        if tc.parallel is False and tc.mode != "none":
            choice["disable_parallel_tool_use"] = True
        body["tool_choice"] = choice


# ------------------------------------------------------------------------------------ response -> hub

SERVER_CALL_TYPES = frozenset({"server_tool_use", "mcp_tool_use"})
"""Blocks of tools the upstream runs itself; their results are the ``*_tool_result`` blocks."""


def is_server_block(t: Any) -> bool:
    """``server_tool_use`` / ``mcp_tool_use`` and their results (``web_search_tool_result``, ...)."""
    return t in SERVER_CALL_TYPES or (
        isinstance(t, str) and t.endswith("_tool_result") and t != "tool_result"
    )


def server_part(block: dict[str, Any]) -> ServerToolCallPart | ServerToolResultPart:
    """A server tool block as an opaque hub part (``data`` is the block, to go back as it came)."""
    if block.get("type") in SERVER_CALL_TYPES:
        return ServerToolCallPart(str(block.get("id") or ""), str(block.get("name") or ""), NAME, block)
    return ServerToolResultPart(str(block.get("tool_use_id") or ""), NAME, block)


def _block_part(block: dict[str, Any], streaming: bool = False) -> OutputPart:
    t = block.get("type")
    if t == "text":
        return TextPart(str(block.get("text") or ""))
    if t == "thinking":
        sig = block.get("signature")
        return ReasoningPart(
            str(block.get("thinking") or ""), signature=sig if isinstance(sig, str) and sig else None
        )
    if t == "redacted_thinking":
        return ReasoningPart("", redacted=str(block.get("data") or ""))
    if t == "tool_use":
        # a complete block: its input as JSON text ("{}" for none). A stream's block start carries
        # ``input: {}`` and the arguments follow as input_json_delta fragments.
        inp = block.get("input")
        args = "" if streaming and not inp else orjson.dumps(inp if inp is not None else {}).decode()
        return ToolCallPart(str(block.get("id") or ""), str(block.get("name") or ""), args)
    if is_server_block(t):
        return server_part(block)
    raise GatewayError(
        "upstream", f"Anthropic returned a content block of type {t!r}, which any2api cannot translate.",
        code="untranslatable_content", retryable=False,
    )  # fmt: skip


_HUB_BLOCKS = frozenset({"text", "thinking", "redacted_thinking", "tool_use"})
"""Block types that become hub parts of their own kind (the rest: server tool blocks, or unknown)."""
_KNOWN_KEYS = frozenset({"type", "text", "thinking", "signature", "data", "id", "name", "input"})


def _block_details(block: dict[str, Any]) -> dict[str, JSON] | None:
    """Keys of a response block beyond what the hub part holds (citations, caller ...); not for server
    tool blocks, whose part holds the whole block."""
    rest = {k: v for k, v in block.items() if k not in _KNOWN_KEYS and v is not None}
    return {"anthropic": rest} if rest else None


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _finish(stop: Any) -> FinishReason:
    return STOP_IN.get(stop, "stop") if isinstance(stop, str) else "stop"


def message_events(obj: Any, model: str) -> list[Event]:
    """A non-streamed Messages response as the event sequence a stream would give."""
    if not isinstance(obj, dict) or not isinstance(obj.get("content"), list):
        raise GatewayError("upstream", f"Upstream sent an unexpected response: {str(obj)[:300]}")
    parts = PartsManager()
    parts.events.append(ResponseStart(message_id(str(obj.get("id") or "")), str(obj.get("model") or model),
                                      int(time.time())))  # fmt: skip
    for block in obj["content"]:
        if not isinstance(block, dict):
            raise GatewayError(
                "upstream", f"Upstream sent a content block that is not an object: {block!r:.200}"
            )
        part = _block_part(block)
        server = isinstance(part, ServerToolCallPart | ServerToolResultPart)
        parts.whole(part, None if server else _block_details(block))
    u = obj.get("usage")
    if isinstance(u, dict):
        parts.events.append(UsageEvent(usage_from_wire(u)))
    seq = obj.get("stop_sequence")
    parts.events.append(Finish(_finish(obj.get("stop_reason")), seq if isinstance(seq, str) else None))
    return parts.events


class _ServerBlock:
    """A server tool block being streamed: it becomes one whole part at its ``content_block_stop``."""

    __slots__ = ("block", "json")

    def __init__(self, block: dict[str, Any]) -> None:
        self.block = block
        self.json: list[str] = []

    def part(self) -> ServerToolCallPart | ServerToolResultPart:
        block = self.block
        if self.json:
            text = "".join(self.json)
            try:
                block = {**block, "input": orjson.loads(text)}
            except orjson.JSONDecodeError:
                raise GatewayError("upstream", f"Upstream sent server tool input that is not JSON: {text[:200]!r}",
                                   code="upstream_bad_response") from None  # fmt: skip
        return server_part(block)


class MessageStreamParser(JsonStreamParser):
    """Messages SSE events (decoded JSON) -> hub events. Blocks map one to one onto parts, in order; a
    server tool block (``server_tool_use``, ``web_search_tool_result`` ...) is one whole part, sent when
    the block is complete."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self._details: dict[int, dict[str, Any]] = {}
        self._no_args: set[int] = set()
        """Tool calls (hub index) that got no argument text so far."""
        self._server: dict[Any, _ServerBlock] = {}
        self.finish: FinishReason | None = None
        self.stop_sequence: str | None = None

    def _start(self, msg: dict[str, Any]) -> None:
        self.started = True
        usage = None
        u = msg.get("usage")
        if isinstance(u, dict):
            usage = usage_from_wire(u)
            usage.output_tokens = 0  # message_start's output count is a placeholder
        self.parts.events.append(ResponseStart(message_id(str(msg.get("id") or "")),
                                               str(msg.get("model") or self.model), int(time.time()), usage))  # fmt: skip

    def feed(self, obj: Any) -> list[Event]:
        if not isinstance(obj, dict):
            raise GatewayError("upstream", f"Upstream sent an event that is not a JSON object: {obj!r:.200}")
        t: Any = obj.get("type")  # any JSON value: not a known str -> KeyError or TypeError below
        if t == "content_block_delta" and self.started:  # the hot path: one delta after another
            self._block_delta(obj)
        elif t == "ping":
            return []
        else:
            try:
                handler = _HANDLERS[t]
            except (KeyError, TypeError):
                raise GatewayError("upstream", f"Upstream sent an event of unknown type {t!r}",
                                   code="untranslatable_content") from None  # fmt: skip
            if not self.started and t != "error" and t != "message_start":
                self._start({})
            handler(self, obj)
        parts = self.parts
        out = parts.events
        parts.events = []
        return out

    def _hub(self, obj: dict[str, Any]) -> int:
        idx = obj.get("index")
        hub = self.parts.keys.get(idx) if isinstance(idx, int) else None
        if hub is None:
            raise GatewayError("upstream", f"Upstream sent {obj.get('type')} for unknown block index {idx!r}")
        return hub

    def _message_start(self, obj: dict[str, Any]) -> None:
        self._start(_obj(obj.get("message")))

    def _error(self, obj: dict[str, Any]) -> None:
        err = _obj(obj.get("error"))
        etype = str(err.get("type") or "api_error")
        msg = str(err.get("message") or etype)
        if not self.started:
            self._start({})
        self.parts.events.append(self.fail(GatewayError(ERROR_KINDS.get(etype, "upstream"), f"Upstream error: {msg}",
                                                        code=etype)))  # fmt: skip

    def _block_start(self, obj: dict[str, Any]) -> None:
        block = obj.get("content_block")
        idx = obj.get("index")
        if not isinstance(block, dict) or not isinstance(idx, int):
            raise GatewayError("upstream", f"Upstream sent a malformed content_block_start: {obj!r:.200}")
        t = block.get("type")
        if t not in _HUB_BLOCKS and is_server_block(t):
            self._server[idx] = _ServerBlock(block)  # one whole part at its content_block_stop
            return
        part = _block_part(block, streaming=True)
        hub = self.parts.start(part, idx)
        if isinstance(part, ToolCallPart) and not part.arguments:
            self._no_args.add(hub)
        d = _block_details(block)
        if d:
            self._details[hub] = d["anthropic"]

    def _block_delta(self, obj: dict[str, Any]) -> None:
        if self._server and obj.get("index") in self._server:
            self._server_delta(obj)
            return
        idx = obj.get("index")
        hub = self.parts.keys.get(idx) if type(idx) is int else None
        if hub is None:
            hub = self._hub(obj)
        delta = obj.get("delta")
        if not isinstance(delta, dict):
            delta = {}
        dt = delta.get("type")
        if dt == "text_delta" or dt == "thinking_delta":
            text = delta.get("text" if dt == "text_delta" else "thinking")
            if text and isinstance(text, str):
                self.parts.events.append(PartDelta(hub, text))
        elif dt == "input_json_delta":
            pj = delta.get("partial_json")
            if pj and isinstance(pj, str):
                self._no_args.discard(hub)
                self.parts.events.append(PartDelta(hub, pj))
        elif dt == "signature_delta":
            sig = delta.get("signature")
            if sig and isinstance(sig, str):
                self.parts.delta(hub, "", sig)
        elif dt == "citations_delta":
            self._details.setdefault(hub, {}).setdefault("citations", []).append(delta.get("citation"))
        else:
            raise GatewayError("upstream", f"Upstream sent a content delta of unknown type {dt!r}",
                               code="untranslatable_content")  # fmt: skip

    def _server_delta(self, obj: dict[str, Any]) -> None:
        delta = _obj(obj.get("delta"))
        if delta.get("type") != "input_json_delta":
            raise GatewayError("upstream", f"Upstream sent a {delta.get('type')!r} delta for a server tool block",
                               code="untranslatable_content")  # fmt: skip
        pj = delta.get("partial_json")
        if pj and isinstance(pj, str):
            self._server[obj.get("index")].json.append(pj)

    def _block_stop(self, obj: dict[str, Any]) -> None:
        server = self._server.pop(obj.get("index"), None) if self._server else None
        if server is not None:
            self.parts.whole(server.part())
            return
        idx = obj.get("index")
        hub = self.parts.keys.get(idx) if type(idx) is int else None
        if hub is None:
            hub = self._hub(obj)
        if hub in self._no_args:
            self._no_args.discard(hub)
            self.parts.delta(hub, "{}")  # a call without arguments: "{}", as OpenAI clients expect
        d = self._details.pop(hub, None)
        self.parts.end(hub, {"anthropic": d} if d else None)

    def _message_delta(self, obj: dict[str, Any]) -> None:
        delta = _obj(obj.get("delta"))
        if delta.get("stop_reason") is not None:
            self.finish = _finish(delta["stop_reason"])
        seq = delta.get("stop_sequence")
        if isinstance(seq, str):
            self.stop_sequence = seq
        u = obj.get("usage")
        if isinstance(u, dict):
            self.parts.events.append(UsageEvent(usage_from_wire(u)))

    def _message_stop(self, obj: dict[str, Any]) -> None:
        self.done = True
        self.parts.close()
        self.parts.events.append(Finish(self.finish or "stop", self.stop_sequence))

    def close(self) -> list[Event]:
        if self.done:
            return []
        if not self.started:
            raise GatewayError("upstream", "Upstream closed the stream without sending anything",
                               code="upstream_empty")  # fmt: skip
        out = self.parts.take()
        out.append(self.fail(GatewayError("upstream", "Upstream stream ended before message_stop",
                                          code="upstream_disconnected")))  # fmt: skip
        return out


_HANDLERS: dict[str, Callable[[MessageStreamParser, dict[str, Any]], None]] = {
    "content_block_delta": MessageStreamParser._block_delta,
    "content_block_start": MessageStreamParser._block_start,
    "content_block_stop": MessageStreamParser._block_stop,
    "message_start": MessageStreamParser._message_start,
    "message_delta": MessageStreamParser._message_delta,
    "message_stop": MessageStreamParser._message_stop,
    "error": MessageStreamParser._error,
}


# ------------------------------------------------------------------------------------------ provider


@dataclass(frozen=True, slots=True)
class AnthropicOptions:
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    budgets: dict[str, int] = field(default_factory=lambda: dict(THINKING_BUDGETS))


def anthropic_options(config: ProviderConfig, where: ConfigPath) -> AnthropicOptions:
    """The ``options`` of an ``anthropic`` provider: ``default_max_tokens``, ``thinking_budgets``."""
    opts = config.options
    for k in opts:
        if k not in ("default_max_tokens", "thinking_budgets"):
            raise where.error(
                f"options.{k}", "unknown option (expected one of: default_max_tokens, thinking_budgets)"
            )
    dmt = opts.get("default_max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(dmt, bool) or not isinstance(dmt, int) or dmt < 1:
        raise where.error("options.default_max_tokens", "must be a positive integer")
    budgets = dict(THINKING_BUDGETS)
    tb = opts.get("thinking_budgets")
    if tb is not None:
        if not isinstance(tb, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in tb.values()
        ):
            raise where.error("options.thinking_budgets", "must map effort names to integers")
        budgets.update({str(k): int(v) for k, v in tb.items()})
    return AnthropicOptions(dmt, budgets)


class AnthropicProvider(JsonHttpProvider):
    dialect = NAME
    auth_style = "x-api-key"
    lower_headers = True

    def __init__(self, config: ProviderConfig, upstream: Upstream) -> None:
        super().__init__(config, upstream)
        base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        self.base = base
        self.url = base + (config.chat_path or "/v1/messages")
        self.models_url = base + (config.models_path or "/v1/models") + "?limit=1000"
        options = anthropic_options(config, ConfigPath(f"providers.{config.name}"))
        self.default_max_tokens = options.default_max_tokens
        self.budgets = options.budgets

    def base_headers(self) -> dict[str, str]:
        headers = {k.lower(): v for k, v in self.config.headers.items()}
        self._config_beta = headers.pop("anthropic-beta", None)
        return {"content-type": "application/json", "anthropic-version": DEFAULT_VERSION, **headers}

    def headers(self, account: Account, stream: bool, beta: str | None = None) -> dict[str, str]:
        h = super().headers(account, False)
        betas = ",".join(b for b in (self._config_beta, beta) if b)
        if not stream and not betas:
            return h
        out = dict(h)
        if stream:
            out["accept"] = "text/event-stream"
        if betas:
            out["anthropic-beta"] = betas
        return out

    async def forward(
        self,
        body: dict[str, Any],
        model: str,
        account: Account,
        stream: bool,
        headers: dict[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """Pass-through. ``headers``: the client's request headers (``anthropic-beta`` is forwarded)."""
        out = dict(body)
        out["model"] = model
        beta = headers.get("anthropic-beta") if headers else None
        return await self.send(
            self.url, orjson.dumps(out), self.headers(account, stream, beta), self.proxy(account)
        )

    async def build(self, req: ChatRequest, model: str, account: Account) -> WireRequest:
        body = build_body(req, model, default_max_tokens=self.default_max_tokens, budgets=self.budgets)
        beta = req.header_for(NAME, "anthropic-beta")
        return WireRequest(self.url, orjson.dumps(body), self.headers(account, req.stream, beta))

    def stream_parser(self, req: ChatRequest, model: str) -> MessageStreamParser:
        return MessageStreamParser(model)

    def response_events(self, obj: Any, req: ChatRequest, model: str) -> list[Event]:
        return message_events(obj, model)

    def model_list(self, doc: Any) -> list[ModelInfo]:
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise GatewayError("upstream", "Upstream /v1/models answer is not an Anthropic model list")
        return [
            ModelInfo(str(m["id"]), m.get("display_name"))
            for m in data
            if isinstance(m, dict) and m.get("id")
        ]


register_provider("anthropic", AnthropicProvider, wire=NAME, options=anthropic_options)
