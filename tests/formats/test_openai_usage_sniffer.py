"""The pass-through usage sniffer: bytes forwarded unchanged (or minus the usage-only event), usage found,
whatever the read boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.formats.openai_chat import OpenAIUsageSniffer
from tests.sim.fold import openai_chunks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STREAMS = ["openai/chat-stream-tool-call-include-usage.sse", "openai/chat-stream-refusal-include-usage.sse"]


def _events(body: bytes) -> list[bytes]:
    return [e for e in body.replace(b"\r\n", b"\n").split(b"\n\n") if e.strip()]


def _usage_of(body: bytes) -> dict:
    return [c["usage"] for c in openai_chunks(body) if c.get("usage")][-1]


def _run(body: bytes, cuts: list[int], strip: bool) -> tuple[bytes, OpenAIUsageSniffer]:
    s = OpenAIUsageSniffer(stream=True, strip=strip)
    out = b""
    prev = 0
    for c in [*sorted(set(cuts)), len(body)]:
        out += s.feed(body[prev:c])
        prev = c
    return out + s.flush(), s


@pytest.mark.parametrize("name", STREAMS)
@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=12))
def test_any_split_keeps_bytes_and_finds_usage(name: str, cuts: list[int]) -> None:
    body = (FIXTURES / name).read_bytes()
    cuts = [c % (len(body) + 1) for c in cuts]
    expected = _usage_of(body)
    out, s = _run(body, cuts, strip=False)
    assert out == body
    u = s.usage()
    assert u is not None
    assert (u.input_tokens, u.output_tokens) == (
        expected["prompt_tokens"],
        expected["completion_tokens"],
    )
    out, s = _run(body, cuts, strip=True)
    kept = _events(out)
    assert [e for e in _events(body) if b'"choices":[]' not in e or b'"usage"' not in e] == kept
    assert len(kept) == len(_events(body)) - 1  # exactly the usage-only event is gone
    assert s.usage() is not None


def test_usage_null_lines_are_not_decoded_as_usage() -> None:
    body = b'data: {"choices":[{"delta":{"content":"a"}}],"usage":null}\n\ndata: [DONE]\n\n'
    out, s = _run(body, [7, 30], strip=True)
    assert out == body
    assert s.usage() is None


def test_non_stream_usage() -> None:
    s = OpenAIUsageSniffer(stream=False)
    body = b'{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":1}}}'
    assert s.feed(body) == body
    u = s.usage()
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (3, 4, 1)
