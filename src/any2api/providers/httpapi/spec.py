"""The ``http`` provider's spec: validated and compiled once, when the config is loaded.

A provider block of type ``http`` (see ``examples/`` for complete ones)::

    - name: edgeone
      type: http
      base_url: https://example.invalid          # optional when request.url is absolute
      models: [{id: deepseek-chat, display_name: DeepSeek-V3}]
      headers: {Origin: "{{ base_url }}"}          # templated, like request.headers
      error_rules: [{match: "Daily usage limit exceeded", kind: quota_exceeded}]
      request:
        path: /api/ai                            # or url: (absolute, templated)
        method: POST
        headers: {Authorization: "Bearer {{ account.api_key }}"}
        query: {key: "{{ account.api_key }}"}
        body: {model: "{{ model }}", messages: "{{ messages }}", stream: true,
               temperature: "{{ temperature }}", max_tokens: "{{ max_tokens }}"}
      messages:
        system: keep            # keep | merge (into the first user message) | drop (use {{ system }})
        roles: {assistant: bot} # role renames
        item: {role: "{{ role }}", content: "{{ content }}"}
        images: reject          # reject | openai | url | base64
        merge_consecutive: false
        reasoning: drop         # earlier reasoning: drop | think (as <think>…</think> text)
      response:
        format: sse             # json | sse | ndjson | text | auto (by Content-Type)
        text: choices[0].delta.content       # a path, or a list of paths (first present wins)
        reasoning: choices[0].delta.reasoning_content
        finish_reason: choices[0].finish_reason
        usage: {input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens}
        error: error.message
        id: id
        text_mode: delta        # delta | cumulative (each event repeats the whole text so far)
        done: [{data: "[DONE]"}, {event: end}, {path: done, equals: true}]
        events: {thinking: {data: text, reasoning: $}}   # SSE rules by event name
        finish_map: {end_turn: stop}
        think: true             # <think>…</think> in text -> reasoning (or {open, close, anywhere})
        ignore_invalid: false
      tools: emulate            # emulate | reject (or {mode: emulate, bare_json: true})

Template variables: see ``REQUEST_VARS`` / ``ITEM_VARS``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from ...config_types import ConfigError, ProviderConfig
from ...core.response import FinishReason
from .extract import USAGE_FIELDS, DoneWhen, ResponseRules, Rule
from .paths import Path, PathError, compile_path
from .template import Render, TemplateError, compile_template

REQUEST_VARS = frozenset({
    "model", "messages", "system", "prompt", "history", "transcript", "images", "temperature", "max_tokens",
    "top_p", "top_k", "stop", "seed", "stream", "user", "conversation_id", "request_id", "now", "now_ms",
    "account", "env", "extra", "metadata", "response_format", "base_url",
})  # fmt: skip
"""Variables of body, header, query and URL templates."""

ITEM_VARS = frozenset({"role", "content", "text", "images", "name", "index", "model"})
"""Variables of ``messages.item``."""

_TOP_KEYS = {"request", "messages", "response", "tools"}
_REQUEST_KEYS = {"url", "path", "method", "headers", "query", "body"}
_MESSAGES_KEYS = {"system", "roles", "item", "images", "merge_consecutive", "reasoning"}
_RULE_KEYS = {"text", "reasoning", "finish_reason", "usage", "error", "id", "data", "done", "skip"}
_RESPONSE_KEYS = _RULE_KEYS | {"format", "text_mode", "events", "finish_map", "think", "ignore_invalid"}
_FINISH: tuple[FinishReason, ...] = ("stop", "length", "tool_calls", "content_filter", "error")
DEFAULT_FINISH_MAP: dict[str, FinishReason] = {
    "stop": "stop", "end_turn": "stop", "eos": "stop", "stop_sequence": "stop", "end": "stop", "complete": "stop",
    "completed": "stop", "finished": "stop", "length": "length", "max_tokens": "length", "max_output_tokens": "length",
    "tool_calls": "tool_calls", "tool_use": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "safety": "content_filter", "error": "error",
}  # fmt: skip


@dataclass(slots=True)
class MessagesSpec:
    system: str = "keep"
    roles: dict[str, str] = field(default_factory=dict)
    item: Render | None = None
    """None: ``{"role": role, "content": content}``."""
    images: str = "reject"
    merge_consecutive: bool = False
    reasoning: str = "drop"


@dataclass(slots=True)
class ThinkSpec:
    open: str = "<think>"
    close: str = "</think>"
    anywhere: bool = False


@dataclass(slots=True)
class HttpSpec:
    method: str
    url: Render
    headers: list[tuple[str, Render]]
    query: list[tuple[str, Render]]
    body: Render | None
    messages: MessagesSpec
    response: ResponseRules
    cumulative: bool
    think: ThinkSpec | None
    finish_map: dict[str, FinishReason]
    tools: str
    bare_json: bool
    needs: frozenset[str]
    """Request variables the templates use (the others are not computed)."""
    env: dict[str, str]


LineOf = Callable[[str], "int | None"]


class _Reader:
    def __init__(self, prefix: str, line_of: LineOf | None) -> None:
        self.prefix = prefix
        self.line_of = line_of

    def err(self, sub: str, message: str) -> ConfigError:
        path = f"{self.prefix}.{sub}" if sub else self.prefix
        line = self.line_of(path) if self.line_of is not None else None
        return ConfigError(path, message, line)

    def mapping(self, value: Any, sub: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.err(sub, f"must be a mapping, got {type(value).__name__}")
        if allowed is not None:
            for k in value:
                if k not in allowed:
                    raise self.err(
                        f"{sub}.{k}", f"unknown key (expected one of: {', '.join(sorted(allowed))})"
                    )
        return value

    def choice(self, value: Any, sub: str, options: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or value not in options:
            raise self.err(sub, f"must be one of: {', '.join(options)} (got {value!r})")
        return value

    def boolean(self, value: Any, sub: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.err(sub, f"must be true or false, got {value!r}")
        return value

    def string(self, value: Any, sub: str, required: bool = False) -> str | None:
        if value is None or value == "":
            if required:
                raise self.err(sub, "is required")
            return None
        if not isinstance(value, str):
            raise self.err(sub, f"must be a string, got {type(value).__name__}")
        return value

    def template(self, value: Any, sub: str, names: frozenset[str], used: set[str]) -> Render:
        try:
            return compile_template(value, names, used)
        except TemplateError as e:
            raise self.err(sub + e.where, e.message) from None

    def paths(self, value: Any, sub: str) -> tuple[Path, ...]:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        out = []
        for i, v in enumerate(items):
            where = f"{sub}[{i}]" if isinstance(value, list) else sub
            if not isinstance(v, str):
                raise self.err(where, f"must be a path such as choices[0].delta.content, got {v!r}")
            try:
                out.append(compile_path(v))
            except PathError as e:
                raise self.err(where, str(e)) from None
        return tuple(out)

    def rule(self, value: Any, sub: str, in_event: bool = False) -> Rule:
        m = self.mapping(value, sub, _RULE_KEYS if in_event else _RESPONSE_KEYS)
        usage: dict[str, tuple[Path, ...]] = {}
        for k, v in self.mapping(m.get("usage"), f"{sub}.usage", set(USAGE_FIELDS)).items():
            usage[k] = self.paths(v, f"{sub}.usage.{k}")
        data = self.choice(m.get("data"), f"{sub}.data", ("json", "text"), "json")
        done = self.boolean(m.get("done"), f"{sub}.done", False) if in_event else False
        return Rule(
            text=self.paths(m.get("text"), f"{sub}.text"),
            reasoning=self.paths(m.get("reasoning"), f"{sub}.reasoning"),
            finish=self.paths(m.get("finish_reason"), f"{sub}.finish_reason"),
            usage=usage,
            error=self.paths(m.get("error"), f"{sub}.error"),
            id=self.paths(m.get("id"), f"{sub}.id"),
            data_text=data == "text",
            done=done,
            skip=self.boolean(m.get("skip"), f"{sub}.skip", False),
        )

    def done_when(self, value: Any, sub: str) -> tuple[DoneWhen, ...]:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        out = []
        for i, v in enumerate(items):
            where = f"{sub}[{i}]" if isinstance(value, list) else sub
            m = self.mapping(v, where, {"event", "data", "path", "equals"})
            if not m:
                raise self.err(where, "needs one of: event, data, path")
            path = None
            if m.get("path") is not None:
                ps = self.paths(m["path"], f"{where}.path")
                path = ps[0]
            elif "equals" in m:
                raise self.err(f"{where}.equals", "needs a path to compare")
            out.append(DoneWhen(
                event=self.string(m.get("event"), f"{where}.event"),
                data=self.string(m.get("data"), f"{where}.data"),
                path=path, equals=m.get("equals"), has_equals="equals" in m,
            ))  # fmt: skip
        return tuple(out)


@dataclass(slots=True)
class _Request:
    method: str
    url: Render
    headers: list[tuple[str, Render]]
    query: list[tuple[str, Render]]
    body: Render | None


@dataclass(slots=True)
class _Response:
    rules: ResponseRules
    cumulative: bool
    think: ThinkSpec | None
    finish_map: dict[str, FinishReason]


def compile_spec(
    config: ProviderConfig, prefix: str | None = None, line_of: LineOf | None = None
) -> HttpSpec:
    """Validate and compile an ``http`` provider block. Raises :class:`ConfigError` naming the field
    (``providers[2].response.text``) -- ``prefix`` is the block's own path."""
    r = _Reader(prefix or f"providers.{config.name}", line_of)
    _check_keys(r, config)
    opts = config.options
    used: set[str] = set()
    req = _request(r, config, opts.get("request"), used)
    messages = _messages(r, opts.get("messages"))
    resp = _response(r, opts.get("response"))
    tools, bare = _tools(r, opts.get("tools"))
    return HttpSpec(
        method=req.method,
        url=req.url,
        headers=req.headers,
        query=req.query,
        body=req.body,
        messages=messages,
        response=resp.rules,
        cumulative=resp.cumulative,
        think=resp.think,
        finish_map=resp.finish_map,
        tools=tools,
        bare_json=bare,
        needs=frozenset(used),
        env=dict(os.environ) if "env" in used else {},
    )


