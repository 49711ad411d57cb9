"""Reading streams back: SSE bytes -> events -> the answer they add up to, one folder per dialect.

Tests check what the gateway (or the simulator) streamed by folding it into text, reasoning, tool calls,
finish reason and usage. The reading here is the tests' own -- independent of ``any2api.sse`` and of the
dialect code under test -- and ``strict=True`` also checks the dialect's stream discipline on the way
(OpenAI: a call's id and name sent once; Anthropic: one block open at a time, contiguous indices, every
delta and stop for the open block, message_start and message_delta present).

Input may be raw bytes (``sse_frames`` / ``openai_chunks`` / ``anthropic_events``), decoded JSON objects,
or the official SDKs' stream objects (pydantic models, read via ``model_dump``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# --- SSE ----------------------------------------------------------------------------------------------------


def sse_frames(body: bytes | str) -> list[tuple[str | None, str]]:
    """(event name or None, data) of every SSE event in ``body``, in order.

    Any line ending; ``data:`` lines of one event joined with newlines; comment lines, ``id:`` /
    ``retry:`` lines and events without data skipped; an unterminated last event still counts."""
    text = body.decode() if isinstance(body, bytes) else body
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field_, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field_ == "event":
                name = value
            elif field_ == "data":
                data.append(value)
        if data:
            out.append((name, "\n".join(data)))
    return out


def sse_data(body: bytes | str) -> list[str]:
    """The data payloads of every event, in order (``[DONE]`` included)."""
    return [d for _, d in sse_frames(body)]


def openai_chunks(body: bytes | str) -> list[dict[str, Any]]:
    """The JSON objects of an OpenAI-style stream (chunks and error objects), without ``[DONE]``."""
    return [json.loads(d) for d in sse_data(body) if d.strip() != "[DONE]"]


def anthropic_events(body: bytes | str, strict: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """(event name, JSON) of an Anthropic stream; ``strict``: every event is named and the name is its
    data's ``type``."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, data in sse_frames(body):
        obj = json.loads(data)
        if strict:
            assert name is not None, f"event without an event: line: {data[:200]}"
            assert obj.get("type") == name, (name, obj)
        out.append((name or obj.get("type", ""), obj))
    return out


def _plain(obj: Any) -> Any:
    """An SDK model as the JSON it was parsed from (None fields dropped); dicts as they are."""
    dump = getattr(obj, "model_dump", None)
    return dump(exclude_none=True) if dump is not None else obj


# --- the folded answer ----------------------------------------------------------------------------------------


@dataclass
class FoldedCall:
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    """The argument JSON as streamed (fragments joined)."""

    @property
    def input(self) -> Any:
        """The arguments parsed (``{}`` when none were sent)."""
        return json.loads(self.arguments) if self.arguments else {}


@dataclass
class Folded:
    """What a stream added up to."""

    text: str = ""
    reasoning: str = ""
    refusal: str = ""
    signatures: list[str | None] = field(default_factory=list)
    """One per reasoning block (Anthropic: None for a thinking block without signature) or per
    signed ``reasoning_details`` entry (OpenAI-compatible)."""
    tool_calls: list[FoldedCall] = field(default_factory=list)
    finish: str | None = None
    """OpenAI ``finish_reason`` / Anthropic ``stop_reason``."""
    stop_sequence: str | None = None
    usage: dict[str, Any] | None = None
    """OpenAI: the last usage object sent. Anthropic: message_start's usage updated by message_delta's."""
    start_usage: dict[str, Any] | None = None
    """Anthropic: message_start's usage as sent."""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    """Anthropic: every content block, whole (text / thinking + signature / tool_use + input / ...)."""
    id: str | None = None
    model: str | None = None
    events: int = 0
    """Chunks / events folded."""
    error: dict[str, Any] | None = None
    """An in-stream error object, when the stream ended with one."""

    @property
    def block_types(self) -> list[str]:
        return [b["type"] for b in self.blocks]


# --- OpenAI Chat Completions ----------------------------------------------------------------------------------


def fold_openai_chat(chunks: Iterable[Any], strict: bool = False) -> Folded:
    """Fold the chunks of choice 0 (see ``fold_openai_choices`` for every choice)."""
    folded = fold_openai_choices(chunks, strict)
    return folded.get(0) or next(iter(folded.values()), None) or Folded()


def fold_openai_choices(chunks: Iterable[Any], strict: bool = False) -> dict[int, Folded]:
    """Per choice index: the joined content / reasoning (``reasoning_content`` or ``reasoning``) /
    refusal, the tool calls by index, the finish reason; usage, id, model and errors on every choice.

    ``strict``: a call's ``id`` and ``name`` come once (in its first delta), as OpenAI sends them."""
    out: dict[int, Folded] = {}
    shared = Folded()
    calls: dict[int, dict[int, FoldedCall]] = {}
    for raw in chunks:
        c = _plain(raw)
        shared.events += 1
        if "error" in c and "choices" not in c:
            shared.error = c["error"]
            continue
        shared.id = c.get("id", shared.id)
        shared.model = c.get("model", shared.model)
        if c.get("usage"):
            shared.usage = c["usage"]
        for ch in c.get("choices") or []:
            f = out.setdefault(ch.get("index", 0), Folded())
            _openai_delta(f, calls.setdefault(ch.get("index", 0), {}), ch.get("delta") or {}, strict)
            f.finish = ch.get("finish_reason") or f.finish
    for i, f in out.items():
        f.tool_calls = [calls[i][k] for k in sorted(calls[i])]
        f.usage, f.id, f.model, f.events, f.error = (
            shared.usage,
            shared.id,
            shared.model,
            shared.events,
            shared.error,
        )
    if not out and (shared.error is not None or shared.usage is not None):
        out[0] = shared
    return out


