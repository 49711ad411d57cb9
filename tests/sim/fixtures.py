"""Replaying recorded provider responses from shared/fixtures (see its PROVENANCE.md).

* ``*.sse``: the recorded wire body, verbatim; written one event at a time (cut after each blank line)
  so ``chunk_delay`` / ``drop_after`` apply.
* ``*.vercel.chunks.txt``: one JSON payload per line, wrapped as SSE: ``data: <line>``, preceded by
  ``event: <type>`` when the payload has a top-level ``type`` (Anthropic, OpenAI Responses), and
  followed by ``data: [DONE]`` when the payloads are ``chat.completion.chunk`` objects. The script's
  ``newline`` / ``space`` options apply to this framing.
* ``*.json``: the body as is; errors (a top-level ``error``, or ``"type": "error"``) get the status in the
  file name (``error-404-...``) or the one their error type implies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .script import Fixture, Raw, Script, ScriptError
from .wire import Event, Op, Reply

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
"""Recorded provider responses and captured client requests (copied from the project's shared fixtures;
see PROVENANCE.md there)."""

_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_STATUS_IN_NAME = re.compile(r"error-(\d{3})")
_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "permission_denied": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "server_error": 500,
    "overloaded_error": 529,
    "model_not_found": 404,
}


def fixture_path(path: str) -> Path:
    p = Path(path)
    if not p.is_absolute():
        p = FIXTURES_DIR / p
    if not p.is_file():
        raise ScriptError(f"fixture not found: {p}")
    return p


def split_sse(body: bytes) -> list[bytes]:
    """The body cut after each event's blank line; concatenating the pieces gives the body back."""
    out: list[bytes] = []
    pos = 0
    for m in _EVENT_END.finditer(body):
        out.append(body[pos : m.end()])
        pos = m.end()
    if pos < len(body):
        out.append(body[pos:])
    return out


def chunks_to_events(text: str) -> list[Event]:
    events: list[Event] = []
    chat = False
    for line in text.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        name = None
        if isinstance(obj, dict):
            if obj.get("object") == "chat.completion.chunk":
                chat = True
            elif isinstance(obj.get("type"), str):
                name = obj["type"]
        events.append(Event(line, name))
    if chat:
        events.append(Event("[DONE]"))
    return events


def error_status(name: str, obj: Any) -> int | None:
    """The HTTP status an error body was recorded with (None: not an error body)."""
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if err is None and obj.get("type") != "error":
        return None
    m = _STATUS_IN_NAME.search(name)
    if m:
        return int(m.group(1))
    if isinstance(err, dict):
        if isinstance(err.get("code"), int):
            return int(err["code"])
        for key in ("code", "type"):
            status = _STATUS_BY_TYPE.get(str(err.get(key)))
            if status is not None:
                return status
    return 500


def load(fixture: Fixture, script: Script) -> Reply:
    p = fixture_path(fixture.path)
    name = p.name
    data = p.read_bytes()
    headers = {**script.headers, **fixture.headers}
    if name.endswith(".sse"):
        ops: list[Op] = [Raw(piece) for piece in split_sse(data)]
        return Reply(fixture.status or 200, {**_SSE_HEADERS, **headers}, ops=ops)
    if name.endswith(".chunks.txt"):
        events: list[Op] = list(chunks_to_events(data.decode()))
        return Reply(fixture.status or 200, {**_SSE_HEADERS, **headers}, ops=events)
    if name.endswith(".json"):
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        status = fixture.status or error_status(name, obj) or 200
        return Reply(status, {"Content-Type": "application/json", **headers}, body=data)
    raise ScriptError(f"fixture {name}: unknown kind (expected .sse, .chunks.txt or .json)")