def _check_keys(r: _Reader, config: ProviderConfig) -> None:
    for k in config.options:
        if k not in _TOP_KEYS:
            raise r.err(
                k, f"unknown key for an http provider (its own keys are: {', '.join(sorted(_TOP_KEYS))})"
            )
    unused = {
        "param_renames": config.param_renames, "param_drops": config.param_drops,
        "param_clamps": config.param_clamps, "reasoning_field": config.reasoning_field,
        "models_path": config.models_path, "discover_models": config.discover_models,
    }  # fmt: skip
    for k, v in unused.items():
        if v:
            raise r.err(k, "is not used by http providers (the request body template decides what is sent)")


# -- request


def _request(r: _Reader, config: ProviderConfig, value: Any, used: set[str]) -> _Request:
    req = r.mapping(value, "request", _REQUEST_KEYS)
    if not req:
        raise r.err("request", "is required for an http provider (at least request.url or request.path)")
    method = (r.string(req.get("method"), "request.method") or "POST").upper()
    if method not in ("POST", "PUT", "PATCH", "GET"):
        raise r.err("request.method", f"must be POST, PUT, PATCH or GET (got {method})")
    url = r.template(_url(r, config, req), "request.url", REQUEST_VARS, used)
    query = [
        (str(k), r.template(v if isinstance(v, str) else str(v), f"request.query.{k}", REQUEST_VARS, used))
        for k, v in r.mapping(req.get("query"), "request.query").items()
        if v is not None
    ]
    body: Render | None = None
    if "body" in req and req["body"] is not None:
        if method == "GET":
            raise r.err("request.body", "a GET request has no body (use request.query)")
        body = r.template(req["body"], "request.body", REQUEST_VARS, used)
    elif method != "GET":
        raise r.err("request.body", f"is required for a {method} request")
    return _Request(method, url, _headers(r, config, req, used), query, body)