def _openai_delta(f: Folded, calls: dict[int, FoldedCall], d: dict[str, Any], strict: bool) -> None:
    f.text += d.get("content") or ""
    f.refusal += d.get("refusal") or ""
    f.reasoning += d.get("reasoning_content") or d.get("reasoning") or ""
    for det in d.get("reasoning_details") or []:
        if isinstance(det, dict) and det.get("signature"):
            f.signatures.append(det["signature"])
    for tc in d.get("tool_calls") or []:
        call = calls.setdefault(tc.get("index", 0), FoldedCall())
        fn = tc.get("function") or {}
        if tc.get("id"):
            assert not (strict and call.id is not None), "id sent twice"
            call.id = tc["id"]
        if fn.get("name"):
            assert not (strict and call.name is not None), "name sent twice"
            call.name = fn["name"]
        call.arguments += fn.get("arguments") or ""


# --- Anthropic Messages ---------------------------------------------------------------------------------------


class _AnthropicFold:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.f = Folded()
        self.open: int | None = None
        self.started = False
        self.ended = False

    def event(self, e: dict[str, Any]) -> None:
        self.f.events += 1
        t = e.get("type")
        if t == "message_start":
            m = e["message"]
            self.started = True
            self.f.id, self.f.model = m.get("id"), m.get("model")
            self.f.start_usage = dict(m.get("usage") or {})
            self.f.usage = dict(self.f.start_usage)
        elif t == "content_block_start":
            self.block_start(e)
        elif t == "content_block_delta":
            self.delta(e)
        elif t == "content_block_stop":
            assert not (self.strict and e["index"] != self.open), (
                f"stop of block {e['index']}, open: {self.open}"
            )
            self.open = None
        elif t == "message_delta":
            self.ended = True
            self.f.finish = e["delta"].get("stop_reason")
            self.f.stop_sequence = e["delta"].get("stop_sequence")
            self.f.usage = {
                **(self.f.usage or {}),
                **{k: v for k, v in (e.get("usage") or {}).items() if v is not None},
            }
        elif t == "error":
            self.f.error = e.get("error")

    def block_start(self, e: dict[str, Any]) -> None:
        if self.strict:
            assert self.open is None, "block started while another is open"
            assert e["index"] == len(self.f.blocks), "indices must be contiguous"
        self.open = e["index"]
        b = {**e["content_block"]}
        if b["type"] == "tool_use":
            b["input"], b["partial_json"] = {}, ""
            self.f.tool_calls.append(FoldedCall(b.get("id"), b.get("name")))
        elif b["type"] == "thinking":
            self.f.signatures.append(b.get("signature") or None)
        self.f.blocks.append(b)

    def delta(self, e: dict[str, Any]) -> None:
        assert not (self.strict and e["index"] != self.open), (
            f"delta for block {e['index']}, open: {self.open}"
        )
        b, d = self.f.blocks[e["index"]], e["delta"]
        kind = d["type"]
        if kind == "text_delta":
            b["text"] = b.get("text", "") + d["text"]
            self.f.text += d["text"]
        elif kind == "thinking_delta":
            b["thinking"] = b.get("thinking", "") + d["thinking"]
            self.f.reasoning += d["thinking"]
        elif kind == "signature_delta":
            b["signature"] = (b.get("signature") or "") + d["signature"]
            self.f.signatures[-1] = b["signature"]
        elif kind == "input_json_delta":
            b["partial_json"] += d["partial_json"]
            self.f.tool_calls[-1].arguments += d["partial_json"]
        elif self.strict:
            raise AssertionError(f"unexpected delta {kind}")

    def result(self) -> Folded:
        if self.strict:
            assert self.open is None, f"block {self.open} never stopped"
            assert self.started, "no message_start"
            assert self.ended or self.f.error is not None, "no message_delta"
        for b in self.f.blocks:
            if b["type"] == "tool_use":
                b["input"] = json.loads(b["partial_json"]) if b["partial_json"] else b["input"]
                del b["partial_json"]
        return self.f


def fold_anthropic(events: Iterable[Any], strict: bool = False) -> Folded:
    """Fold Anthropic stream events (JSON objects, (name, object) pairs or SDK events): text and
    thinking joined, blocks whole, signatures per thinking block, tool calls with their input JSON,
    stop reason, usage (message_start's, updated by message_delta's non-null fields)."""
    fold = _AnthropicFold(strict)
    for e in events:
        if isinstance(e, tuple):
            e = e[1]
        fold.event(_plain(e))
    return fold.result()
