"""The simulator's HTTP server: an aiohttp app in a background thread with its own event loop.

Endpoints (any path prefix):

* ``POST …/chat/completions`` and every path added with ``add_path``: OpenAI Chat Completions.
* ``POST …/messages``: Anthropic Messages; ``POST …/messages/count_tokens``.
* ``POST …/responses``: OpenAI Responses.
* ``POST …/models/{model}:generateContent | :streamGenerateContent (?alt=sse) | :countTokens``: Gemini.
* ``GET …/models`` (and ``…/models/{id}``): OpenAI's list format, Anthropic's when the request carries
  ``anthropic-version``, Google's under ``/v1beta`` or with a Google key.

Each dialect (its chat paths, request checks, renderer, error bodies, other endpoints, model listing) is a
module registered in ``dialects.py``; the server only dispatches through that registry.

Which answer a chat request gets: a script named by ``[[sim:NAME]]`` in its last user message, else the
first queued script that matches it, else ``default``, else an echo of the last user text.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from . import anthropic_messages, dialects, fixtures, gemini, openai_chat, openai_responses
from .dialects import RenderContext
from .inbound import ChatInput, Invalid
from .script import (
    Comment,
    Delay,
    Drop,
    Fixture,
    Hang,
    Raw,
    Reasoning,
    Script,
    ScriptError,
    Text,
)
from .wire import CommentFrame, Op, Reply, dumps, encode_op

DIALECT_MODULES = (openai_chat, anthropic_messages, openai_responses, gemini)
"""The dialects the simulator speaks; each module registers itself when imported (see dialects.py)."""
DEFAULT_MODELS = ("sim-gpt", "sim-claude", "deepseek-chat", "deepseek-reasoner")
_WORDS = re.compile(r"\S+\s*|\s+")


@dataclass
class RecordedRequest:
    """One request the simulator received, exactly as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    json: Any
    """The parsed body (None when it is not JSON)."""
    seq: int
    dialect: str | None = None
    """The registered dialect's name for chat requests (``openai`` / ``anthropic``), None otherwise."""
    script: Script | None = None
    """The script that answered (None: built-in answer)."""
    outcome: str | None = None
    """``complete``, ``dropped``, ``hung`` (a Hang released by clear/stop), ``released`` (a delay cut
    short by clear/stop), ``client_disconnected``,
    ``rejected`` (the simulator answered 4xx on its own: bad JSON, missing field, wrong key) or
    ``sim_error``. None while the request is being answered."""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def api_key(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:]
        return self.headers.get("x-api-key") or self.headers.get("x-goog-api-key") or self.query.get("key")

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True

    @property
    def model(self) -> str | None:
        return self.json.get("model") if isinstance(self.json, dict) else None

    def wait(self, timeout: float = 10.0) -> str | None:
        """Wait until the simulator has finished answering; the outcome."""
        if not self.done.wait(timeout):
            raise AssertionError(f"simulator still answering {self.method} {self.path} after {timeout}s")
        return self.outcome


@dataclass
class _Queued:
    script: Script
    key: str | None = None
    path: str | None = None
    match: Callable[[RecordedRequest], bool] | None = None

    def matches(self, rec: RecordedRequest, chat: bool) -> bool:
        if self.path is not None:
            if not (rec.path == self.path or rec.path.endswith(self.path)):
                return False
        elif not chat:
            return False
        if self.key is not None and rec.api_key != self.key:
            return False
        return self.match is None or bool(self.match(rec))


