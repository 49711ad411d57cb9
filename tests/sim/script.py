"""What the simulator answers: a :class:`Script` of dialect-neutral steps.

A script lists output steps in order (``Text``, ``Reasoning``, ``ToolCall`` ...) and transport steps that
act at that point of the stream (``Delay``, ``Comment``, ``Drop``, ``Hang`` ...). The simulator renders
it in the wire format of the endpoint that was called (OpenAI Chat Completions or Anthropic Messages),
streamed or not as the request asked. Alternatively a script is a fixed HTTP reply (``Script.fail`` /
``Script.reply``), a replay of a recorded fixture (``Script.replay``), or raw bytes (``Script.raw``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Chunks: TypeAlias = str | Sequence[str]
"""One delta (a string) or the exact list of deltas."""


class ScriptError(ValueError):
    """A script that cannot be rendered for the request it met (a bug in the test, not the gateway)."""


def split_text(text: str, size: int | None) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (one piece when ``size`` is None)."""
    if size is None or size <= 0 or len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chunks(value: Chunks, split: int | None) -> list[str]:
    if isinstance(value, str):
        return split_text(value, split)
    out = list(value)
    if not all(isinstance(c, str) for c in out):
        raise ScriptError(f"chunks must be strings, got {out!r}")
    return out


# ---------------------------------------------------------------------------------------------------------
# Output steps


@dataclass
class Text:
    """Answer text. ``Text("Hello world", split=3)`` sends 3-character deltas; a list is sent as given.

    In Anthropic each ``Text`` step is one content block; in OpenAI all text goes to ``content``."""

    chunks: Chunks
    split: int | None = None

    @property
    def deltas(self) -> list[str]:
        return _chunks(self.chunks, self.split)

    @property
    def text(self) -> str:
        return "".join(self.deltas)


@dataclass
class Reasoning:
    """Reasoning / thinking text.

    OpenAI dialect: ``reasoning_content`` deltas (field name from ``Script.reasoning_field``); the
    signature cannot be expressed there and is not sent. Anthropic: a ``thinking`` block whose
    ``signature_delta`` carries ``signature`` -- a deterministic one is made up when ``signature`` is
    None; ``signature=""`` sends no signature delta."""

    chunks: Chunks
    split: int | None = None
    signature: str | None = None

    @property
    def deltas(self) -> list[str]:
        return _chunks(self.chunks, self.split)

    @property
    def text(self) -> str:
        return "".join(self.deltas)


@dataclass
class RedactedReasoning:
    """Anthropic ``redacted_thinking`` block (encrypted ``data``). Not expressible in OpenAI."""

    data: str


@dataclass
class Refusal:
    """OpenAI ``refusal`` deltas (``message.refusal`` when not streamed). Not expressible in Anthropic."""

    chunks: Chunks
    split: int | None = None

    @property
    def deltas(self) -> list[str]:
        return _chunks(self.chunks, self.split)


@dataclass
class ToolCall:
    """A tool call with its complete ``arguments`` JSON text.

    Streamed the way the providers do: OpenAI's first delta carries index, id, type, function.name and
    ``arguments: ""`` (or all of the arguments when ``args_in_first``), later deltas carry the index and
    fragments; Anthropic opens a ``tool_use`` block and sends ``input_json_delta`` fragments, the first
    one empty. ``split`` is the fragment size, or give ``fragments`` explicitly (they must join to
    ``arguments``). ``id`` defaults to a deterministic ``call_...`` / ``toolu_...``."""

    name: str
    arguments: str = "{}"
    id: str | None = None
    split: int | None = 8
    fragments: Sequence[str] | None = None
    args_in_first: bool = False

    def argument_fragments(self) -> list[str]:
        if self.fragments is not None:
            frags = list(self.fragments)
            if "".join(frags) != self.arguments:
                raise ScriptError(f"ToolCall {self.name!r}: fragments do not join to arguments")
            return frags
        if not self.arguments:
            return []
        return split_text(self.arguments, self.split)


