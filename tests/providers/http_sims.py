"""Simulators of non-standard chat endpoints, the upstreams of the ``http`` provider's examples.

One aiohttp app on a free loopback port, in a background thread, serving four endpoint shapes:

* ``POST /api/ai`` -- EdgeOne-style: an OpenAI-shaped body; SSE chunks (``stream: true``) with
  ``reasoning_content``, or a ``chat.completion`` JSON body.
* ``POST /api/chat`` -- Ollama: NDJSON lines ``{"message": {"content", "thinking"}, "done"}`` (or one
  JSON object with ``stream: false``), images as base64 in ``messages[].images``.
* ``POST /v1/generate`` -- a plain JSON service: ``{"prompt", "system", "history", "session_id",
  "params"}`` in, ``{"ok": true, "data": {"reply", "tokens"}}`` out; reasoning inline as ``<think>``;
  errors as HTTP 200 ``{"ok": false, "error": {"msg"}}``.
* ``POST /chat/stream`` -- SSE with its own event shape: ``meta``, ``thinking`` (raw text data),
  ``delta`` ``{"content"}``, ``error`` and a terminal ``end`` event, after which the connection stays
  open (a client must stop on ``end``, not on EOF).

Each request takes the next scripted :class:`Reply` (``script``), else echoes the last user text.
Every request is recorded (``requests``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    text: str = ""
    reasoning: str = ""
    chunk: int = 4
    """Characters per streamed event."""
    status: int = 200
    body: Any = None
    """For ``status`` >= 400: the error body (dict -> JSON, str -> text)."""
    error: str | None = None
    """An error reported inside a 200 response (plain JSON) or as a stream event after ``error_after``."""
    error_after: int = 0
    drop_after: int | None = None
    """Cut the connection after this many content events."""
    finish: str = "stop"
    usage: tuple[int, int] = (11, 7)
    think_inline: bool = False
    """Send reasoning inside the text as <think>…</think> (EdgeOne/Ollama shapes)."""
    cumulative: bool = False
    """Custom SSE: each delta repeats the whole text so far."""


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    json: Any


def _pieces(s: str, n: int) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)] if s else []


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return str(c or "")
    return ""


class HttpSims:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._hangs: list[asyncio.Event] = []
        self.port = 0

    # -- control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def _next(self, echo: str) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return Reply(text=f"You said: {echo}")

    def _record(self, request: web.Request, body: Any) -> None:
        with self._lock:
            self.requests.append(Recorded(request.path, dict(request.headers), body))

    def start(self) -> HttpSims:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/api/ai", self._edgeone)
            app.router.add_post("/api/chat", self._ollama)
            app.router.add_post("/v1/generate", self._plain)
            app.router.add_post("/chat/stream", self._custom_sse)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self._runner = runner
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            started.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("simulator did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        def release() -> None:
            for ev in self._hangs:
                ev.set()
            loop.stop()

        loop.call_soon_threadsafe(release)
        if self._thread is not None:
            self._thread.join(10)

    # -- helpers

    async def _json_body(self, request: web.Request) -> Any:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        self._record(request, body)
        return body

    @staticmethod
    def _error(reply: Reply) -> web.Response:
        if isinstance(reply.body, (dict, list)):
            return web.json_response(reply.body, status=reply.status)
        return web.Response(text=str(reply.body or "error"), status=reply.status)

    async def _hang(self) -> None:
        ev = asyncio.Event()
        self._hangs.append(ev)
        try:
            await asyncio.wait_for(ev.wait(), 30)
        except TimeoutError:
            pass

    # -- EdgeOne-style /api/ai (OpenAI-shaped)

    async def _edgeone(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return web.json_response(
                {
                    "error": {
                        "message": "Missing required field: model or messages",
                        "type": "invalid_request_error",
                    }
                },
                status=400,
            )
        reply = self._next(_last_user_text(body["messages"]))
        if reply.status >= 400:
            return self._error(reply)
        text = f"<think>{reply.reasoning}</think>\n\n{reply.text}" if reply.think_inline else reply.text
        reasoning = "" if reply.think_inline else reply.reasoning
        cid, created, model = "chatcmpl-sim1", int(time.time()), body["model"]
        usage = {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                 "total_tokens": sum(reply.usage)}  # fmt: skip
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                msg["reasoning_content"] = reasoning
            return web.json_response({
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": msg, "finish_reason": reply.finish}], "usage": usage,
            })  # fmt: skip
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        await send({"role": "assistant", "content": ""})
        items = [("reasoning_content", p) for p in _pieces(reasoning, reply.chunk)]
        items += [("content", p) for p in _pieces(text, reply.chunk)]
        for n, (kind, s) in enumerate(items):
            if reply.drop_after is not None and n >= reply.drop_after:
                assert request.transport is not None
                request.transport.abort()
                return resp
            await send({kind: s})
        await send({}, reply.finish)
        await resp.write(
            b"data: " + json.dumps({"id": cid, "choices": [], "usage": usage}).encode() + b"\n\n"
        )
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    # -- Ollama /api/chat (NDJSON)

    async def _ollama(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return web.json_response({"error": "missing messages"}, status=400)
        for m in body["messages"]:
            if not isinstance(m.get("content"), str):
                return web.json_response({"error": "invalid message content type"}, status=400)
        reply = self._next(_last_user_text(body["messages"]))
        if reply.status >= 400:
            return self._error(reply)
        model = body.get("model", "")
        text = f"<think>{reply.reasoning}</think>\n\n{reply.text}" if reply.think_inline else reply.text
        thinking = "" if reply.think_inline else reply.reasoning
        final = {"model": model, "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": reply.finish, "prompt_eval_count": reply.usage[0],
                 "eval_count": reply.usage[1]}  # fmt: skip
        if body.get("stream") is False:
            final["message"] = {
                "role": "assistant",
                "content": text,
                **({"thinking": thinking} if thinking else {}),
            }
            return web.json_response(final)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        items = [("thinking", p) for p in _pieces(thinking, reply.chunk)]
        items += [("content", p) for p in _pieces(text, reply.chunk)]
        for n, (kind, s) in enumerate(items):
            if reply.error is not None and n >= reply.error_after:
                await resp.write(json.dumps({"error": reply.error}).encode() + b"\n")
                await resp.write_eof()
                return resp
            msg = {"role": "assistant", "content": s if kind == "content" else ""}
            if kind == "thinking":
                msg["thinking"] = s
            line = {"model": model, "created_at": "2025-01-01T00:00:00Z", "message": msg, "done": False}
            await resp.write(json.dumps(line).encode() + b"\n")
        await resp.write(json.dumps(final).encode() + b"\n")
        await resp.write_eof()
        return resp

    # -- plain JSON /v1/generate

    async def _plain(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return web.json_response(
                {"ok": False, "error": {"code": 400, "msg": "prompt is required"}}, status=400
            )
        if request.headers.get("X-Api-Key") != "plain-secret":
            return web.json_response({"ok": False, "error": {"code": 401, "msg": "bad api key"}}, status=401)
        reply = self._next(body["prompt"])
        if reply.status >= 400:
            return self._error(reply)
        if reply.error is not None:
            return web.json_response({"ok": False, "error": {"code": 1001, "msg": reply.error}})
        text = f"<think>{reply.reasoning}</think>\n{reply.text}" if reply.reasoning else reply.text
        return web.json_response({
            "ok": True, "session_id": body.get("session_id"),
            "data": {"reply": text, "stop_reason": reply.finish,
                     "tokens": {"in": reply.usage[0], "out": reply.usage[1]}},
        })  # fmt: skip

    # -- custom SSE /chat/stream

    async def _custom_sse(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return web.json_response({"message": "query is required"}, status=422)
        reply = self._next(body["query"])
        if reply.status >= 400:
            return self._error(reply)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def event(name: str, data: str) -> None:
            lines = "".join(f"data: {ln}\n" for ln in data.split("\n"))
            await resp.write(f"event: {name}\n{lines}\n".encode())

        await event(
            "meta", json.dumps({"conversation_id": body.get("conversation_id"), "message_id": "msg-1"})
        )
        await resp.write(b": keep-alive\n\n")
        for p in _pieces(reply.reasoning, reply.chunk):
            await event("thinking", p)
        so_far = ""
        for n, p in enumerate(_pieces(reply.text, reply.chunk)):
            if reply.error is not None and n >= reply.error_after:
                await event("error", json.dumps({"message": reply.error}))
                await self._hang()
                return resp
            so_far += p
            await event("delta", json.dumps({"content": so_far if reply.cumulative else p}))
        await event(
            "end",
            json.dumps(
                {"finish": reply.finish, "usage": {"input": reply.usage[0], "output": reply.usage[1]}}
            ),
        )
        await self._hang()  # the upstream keeps the stream open after its terminal event
        return resp