def _url(r: _Reader, config: ProviderConfig, req: dict[str, Any]) -> str:
    """The URL template: ``request.url``, or ``base_url`` + ``request.path`` (or ``chat_path``)."""
    url_t = r.string(req.get("url"), "request.url")
    path_t = r.string(req.get("path"), "request.path") or config.chat_path
    if url_t and path_t and req.get("path"):
        raise r.err("request.path", "give either request.url or request.path, not both")
    if not url_t:
        if not path_t:
            raise r.err("request.url", "is required (or request.path with base_url)")
        if not config.base_url:
            raise r.err("base_url", "is required when request.path is used (or give an absolute request.url)")
        url_t = config.base_url + (path_t if path_t.startswith("/") else "/" + path_t)
    if "{{" not in url_t and not re.match(r"^https?://[^/\s]+", url_t):
        raise r.err("request.url", f"must be an absolute http(s) URL, got {url_t!r}")
    return url_t


def _headers(
    r: _Reader, config: ProviderConfig, req: dict[str, Any], used: set[str]
) -> list[tuple[str, Render]]:
    """The provider's ``headers`` then ``request.headers``, all templated."""
    headers: list[tuple[str, Render]] = []
    for k, v in config.headers.items():
        headers.append((k, r.template(v, f"headers.{k}", REQUEST_VARS, used)))
    for k, v in r.mapping(req.get("headers"), "request.headers").items():
        if v is None:
            continue
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise r.err(f"request.headers.{k}", "must be a string")
        headers.append((str(k), r.template(str(v), f"request.headers.{k}", REQUEST_VARS, used)))
    return headers