@dataclass
class Parallel:
    """Tool calls made in parallel. With ``interleave`` their deltas are sent round-robin (every call
    starts, then fragment 1 of each, fragment 2 of each ...). Real Anthropic never interleaves blocks;
    the simulator does it anyway when asked (open blocks at distinct indices)."""

    calls: Sequence[ToolCall]
    interleave: bool = True


# ---------------------------------------------------------------------------------------------------------
# Transport steps (act at their place in the stream)


@dataclass
class Delay:
    """Pause before the next write. In a non-streamed answer the delays add up before the response."""

    seconds: float


@dataclass
class Comment:
    """An SSE comment line (``: text``) -- a keep-alive."""

    text: str = ""


@dataclass
class Ping:
    """An Anthropic ``ping`` event (nothing in OpenAI)."""


@dataclass
class Raw:
    """Bytes written as they are, at this point of the stream."""

    data: bytes


@dataclass
class StreamError:
    """An error reported inside a stream that already answered 200, then the stream ends.

    Anthropic: ``event: error`` with ``{"type":"error","error":{"type":...,"message":...}}``.
    OpenAI: ``data: {"error":{"message":...,"type":...,"param":null,"code":...}}`` (no ``[DONE]``)."""

    message: str = "Overloaded"
    type: str = "overloaded_error"
    code: str | None = None


@dataclass
class Drop:
    """Abruptly close the connection here: no terminal event, no end of the chunked body.

    ``reset=True`` sends a TCP RST instead of a FIN. Non-streamed: headers and half the body are sent."""

    reset: bool = False


@dataclass
class Hang:
    """Send nothing more, ever (until the client goes away). Non-streamed: no response at all."""


@dataclass
class Fixture:
    """Serve a recorded file of shared/fixtures as the body (see :mod:`tests.sim.fixtures`).

    ``path`` is relative to the fixtures directory (or absolute). ``status`` overrides the status taken
    from the file (errors: the ``error-NNN`` in the name or the error type)."""

    path: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


Step: TypeAlias = (
    Text
    | Reasoning
    | RedactedReasoning
    | Refusal
    | ToolCall
    | Parallel
    | Delay
    | Comment
    | Ping
    | Raw
    | StreamError
    | Drop
    | Hang
    | Fixture
)

CONTENT_STEPS = (Text, Reasoning, RedactedReasoning, Refusal, ToolCall, Parallel)


# ---------------------------------------------------------------------------------------------------------


