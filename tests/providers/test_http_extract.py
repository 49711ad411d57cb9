"""Body framing and per-event rules of the http provider, fed bytes split anywhere."""

from __future__ import annotations

import pytest

from any2api.core.errors import GatewayError
from any2api.providers.httpapi.extract import BodyReader, DoneWhen, Piece, ResponseRules, Rule
from any2api.providers.httpapi.paths import compile_path as P


def read(rules: ResponseRules, body: bytes, content_type: str = "", step: int = 3) -> list[Piece]:
    r = BodyReader(rules, content_type)
    out: list[Piece] = []
    for i in range(0, len(body), step):
        out += r.feed(body[i : i + step])
        if r.done:
            break
    out += r.close()
    return out


def test_json_body():
    rules = ResponseRules("json", Rule(text=(P("a.text"),), finish=(P("a.end"),), id=(P("id"),)))
    (p,) = read(rules, b'{"id": 7, "a": {"text": "hi", "end": "stop"}}')
    assert (p.text, p.finish, p.id) == ("hi", "stop", "7")


def test_json_body_that_is_not_json():
    with pytest.raises(GatewayError) as e:
        read(ResponseRules("json", Rule(text=(P("t"),))), b"<html>rate limited</html>")
    assert e.value.code == "upstream_bad_response"
    assert "<html>" in e.value.message


def test_sse_done_marker_stops_reading():
    rules = ResponseRules("sse", Rule(text=(P("t"),)))
    pieces = read(rules, b'data: {"t": "a"}\n\ndata: [DONE]\n\ndata: {"t": "never"}\n\n')
    assert [p.text for p in pieces if p.text] == ["a"]
    assert pieces[-1].done


def test_sse_rules_by_event_and_done_condition():
    rules = ResponseRules(
        "sse",
        Rule(),
        events={
            "delta": Rule(text=(P("c"),)),
            "think": Rule(data_text=True, reasoning=((),)),
            "ping": Rule(skip=True),
        },
        done_when=(DoneWhen(path=P("type"), equals="end", has_equals=True),),
    )
    body = (
        b"event: think\ndata: line1\ndata: line2\n\n"
        b"event: ping\ndata: not json at all\n\n"
        b': comment\n\nevent: delta\ndata: {"c": "x"}\n\n'
        b'data: {"type": "end"}\n\ndata: {"c": "after"}\n\n'
    )
    pieces = read(rules, body, step=1)
    assert [(p.reasoning, p.text) for p in pieces if p.reasoning or p.text] == [
        ("line1\nline2", None),
        (None, "x"),
    ]
    assert pieces[-1].done


def test_content_as_a_list_of_parts():
    rules = ResponseRules("json", Rule(text=(P("content"),)))
    (p,) = read(rules, b'{"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}')
    assert p.text == "ab"


def test_ndjson_with_partial_lines_and_usage():
    rules = ResponseRules(
        "ndjson",
        Rule(text=(P("m"),), usage={"input_tokens": (P("u.i"),), "output_tokens": (P("u.o"),)}),
        done_when=(DoneWhen(path=P("done")),),
    )
    body = b'{"m": "a"}\n\n{"m": "b"}\n{"m": "", "done": true, "u": {"i": "3", "o": 4}}\n{"m": "late"}\n'
    pieces = read(rules, body, step=5)
    assert "".join(p.text or "" for p in pieces) == "ab"
    last = pieces[-1]
    assert last.done
    assert last.usage is not None
    assert (last.usage.input_tokens, last.usage.output_tokens) == (3, 4)


def test_invalid_event_is_an_error_or_ignored():
    body = b'data: {"t": "a"}\n\ndata: oops\n\n'
    with pytest.raises(GatewayError):
        read(ResponseRules("sse", Rule(text=(P("t"),))), body)
    pieces = read(ResponseRules("sse", Rule(text=(P("t"),)), ignore_invalid=True), body)
    assert [p.text for p in pieces] == ["a"]


def test_error_path_keeps_the_raw_event():
    rules = ResponseRules("sse", Rule(text=(P("t"),), error=(P("error"),)))
    (p,) = read(rules, b'data: {"error": {"message": "quota gone", "code": 9}}\n\n')
    assert p.error == "quota gone"
    assert b"quota gone" in p.error_body


def test_text_framing_decodes_utf8_across_splits():
    text = "héllo wörld ✓"
    pieces = read(ResponseRules("text"), text.encode(), step=1)
    assert "".join(p.text or "" for p in pieces) == text


@pytest.mark.parametrize(
    ("ct", "fmt"),
    [("text/event-stream; charset=utf-8", "sse"), ("application/x-ndjson", "ndjson"), ("application/json", "json"),
     ("application/problem+json", "json"), ("text/plain", "text"), ("", "text")],
)  # fmt: skip
def test_auto_format_by_content_type(ct, fmt):
    assert BodyReader(ResponseRules("auto"), ct).format == fmt
