"""The SSE codec (src/any2api/sse.py): WHATWG event-stream parsing, fed in arbitrary pieces."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from any2api.sse import SSEDecoder, SSEEvent, aiter_events, comment, encode, iter_events


def decode(*chunks: bytes) -> list[SSEEvent]:
    d = SSEDecoder()
    out: list[SSEEvent] = []
    for c in chunks:
        out.extend(d.feed(c))
    out.extend(d.close())
    return out


def decode_split(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    points = [0, *sorted(set(cuts)), len(data)]
    return decode(*(data[a:b] for a, b in itertools.pairwise(points)))


# --- line endings and fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize("nl", [b"\n", b"\r\n", b"\r"])
def test_line_endings(nl: bytes) -> None:
    body = b"event: delta" + nl + b"data: one" + nl + b"data: two" + nl + nl + b"data: three" + nl + nl
    assert decode(body) == [SSEEvent("one\ntwo", "delta"), SSEEvent("three")]


def test_mixed_line_endings_in_one_stream() -> None:
    assert decode(b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r") == [SSEEvent("a\nb\nc"), SSEEvent("d")]


def test_multi_line_data_is_joined_with_lf() -> None:
    assert decode(b'data: {\ndata:   "k": 1\ndata: }\n\n') == [SSEEvent('{\n  "k": 1\n}')]


def test_data_without_space_and_only_one_space_stripped() -> None:
    assert decode(b"data:x\n\ndata:  two spaces\n\ndata:\n\n") == [
        SSEEvent("x"),
        SSEEvent(" two spaces"),
        SSEEvent(""),
    ]


def test_value_keeps_further_colons() -> None:
    assert decode(b'data: {"a":"b:c"}\n\n') == [SSEEvent('{"a":"b:c"}')]


def test_field_without_colon() -> None:
    # "data" alone appends an empty line; two of them make one "\n"
    assert decode(b"data\n\ndata\ndata\n\n") == [SSEEvent(""), SSEEvent("\n")]


def test_unknown_fields_and_wrong_case_are_ignored() -> None:
    assert decode(b"Data: no\nfoo: bar\nevent: e\ndata: yes\n\n") == [SSEEvent("yes", "e")]


def test_comments_are_skipped_and_do_not_split_an_event() -> None:
    body = b": keep-alive\n\n:\n\ndata: a\n: in between\ndata: b\n\n: OPENROUTER PROCESSING\n\n"
    assert decode(body) == [SSEEvent("a\nb")]


def test_only_comments_yield_nothing() -> None:
    assert decode(b": ping\n\n: ping\n\n") == []


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\r\n\r\r") == []


def test_event_type_resets_after_each_event() -> None:
    assert decode(b"event: a\ndata: 1\n\ndata: 2\n\n") == [SSEEvent("1", "a"), SSEEvent("2")]


def test_event_with_type_but_no_data_is_kept_visible() -> None:
    assert decode(b"event: ping\n\n") == [SSEEvent("", "ping")]


def test_id_persists_until_changed_and_nul_ids_are_ignored() -> None:
    body = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00x\ndata: c\n\nid\ndata: d\n\n"
    assert [(e.data, e.id) for e in decode(body)] == [("a", "1"), ("b", "1"), ("c", "1"), ("d", "")]


def test_retry_belongs_to_its_event_and_must_be_digits() -> None:
    body = b"retry: 1500\ndata: a\n\nretry: soon\ndata: b\n\nretry: -5\ndata: c\n\n"
    assert [(e.data, e.retry) for e in decode(body)] == [("a", 1500), ("b", None), ("c", None)]


def test_retry_with_non_ascii_digits_is_ignored() -> None:
    assert decode("retry: ²\ndata: a\n\nretry: ٣\ndata: b\n\n".encode()) == [SSEEvent("a"), SSEEvent("b")]


def test_utf8_split_inside_a_character() -> None:
    body = "data: héllo — 你好\n\n".encode()
    for i in range(1, len(body)):
        assert decode(body[:i], body[i:]) == [SSEEvent("héllo — 你好")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: \xff\xfe ok\n\n") == [SSEEvent("\ufffd\ufffd ok")]


# --- BOM ---------------------------------------------------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [SSEEvent("a")]


def test_bom_split_across_reads() -> None:
    assert decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [SSEEvent("a")]
    assert decode(b"\xef\xbb", b"\xbf", b"data: a\n\n") == [SSEEvent("a")]


def test_only_the_first_bom_is_stripped() -> None:
    # a second BOM makes the field name "\ufeffdata", which is not "data"
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n") == [SSEEvent("b")]


def test_no_bom_but_a_short_first_read() -> None:
    assert decode(b"d", b"ata: a\n\n") == [SSEEvent("a")]
    assert decode(b"\xef", b"data: a\n\n") == []  # not a BOM: the field name is "\ufffddata"
    assert decode(b"\xef", b"\n", b"data: a\n\n") == [SSEEvent("a")]


# --- reads split anywhere -------------------------------------------------------------------------------------------

STREAM = (
    b"\xef\xbb\xbf: hello\r\n\r\n"
    b'event: message_start\r\ndata: {"type":"message_start"}\r\n\r\n'
    b"id: 7\nretry: 30\ndata:no-space\ndata: second line\n\n"
    b'event: ping\rdata: {"type": "ping"}\r\r'
    b"data: caf\xc3\xa9\r\n: trailing comment\r\n\r\n"
    b"data: [DONE]\n\n"
)
STREAM_EVENTS = [
    SSEEvent('{"type":"message_start"}', "message_start"),
    SSEEvent("no-space\nsecond line", "", "7", 30),
    SSEEvent('{"type": "ping"}', "ping", "7"),
    SSEEvent("café", "", "7"),
    SSEEvent("[DONE]", "", "7"),
]


def test_reference_stream() -> None:
    assert decode(STREAM) == STREAM_EVENTS


def test_split_at_every_offset() -> None:
    for i in range(len(STREAM) + 1):
        assert decode(STREAM[:i], STREAM[i:]) == STREAM_EVENTS, i


def test_split_at_every_pair_of_offsets() -> None:
    n = len(STREAM)
    for i in range(n + 1):
        for j in range(i, n + 1, 3):
            assert decode(STREAM[:i], STREAM[i:j], STREAM[j:]) == STREAM_EVENTS, (i, j)


def test_one_byte_at_a_time() -> None:
    assert decode(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == STREAM_EVENTS


def test_crlf_split_between_reads_is_one_line_end() -> None:
    # "\r" then "\n" in the next read must not count as two line ends (which would end the event early)
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == [SSEEvent("a\nb")]
    assert decode(b"data: a\r\n\r", b"\n") == [SSEEvent("a")]


def test_events_are_delivered_as_soon_as_complete() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: a\n") == []
    assert d.feed(b"\n") == [SSEEvent("a")]
    assert d.feed(b"data: b\r\n\r\n") == [SSEEvent("b")]
    assert d.feed(b"data: c\r\n\r\n") == [SSEEvent("c")]


def test_cr_terminated_event_is_dispatched_without_waiting_for_more_bytes() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: x\r\r") == [SSEEvent("x")]


def test_empty_reads_are_harmless() -> None:
    assert decode(b"", b"data: a", b"", b"\n\n", b"") == [SSEEvent("a")]


# --- end of stream ----------------------------------------------------------------------------------------------


def test_close_delivers_a_last_event_without_blank_line() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: a\n\ndata: last\n") == [SSEEvent("a")]
    assert d.close() == [SSEEvent("last")]


def test_close_delivers_an_unterminated_last_line() -> None:
    assert decode(b'event: done\ndata: {"x":1}') == [SSEEvent('{"x":1}', "done")]
    assert decode(b"data: a\r") == [SSEEvent("a")]


def test_close_twice_and_on_an_empty_stream() -> None:
    d = SSEDecoder()
    assert d.close() == []
    d.feed(b"data: a")
    assert d.close() == [SSEEvent("a")]
    assert d.close() == []


def test_iter_events_and_aiter_events() -> None:
    chunks = [STREAM[:10], STREAM[10:77], STREAM[77:]]
    assert list(iter_events(chunks)) == STREAM_EVENTS

    async def gen() -> AsyncIterator[bytes]:
        for c in chunks:
            yield c

    async def collect() -> list[SSEEvent]:
        return [e async for e in aiter_events(gen())]

    assert asyncio.run(collect()) == STREAM_EVENTS


# --- encoder ------------------------------------------------------------------------------------------------------


def test_encode_shapes() -> None:
    assert encode('{"a":1}') == b'data: {"a":1}\n\n'
    assert encode(b"x", event="ping") == b"event: ping\ndata: x\n\n"
    assert encode("x", event="e", id="9") == b"event: e\nid: 9\ndata: x\n\n"
    assert encode("a\nb") == b"data: a\ndata: b\n\n"
    assert encode("") == b"data: \n\n"
    assert comment() == b":\n\n"
    assert comment("keep-alive") == b": keep-alive\n\n"
    assert decode(comment("x") + encode("y")) == [SSEEvent("y")]


@pytest.mark.parametrize("data", ["a\n", "\n", "a\n\n", "a\r\n"])
def test_encode_keeps_trailing_line_breaks(data: str) -> None:
    assert decode(encode(data)) == [SSEEvent(data.replace("\r\n", "\n"))]


# --- properties ---------------------------------------------------------------------------------------------------

LINE_FREE = st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=12)
ID_TEXT = st.text(st.characters(exclude_characters="\r\n\x00", exclude_categories=["Cs"]), max_size=6)
DATA = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
EVENTS = st.lists(st.tuples(DATA, LINE_FREE, st.none() | ID_TEXT), max_size=8)


def _expected(events: list[tuple[str, str, str | None]]) -> list[SSEEvent]:
    out: list[SSEEvent] = []
    last_id: str | None = None
    for data, name, eid in events:
        if eid is not None:
            last_id = eid
        out.append(SSEEvent(data.replace("\r\n", "\n").replace("\r", "\n"), name, last_id))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12), bom=st.booleans())
def test_encode_then_decode_in_any_split(
    events: list[tuple[str, str, str | None]], cuts: list[int], bom: bool
) -> None:
    body = (b"\xef\xbb\xbf" if bom else b"") + b"".join(
        encode(d, event=n or None, id=i) for d, n, i in events
    )
    cuts = [c % (len(body) + 1) for c in cuts]
    assert decode_split(body, cuts) == _expected(events)


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(
        st.sampled_from(
            [b"data: x", b"data:y", b"event: e", b"id: 1", b"retry: 5", b": c", b"", b"\xef\xbb\xbf", b"data"]
        ),
        max_size=12,
    ).flatmap(
        lambda parts: st.tuples(
            st.just(parts),
            st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=len(parts), max_size=len(parts)),
        )
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_split_decodes_like_the_whole(body: tuple[list[bytes], list[bytes]], cuts: list[int]) -> None:
    parts, ends = body
    data = b"".join(p + e for p, e in zip(parts, ends, strict=True))
    cuts = [c % (len(data) + 1) for c in cuts]
    assert decode_split(data, cuts) == decode(data)