# -- messages


def _messages(r: _Reader, value: Any) -> MessagesSpec:
    mm = r.mapping(value, "messages", _MESSAGES_KEYS)
    roles_m = r.mapping(mm.get("roles"), "messages.roles", {"system", "user", "assistant"})
    roles: dict[str, str] = {}
    for k, v in roles_m.items():
        roles[k] = r.string(v, f"messages.roles.{k}", required=True) or k
    item = None
    if mm.get("item") is not None:
        item_used: set[str] = set()
        item = r.template(mm["item"], "messages.item", ITEM_VARS, item_used)
    return MessagesSpec(
        system=r.choice(mm.get("system"), "messages.system", ("keep", "merge", "drop"), "keep"),
        roles=roles,
        item=item,
        images=r.choice(mm.get("images"), "messages.images", ("reject", "openai", "url", "base64"), "reject"),
        merge_consecutive=r.boolean(mm.get("merge_consecutive"), "messages.merge_consecutive", False),
        reasoning=r.choice(mm.get("reasoning"), "messages.reasoning", ("drop", "think"), "drop"),
    )


# -- response


def _response(r: _Reader, value: Any) -> _Response:
    rm = r.mapping(value, "response", _RESPONSE_KEYS)
    if not rm:
        raise r.err("response", "is required (at least response.text)")
    fmt = r.choice(rm.get("format"), "response.format", ("auto", "json", "sse", "ndjson", "text"), "auto")
    default = r.rule(rm, "response")
    events = _event_rules(r, rm.get("events"), fmt)
    if fmt != "text" and default.empty and not any(not e.empty for e in events.values()):
        raise r.err(
            "response.text", f"is required for format {fmt}: where the answer text is in the response"
        )
    rules = ResponseRules(
        format=fmt,
        default=default,
        events=events,
        done_when=_done_when(r, rm.get("done"), fmt),
        ignore_invalid=r.boolean(rm.get("ignore_invalid"), "response.ignore_invalid", False),
    )
    cumulative = (
        r.choice(rm.get("text_mode"), "response.text_mode", ("delta", "cumulative"), "delta") == "cumulative"
    )
    return _Response(
        rules, cumulative, _think(r, rm.get("think", True)), _finish_map(r, rm.get("finish_map"))
    )


def _event_rules(r: _Reader, value: Any, fmt: str) -> dict[str, Rule]:
    ev_m = r.mapping(value, "response.events")
    if ev_m and fmt not in ("sse", "auto"):
        raise r.err("response.events", f"rules by event name need format sse (format is {fmt})")
    return {str(name): r.rule(v, f"response.events.{name}", in_event=True) for name, v in ev_m.items()}


def _done_when(r: _Reader, value: Any, fmt: str) -> tuple[DoneWhen, ...]:
    if isinstance(value, bool):
        raise r.err(
            "response.done", "must be a condition ({data: ...}, {event: ...} or {path: ..., equals: ...})"
        )
    done_when = r.done_when(value, "response.done")
    if fmt == "json" and done_when:
        raise r.err("response.done", "only streamed formats (sse, ndjson) have terminal events")
    return done_when


def _finish_map(r: _Reader, value: Any) -> dict[str, FinishReason]:
    finish_map = dict(DEFAULT_FINISH_MAP)
    for k, v in r.mapping(value, "response.finish_map").items():
        if v not in _FINISH:
            raise r.err(f"response.finish_map.{k}", f"must be one of: {', '.join(_FINISH)} (got {v!r})")
        finish_map[str(k)] = cast(FinishReason, v)
    return finish_map


def _think(r: _Reader, value: Any) -> ThinkSpec | None:
    if value is False:
        return None
    if value is True:
        return ThinkSpec()
    tm = r.mapping(value, "response.think", {"open", "close", "anywhere"})
    return ThinkSpec(
        open=r.string(tm.get("open"), "response.think.open") or "<think>",
        close=r.string(tm.get("close"), "response.think.close") or "</think>",
        anywhere=r.boolean(tm.get("anywhere"), "response.think.anywhere", False),
    )


# -- tools


def _tools(r: _Reader, value: Any) -> tuple[str, bool]:
    """(mode, bare_json)."""
    if isinstance(value, dict):
        tm = r.mapping(value, "tools", {"mode", "bare_json"})
        return (
            r.choice(tm.get("mode"), "tools.mode", ("emulate", "reject"), "emulate"),
            r.boolean(tm.get("bare_json"), "tools.bare_json", True),
        )
    return r.choice(value, "tools", ("emulate", "reject"), "emulate"), True
