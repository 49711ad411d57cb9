"""Response framings (providers/framing.py): frames come out the same however the body is split."""

from __future__ import annotations

import itertools
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.providers.framing import (
    BodyDecoder,
    JSONArrayDecoder,
    NDJSONDecoder,
    TextDecoder,
    frame_decoder,
    framing_for_content_type,
)
from any2api.sse import SSEDecoder
from tests.sim.fixtures import FIXTURES_DIR


def _decode(dec: object, chunks: list[bytes]) -> list[str]:
    out = []
    for c in chunks:
        out += [f.data for f in dec.feed(c)]  # type: ignore[attr-defined]
    out += [f.data for f in dec.close()]  # type: ignore[attr-defined]
    return out


def _every_split(body: bytes) -> list[list[bytes]]:
    return [[body[:i], body[i:]] for i in range(len(body) + 1)]


GEMINI_ARRAY = (
    FIXTURES_DIR / "google" / "streamGenerateContent-json-array-thought-then-text.json"
).read_bytes()


def test_json_array_gemini_recording_element_by_element() -> None:
    expected = json.loads(GEMINI_ARRAY)
    assert len(expected) > 1
    for chunks in [[GEMINI_ARRAY], *_every_split(GEMINI_ARRAY)[::7]]:
        frames = _decode(JSONArrayDecoder(), chunks)
        assert [orjson.loads(f) for f in frames] == expected


def test_json_array_delivers_each_element_as_soon_as_it_is_complete() -> None:
    dec = JSONArrayDecoder()
    assert dec.feed(b'[{"a": "x]}\\"{') == []  # brackets inside a string (and an escaped quote) are text
    assert [f.data for f in dec.feed(b'"}')] == ['{"a": "x]}\\"{"}']
    assert [f.data for f in dec.feed(b',\r\n{"b": [1, {"c": 2}]}')] == ['{"b": [1, {"c": 2}]}']
    assert dec.feed(b"\n,") == []
    assert not dec.done
    assert [f.data for f in dec.feed(b'{"d": 3}]')] == ['{"d": 3}']
    assert dec.done
    assert dec.feed(b'{"never": 1}') == []


def test_json_array_a_single_object_body_is_one_frame() -> None:
    body = b'{"error": {"code": 429, "message": "Resource exhausted"}}'
    for chunks in _every_split(body):
        assert _decode(JSONArrayDecoder(), chunks) == [body.decode()]


def test_json_array_unterminated_string_waits_for_more() -> None:
    dec = JSONArrayDecoder()
    assert dec.feed(b'[{"t": "a\\') == []
    assert dec.feed(b'"b') == []
    assert [f.data for f in dec.feed(b'c"}]')] == ['{"t": "a\\"bc"}']


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=8), st.integers(), st.lists(st.text(max_size=3))),
                        max_size=3),
        max_size=4,
    ),
    st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)  # fmt: skip
def test_json_array_any_split_any_content(items: list[dict[str, object]], cuts: list[int]) -> None:
    body = json.dumps(items, indent=1).encode()
    points = [0, *sorted({c % (len(body) + 1) for c in cuts}), len(body)]
    chunks = [body[a:b] for a, b in itertools.pairwise(points)]
    assert [json.loads(f) for f in _decode(JSONArrayDecoder(), chunks)] == items


def test_ndjson_lines_in_any_split() -> None:
    body = b'{"a": 1}\n\n  {"b": 2}  \r\n{"c": 3}'
    for chunks in _every_split(body):
        assert _decode(NDJSONDecoder(), chunks) == ['{"a": 1}', '{"b": 2}', '{"c": 3}']


def test_body_and_text() -> None:
    assert _decode(BodyDecoder(), [b'{"a":', b" 1}"]) == ['{"a": 1}']
    text = "héllo ✓".encode()
    assert "".join(_decode(TextDecoder(), [text[i : i + 1] for i in range(len(text))])) == "héllo ✓"


@pytest.mark.parametrize(
    ("framing", "cls"),
    [("sse", SSEDecoder), ("ndjson", NDJSONDecoder), ("json-array", JSONArrayDecoder), ("json", BodyDecoder),
     ("text", TextDecoder)],
)  # fmt: skip
def test_frame_decoder_by_name(framing: str, cls: type) -> None:
    assert isinstance(frame_decoder(framing), cls)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ct", "framing"),
    [("text/event-stream; charset=utf-8", "sse"), ("application/x-ndjson", "ndjson"), ("application/json", "json"),
     ("application/problem+json", "json"), ("text/plain", "text"), ("", "text")],
)  # fmt: skip
def test_framing_by_content_type(ct: str, framing: str) -> None:
    assert framing_for_content_type(ct) == framing