@dataclass
class Usage:
    """Usage numbers, written to the wire as given (no dialect arithmetic). None: computed.

    OpenAI: prompt_tokens / completion_tokens / prompt_tokens_details.cached_tokens /
    completion_tokens_details.reasoning_tokens. Anthropic: input_tokens / output_tokens /
    cache_read_input_tokens / cache_creation_input_tokens."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass
class HttpReply:
    """A fixed HTTP response. ``body``: bytes/str sent as is, dict/list as JSON."""

    status: int
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def body_bytes(self) -> bytes:
        import json

        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body

    def guessed_content_type(self) -> str:
        if self.content_type is not None:
            return self.content_type
        if isinstance(self.body, (dict, list)):
            return "application/json"
        head = self.body_bytes().lstrip()[:1]
        if head == b"<":
            return "text/html; charset=utf-8"
        if head in (b"{", b"["):
            return "application/json"
        return "text/plain; charset=utf-8"


UsageMode = Literal["auto", "always", "with_finish", "none"]
Newline = Literal["\n", "\r\n", "\r"]


@dataclass
class Script:
    """One scripted answer. See the module docstring.

    Streaming options: ``newline`` (``"\\r\\n"`` for CRLF, ``"\\r"``), ``space=False`` for ``data:x`` lines
    with no space, ``chunk_delay`` seconds between writes, ``write_size`` to cut every write into pieces
    of that many bytes, ``drop_after`` to close the connection abruptly after that many SSE events
    (comments count), ``pad`` for Anthropic's trailing-space padding inside ``data:`` JSON, ``ping`` for
    Anthropic's ping after the first block start.

    Timing: ``headers_delay`` before the status line; ``never_respond`` to accept and never answer.

    OpenAI: ``usage_mode`` -- ``auto`` sends a ``choices: []`` usage chunk when the request asked for
    ``stream_options.include_usage``; ``always`` sends it regardless; ``with_finish`` puts usage into the
    finish chunk (DeepSeek/xAI style); ``none`` sends no usage. ``reasoning_field`` names the reasoning
    delta field (``reasoning_content``, ``reasoning``). ``finish`` is either dialect's vocabulary
    (``stop``/``end_turn``, ``length``/``max_tokens``, ``tool_calls``/``tool_use``,
    ``content_filter``/``refusal``, ``stop_sequence`` with ``stop_sequence="..."``); it is translated to
    the called dialect, and any other value is sent verbatim. None: ``tool_calls`` when the answer has
    tool calls, else ``stop``.
    """

    steps: Sequence[Step] = ()
    finish: str | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None
    usage_extra: Mapping[str, Any] = field(default_factory=dict)
    """Extra keys merged into the usage object (e.g. DeepSeek's ``prompt_cache_hit_tokens``)."""
    model: str | None = None
    """The model reported back; default: the requested one."""
    id: str | None = None
    created: int | None = None
    reasoning_field: str | None = None
    """Default: the server's (``reasoning_content``)."""
    usage_mode: UsageMode = "auto"
    system_fingerprint: str | None = "fp_sim"

    http: HttpReply | None = None
    """A fixed reply instead of a model answer."""
    raw: bool = False
    """Steps are ``Raw``/transport steps only; the body is exactly the raw bytes (any protocol)."""
    content_type: str | None = None
    """Content type of a streamed (or raw) body; default ``text/event-stream; charset=utf-8``."""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra response headers."""

    newline: Newline = "\n"
    space: bool = True
    chunk_delay: float = 0.0
    write_size: int | None = None
    drop_after: int | None = None
    pad: bool = True
    ping: bool = True

    headers_delay: float = 0.0
    never_respond: bool = False

    name: str | None = None
    """Set by ``SimServer.register``; recorded with each request it answered."""

    # --- constructors -----------------------------------------------------------------------------------

    @classmethod
    def text(cls, text: str, split: int | None = None, **kw: Any) -> Script:
        return cls([Text(text, split)], **kw)

    @classmethod
    def fail(
        cls,
        status: int,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        **kw: Any,
    ) -> Script:
        """Answer with this status and body (any status; also used for odd 200 bodies)."""
        return cls(http=HttpReply(status, body, dict(headers or {}), content_type), **kw)

    reply = fail

    @classmethod
    def replay(cls, path: str, status: int | None = None, **kw: Any) -> Script:
        """Serve a recorded fixture (relative to shared/fixtures)."""
        return cls([Fixture(path, status)], **kw)

    @classmethod
    def raw_body(
        cls, *chunks: bytes | Delay | Drop | Hang, content_type: str | None = None, **kw: Any
    ) -> Script:
        """A streamed body made of these exact byte chunks (and transport steps)."""
        steps: list[Step] = [Raw(c) if isinstance(c, bytes) else c for c in chunks]
        return cls(steps, raw=True, content_type=content_type, **kw)


def openai_error(
    status: int,
    message: str,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Script:
    """An error exactly as OpenAI sends it: ``{"error":{"message","type","param","code"}}``."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Script.fail(status, body, headers)


def anthropic_error(
    status: int,
    type: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    request_id: str = "req_sim_error",
) -> Script:
    """An error exactly as Anthropic sends it, e.g. ``anthropic_error(529, "overloaded_error", "Overloaded")``."""
    body = {"type": "error", "error": {"type": type, "message": message}, "request_id": request_id}
    h = {"request-id": request_id, **(headers or {})}
    return Script.fail(status, body, h)


def html_error(
    status: int = 502, title: str = "502 Bad Gateway", headers: Mapping[str, str] | None = None
) -> Script:
    """An HTML error page as a proxy in front of an API sends it."""
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Script.fail(status, page, headers, content_type="text/html")