class SimServer:
    """``with SimServer() as sim: ...`` -- ``sim.url`` is ``http://127.0.0.1:PORT`` (no path).

    OpenAI SDK: ``base_url=sim.url + "/v1"``; Anthropic SDK: ``base_url=sim.url``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        paths: Mapping[str, str] | None = None,
        reasoning_field: str = "reasoning_content",
        models: tuple[str, ...] = DEFAULT_MODELS,
    ) -> None:
        self.host = host
        self.reasoning_field = reasoning_field
        self.models = list(models)
        self._paths: dict[str, str] = dict(paths or {})
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._queue: list[_Queued] = []
        self._named: dict[str, Script] = {}
        self._errors: list[str] = []
        self._default: Script | None = None
        self._keys: set[str] | None = None
        self._seq = 0
        self._generation = 0
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as e:
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="any2api-sim", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._runner = runner

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        self._stopping = True
        if self._runner is not None:
            fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
            try:
                fut.result(10)
            except Exception:
                pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ----------------------------------------------------------------------------------------

    def enqueue(
        self,
        *scripts: Script,
        key: str | None = None,
        path: str | None = None,
        match: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Queue scripts; each is taken by the next matching request, in order.

        By default only chat requests take them; ``path`` makes a script answer requests to that path
        (any endpoint, e.g. ``/v1/models``); ``key`` only requests with this API key; ``match`` any
        predicate on the :class:`RecordedRequest`."""
        with self._lock:
            self._queue.extend(_Queued(s, key, path, match) for s in scripts)

    def register(self, name: str, script: Script) -> None:
        """Answer with ``script`` every chat request whose last user message contains ``[[sim:NAME]]``."""
        script.name = name
        with self._lock:
            self._named[name] = script

    @property
    def default(self) -> Script | None:
        return self._default

    @default.setter
    def default(self, script: Script | None) -> None:
        """The answer when nothing is queued (None: the built-in echo)."""
        with self._lock:
            self._default = script

    @property
    def keys(self) -> set[str] | None:
        return self._keys

    @keys.setter
    def keys(self, keys: set[str] | None) -> None:
        """Accepted API keys (None: any). A wrong key gets the dialect's 401."""
        with self._lock:
            self._keys = set(keys) if keys is not None else None

    def add_path(self, path: str, dialect: str = "openai") -> None:
        """Serve ``dialect`` (``openai`` / ``anthropic``) at this exact path too, e.g. ``/api/ai``."""
        dialects.get(dialect)  # ValueError for an unknown one
        with self._lock:
            self._paths[path] = dialect

    @property
    def pending(self) -> int:
        """Queued scripts not taken yet."""
        with self._lock:
            return len(self._queue)

    # --- inspection ---------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if r.dialect is not None]

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the simulator received no request")
            return self._requests[-1]

    @property
    def errors(self) -> list[str]:
        """Problems of the simulator or of a script (a test bug): unknown ``[[sim:NAME]]``, a step the
        dialect cannot express, a crash. The pytest fixture fails the test when any are left."""
        with self._lock:
            return list(self._errors)

    def wait_for(self, n: int = 1, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests arrived (since the last clear); all of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise AssertionError(f"the simulator got {len(self._requests)} requests, expected {n}")
            return list(self._requests)

    def wait_for_async(self, n: int = 1, timeout: float = 10.0) -> Awaitable[list[RecordedRequest]]:
        """``await sim.wait_for_async(n)``: ``wait_for`` in a thread, so the caller's event loop keeps running."""
        return asyncio.to_thread(self.wait_for, n, timeout)

    def clear(self) -> None:
        """Forget requests, queued and named scripts, the default, keys and errors; release hangs.

        Paths added with ``add_path`` stay."""
        with self._lock:
            self._requests.clear()
            self._queue.clear()
            self._named.clear()
            self._errors.clear()
            self._default = None
            self._keys = None
            self._generation += 1

    # --- request handling ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._cond:
            self._seq += 1
            rec = RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDict(request.headers),
                body=body,
                json=parsed,
                seq=self._seq,
            )
            self._requests.append(rec)
            self._cond.notify_all()
            generation = self._generation
        try:
            resp, outcome = await self._answer(request, rec, generation)
        except ScriptError as e:
            resp, outcome = self._sim_error(rec, f"script error: {e}"), "sim_error"
        except Exception:
            resp, outcome = self._sim_error(rec, traceback.format_exc()), "sim_error"
        rec.outcome = outcome
        rec.done.set()
        return resp

    def _sim_error(self, rec: RecordedRequest, message: str) -> web.Response:
        with self._lock:
            self._errors.append(f"{rec.method} {rec.path}: {message}")
        return web.Response(status=500, text=f"simulator error: {message}", content_type="text/plain")

    def _dialect(self, method: str, path: str) -> str | None:
        if method != "POST":
            return None
        with self._lock:
            custom = self._paths.get(path)
        if custom is not None:
            return custom
        found = dialects.for_chat_path(path)
        return found.name if found is not None else None

    async def _answer(
        self, request: web.Request, rec: RecordedRequest, gen: int
    ) -> tuple[web.StreamResponse, str]:
        dialect = self._dialect(rec.method, rec.path)
        rec.dialect = dialect
        if dialect is None:
            entry = self._take(rec, chat=False)
            if entry is not None:
                rec.script = entry.script
                return await self._send_script(request, rec, entry.script, None, gen)
            return self._plain(rec)
        denied = self._check_key(rec, dialect)
        if denied is not None:
            return denied, "rejected"
        inp: ChatInput | None = None
        invalid: Invalid | None = None
        if rec.json is None:
            invalid = Invalid("We could not parse the JSON body of your request.")
        else:
            try:
                d = dialects.get(dialect)
                inp = d.parse_recorded(rec) if d.parse_recorded is not None else d.parse(rec.json)
            except Invalid as e:
                invalid = e
        script: Script | None
        if inp is not None and inp.marker is not None:
            with self._lock:
                script = self._named.get(inp.marker)
            if script is None:
                raise ScriptError(f"no script registered as [[sim:{inp.marker}]]")
        else:
            entry = self._take(rec, chat=True)
            script = entry.script if entry is not None else self.default
            if invalid is not None and (script is None or _answers_a_model(script)):
                # the real API rejects it before any model runs; a queued answer waits for the next request
                if entry is not None:
                    with self._lock:
                        self._queue.insert(0, entry)
                return self._invalid(dialect, invalid), "rejected"
        rec.script = script
        if script is None:
            assert inp is not None
            script = _echo(inp)
        return await self._send_script(request, rec, script, inp, gen)

    def _take(self, rec: RecordedRequest, chat: bool) -> _Queued | None:
        with self._lock:
            for i, q in enumerate(self._queue):
                if q.matches(rec, chat):
                    del self._queue[i]
                    return q
        return None

    def _check_key(self, rec: RecordedRequest, dialect: str) -> web.Response | None:
        keys = self._keys
        if keys is None or rec.api_key in keys:
            return None
        d = dialects.get(dialect)
        return _json(d.unauthorized_status, d.unauthorized(rec.api_key, rec.seq))

    def _invalid(self, dialect: str, e: Invalid) -> web.Response:
        return _json(400, dialects.get(dialect).invalid(e))

    def _plain(self, rec: RecordedRequest) -> tuple[web.StreamResponse, str]:
        """Everything that is not a chat request: models, a dialect's other endpoints, 404."""
        path = rec.path
        if rec.method == "GET" and ("/models/" in path or path.endswith("/models")):
            return self._models(rec)
        handler = dialects.route_for(rec.method, path)
        if handler is not None:
            status, body = handler(rec)
            return _json(status, body), "complete" if status < 400 else "rejected"
        err = openai_chat.error_object(f"Invalid URL ({rec.method} {path})", "invalid_request_error")
        return _json(404, err), "rejected"

    def _models(self, rec: RecordedRequest) -> tuple[web.StreamResponse, str]:
        d = dialects.for_models(rec)
        assert d.model_object is not None
        assert d.model_list is not None
        assert d.model_missing is not None
        now = int(time.time())
        if rec.path.endswith("/models"):
            body = d.model_list([d.model_object(m, now) for m in self.models], self.models)
            return _json(200, body), "complete"
        model = rec.path.rsplit("/models/", 1)[1]
        if model in self.models:
            return _json(200, d.model_object(model, now)), "complete"
        return _json(404, d.model_missing(model)), "rejected"

    # --- sending ------------------------------------------------------------------------------------------

    def _render(self, rec: RecordedRequest, script: Script, inp: ChatInput | None) -> Reply:
        if script.http is not None:
            h = script.http
            headers = {"Content-Type": h.guessed_content_type(), **script.headers, **h.headers}
            return Reply(h.status, headers, body=h.body_bytes())
        fixture_steps = [s for s in script.steps if isinstance(s, Fixture)]
        if fixture_steps:
            if len(script.steps) != 1:
                raise ScriptError("a Fixture step must be the only step of its script")
            return fixtures.load(fixture_steps[0], script)
        if script.raw or inp is None:
            ops: list[Op] = []
            for s in script.steps:
                if isinstance(s, (Raw, Delay, Drop, Hang)):
                    ops.append(s)
                elif isinstance(s, Comment):
                    ops.append(CommentFrame(s.text))
                else:
                    raise ScriptError(
                        f"{type(s).__name__} in a raw script (or one answering a non-chat request / a request "
                        "the real API would reject)"
                    )
            headers = {
                "Content-Type": script.content_type or "text/event-stream; charset=utf-8",
                **script.headers,
            }
            return Reply(script.status, headers, ops=ops)
        reply = dialects.get(inp.dialect).render(script, inp, RenderContext(rec.seq, self.reasoning_field))
        if script.content_type is not None:
            reply.headers["Content-Type"] = script.content_type
        return reply

    async def _send_script(
        self, request: web.Request, rec: RecordedRequest, script: Script, inp: ChatInput | None, gen: int
    ) -> tuple[web.StreamResponse, str]:
        reply = self._render(rec, script, inp)
        if script.never_respond:
            return web.Response(status=500), await self._hang(request, gen)
        if script.headers_delay:
            gone = await self._pause(request, script.headers_delay, gen)
            if gone is not None:
                return web.Response(status=500), gone
        if reply.body is not None:
            return await self._send_body(request, reply, gen)
        resp = web.StreamResponse(status=reply.status, headers=reply.headers)
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)
            outcome = await self._send_ops(request, resp, reply, script, gen)
        except ConnectionError:
            return resp, "client_disconnected"
        return resp, outcome

    async def _send_ops(
        self, request: web.Request, resp: web.StreamResponse, reply: Reply, script: Script, gen: int
    ) -> str:
        """Execute a streamed reply's operations; the outcome."""
        assert reply.ops is not None
        written = 0
        for op in reply.ops:
            if isinstance(op, Delay):
                gone = await self._pause(request, op.seconds, gen)
                if gone is not None:
                    return gone
                continue
            if isinstance(op, Drop):
                self._drop(request, op.reset)
                return "dropped"
            if isinstance(op, Hang):
                return await self._hang(request, gen)
            if written and script.chunk_delay:
                gone = await self._pause(request, script.chunk_delay, gen)
                if gone is not None:
                    return gone
            await self._write(resp, encode_op(op, script.newline, script.space), script.write_size)
            written += 1
            if script.drop_after is not None and written >= script.drop_after:
                self._drop(request, False)
                return "dropped"
        if script.drop_after is not None and script.drop_after <= 0:
            self._drop(request, False)
            return "dropped"
        await resp.write_eof()
        return "complete"

    @staticmethod
    async def _write(resp: web.StreamResponse, data: bytes, size: int | None) -> None:
        """Write ``data``, in writes of ``size`` bytes each when given (a chunk per write)."""
        if not size:
            await resp.write(data)
            return
        for i in range(0, len(data), size):
            await resp.write(data[i : i + size])
            await asyncio.sleep(0)

    async def _send_body(
        self, request: web.Request, reply: Reply, gen: int
    ) -> tuple[web.StreamResponse, str]:
        assert reply.body is not None
        for step in reply.before:
            if isinstance(step, Delay):
                gone = await self._pause(request, step.seconds, gen)
                if gone is not None:
                    return web.Response(status=500), gone
            elif isinstance(step, Hang):
                return web.Response(status=500), await self._hang(request, gen)
            elif isinstance(step, Drop):
                resp = web.StreamResponse(status=reply.status, headers=reply.headers)
                resp.content_length = len(reply.body)
                try:
                    await resp.prepare(request)
                    await resp.write(reply.body[: len(reply.body) // 2])
                except ConnectionError:
                    return resp, "client_disconnected"
                self._drop(request, step.reset)
                return resp, "dropped"
        resp = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        return resp, "complete"

    def _drop(self, request: web.Request, reset: bool) -> None:
        transport = request.transport
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()

    async def _pause(self, request: web.Request, seconds: float, gen: int) -> str | None:
        """Wait ``seconds``; an outcome instead when the client leaves or ``clear``/``stop`` interrupts."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                return "client_disconnected"
            if self._stopping or self._generation != gen:
                self._drop(request, False)
                return "released"
            left = end - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(left, 0.02))

    async def _hang(self, request: web.Request, gen: int) -> str:
        while not self._stopping and self._generation == gen:
            transport = request.transport
            if transport is None or transport.is_closing():
                return "client_disconnected"
            await asyncio.sleep(0.02)
        self._drop(request, False)
        return "hung"


def _json(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=dumps(body).encode(), content_type="application/json")


def _answers_a_model(script: Script) -> bool:
    """A script rendered from a model answer (not a fixed reply, a fixture or raw bytes)."""
    return script.http is None and not script.raw and not any(isinstance(s, Fixture) for s in script.steps)


def _words(text: str) -> list[str]:
    return _WORDS.findall(text) or [text]


def _echo(inp: ChatInput) -> Script:
    """The built-in answer: ``echo: <last user text>`` in word-sized deltas (and reasoning when the
    request asks for it: an Anthropic ``thinking`` config, a ``reasoning_effort``, a ``*reasoner`` model)."""
    text = inp.last_user_text or "(no text)"
    steps: list[Any] = []
    if inp.wants_reasoning:
        steps.append(Reasoning(_words(f"Thinking about: {text}")))
    steps.append(Text(_words(f"echo: {text}")))
    return Script(steps)
