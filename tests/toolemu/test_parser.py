"""The streaming tool-call parser on concrete model outputs."""

from __future__ import annotations

import orjson

from any2api.toolemu import ToolCallParser
from any2api.toolemu.parser import ParsedCall, TextChunk

from .helpers import BOX, calls, parse, restore, shape


def test_plain_text_passes_through_unchanged():
    text = "Hello! 2 < 3 and {braces} mid-line, `code`, ~tilde~.\nSecond line."
    events, p = parse(text)
    assert shape(events) == [("text", text)]
    assert p.calls == 0


def test_single_call_is_recognised_and_markup_never_shows():
    out = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    events, _ = parse(out)
    assert shape(events) == [("text", "Let me check.\n"), ("call", "get_weather", '{"city":"Paris"}')]
    assert restore(events) == out


def test_parallel_calls_in_order_with_text_around():
    out = (
        "Two lookups:\n"
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
        '<tool_call>{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}</tool_call>\n'
        "Done."
    )
    events, p = parse(out)
    assert shape(events) == [
        ("text", "Two lookups:\n"),
        ("call", "get_weather", '{"city":"Paris"}'),
        ("text", "\n"),
        ("call", "get_time", '{"tz":"Europe/Paris"}'),
        ("text", "\nDone."),
    ]
    assert p.calls == 2


def test_text_before_a_call_streams_before_the_call_is_complete():
    p = ToolCallParser(BOX)
    first = p.feed('Checking the weather now <tool_call>{"name": "get_wea')
    assert [e.text for e in first if isinstance(e, TextChunk)] == ["Checking the weather now "]
    assert not [e for e in first if isinstance(e, ParsedCall)]
    second = p.feed('ther", "arguments": {"city": "Oslo"}}</tool_call>')
    assert [(e.name, e.arguments) for e in second if isinstance(e, ParsedCall)] == [
        ("get_weather", '{"city":"Oslo"}')
    ]
    assert p.close() == []


def test_partial_tag_at_chunk_end_is_held_not_leaked():
    p = ToolCallParser(BOX)
    assert [e.text for e in p.feed("abc <tool") if isinstance(e, TextChunk)] == ["abc "]
    rest = p.feed('_call>{"name":"get_time","arguments":{}}</tool_call>') + p.close()
    assert shape(rest) == [("call", "get_time", "{}")]


def test_a_held_prefix_that_is_not_a_tag_is_released():
    events, _ = parse(["a <too", "th> b"])
    assert shape(events) == [("text", "a <tooth> b")]


def test_look_alikes_inside_code_fences_are_text():
    fenced = '```json\n<tool_call>{"name": "get_weather", "arguments": {"city": "X"}}</tool_call>\n```\n'
    tilde = '~~~\n{"name": "get_weather", "arguments": {"city": "Y"}}\n~~~\n'
    events, p = parse(fenced + tilde + "That is the format.")
    assert shape(events) == [("text", fenced + tilde + "That is the format.")]
    assert p.calls == 0
    assert p.rejections == []


def test_a_call_after_a_closed_fence_is_recognised():
    out = '```\n<tool_call>{"name":"get_time","arguments":{}}</tool_call>\n```\n<tool_call>{"name":"get_time","arguments":{"tz":"UTC"}}</tool_call>'
    events, _ = parse(out)
    assert calls(events)[0].arguments == '{"tz":"UTC"}'
    assert len(calls(events)) == 1


def test_longer_fence_is_not_closed_by_a_shorter_one():
    out = '````\n```\n<tool_call>{"name":"get_time","arguments":{}}</tool_call>\n```\n````\n'
    events, _ = parse(out)
    assert shape(events) == [("text", out)]


def test_inline_code_mentions_are_text():
    out = 'Write `<tool_call>{"name": "get_time", "arguments": {}}</tool_call>` to call a tool.'
    events, _ = parse(out)
    assert shape(events) == [("text", out)]


def test_prose_mentioning_the_tag_is_text_and_a_later_call_still_works():
    out = 'I use <tool_call> blocks. <tool_call>{"name":"get_time","arguments":{}}</tool_call>'
    events, p = parse(out)
    assert shape(events) == [("text", "I use <tool_call> blocks. "), ("call", "get_time", "{}")]
    assert p.rejections == []


def test_tags_are_case_insensitive_and_raw_keeps_the_original():
    out = '<TOOL_CALL>{"name":"get_time","arguments":{}}</Tool_Call>'
    events, _ = parse(out)
    assert shape(events) == [("call", "get_time", "{}")]
    assert restore(events) == out


# -- repairs ---------------------------------------------------------------------------------------------


def test_repair_trailing_commas():
    events, _ = parse(
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome", "tags": ["a", "b",],},}</tool_call>'
    )
    assert shape(events) == [("call", "get_weather", '{"city":"Rome","tags":["a","b"]}')]


def test_repair_unescaped_inner_quotes():
    events, _ = parse(
        '<tool_call>{"name": "get_weather", "arguments": {"city": "the "big" apple"}}</tool_call>'
    )
    assert orjson.loads(calls(events)[0].arguments) == {"city": 'the "big" apple'}


def test_repair_raw_newlines_inside_strings():
    events, _ = parse('<tool_call>{"name": "get_weather", "arguments": {"city": "line1\nline2"}}</tool_call>')
    assert orjson.loads(calls(events)[0].arguments) == {"city": "line1\nline2"}


def test_repair_missing_closing_tag_at_end():
    events, _ = parse('Sure <tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}\n')
    assert shape(events) == [("text", "Sure "), ("call", "get_time", '{"tz":"UTC"}')]


def test_output_cut_after_a_comma_inside_a_call_is_repaired_not_a_crash():
    """A stream that ran out of tokens right after a comma (max_tokens) used to raise IndexError."""
    events, _ = parse(['Sure <tool_call>{"name": "get_time", "arguments": {"tz": "UTC",', ""])
    assert shape(events) == [("text", "Sure "), ("call", "get_time", '{"tz":"UTC"}')]


def test_repair_missing_closing_tag_before_the_next_call():
    out = '<tool_call>{"name":"get_time","arguments":{"tz":"A"}}\n<tool_call>{"name":"get_time","arguments":{"tz":"B"}}</tool_call>'
    events, _ = parse(out)
    assert [c.arguments for c in calls(events)] == ['{"tz":"A"}', '{"tz":"B"}']
    assert restore(events) == out


def test_repair_missing_wrapper_bare_object_on_its_own_line():
    out = 'Calling:\n{"name": "get_weather", "arguments": {"city": "Lima"}}\n'
    events, _ = parse(out)
    assert shape(events) == [
        ("text", "Calling:\n"),
        ("call", "get_weather", '{"city":"Lima"}'),
        ("text", "\n"),
    ]


def test_repair_missing_final_brace_and_python_literals():
    events, _ = parse(
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Kyiv", "metric": True}</tool_call>'
    )
    assert shape(events) == [("call", "get_weather", '{"city":"Kyiv","metric":true}')]


def test_repair_code_fence_inside_the_tags():
    events, _ = parse('<tool_call>\n```json\n{"name": "get_time", "arguments": {}}\n```\n</tool_call>')
    assert shape(events) == [("call", "get_time", "{}")]


def test_function_style_object_with_string_arguments():
    body = orjson.dumps({"function": {"name": "get_weather", "arguments": '{"city": "Bern"}'}}).decode()
    events, _ = parse(f"<tool_call>{body}</tool_call>")
    assert shape(events) == [("call", "get_weather", '{"city":"Bern"}')]


# -- rejection ----------------------------------------------------------------------------------------


def test_undeclared_tool_is_rejected_and_released_as_text():
    out = '<tool_call>{"name": "rm_rf", "arguments": {"path": "/"}}</tool_call>'
    events, p = parse(out)
    assert shape(events) == [("text", out)]
    assert len(p.rejections) == 1
    assert "undeclared tool 'rm_rf'" in p.rejections[0]


def test_unrepairable_json_is_released_as_text():
    out = '<tool_call>{"name": "get_time", "arguments": {"tz": "UTC"]]]}</tool_call> after'
    events, p = parse(out)
    assert shape(events) == [("text", out)]
    assert p.rejections
    assert "not valid JSON" in p.rejections[0]


def test_object_with_unexpected_keys_is_not_a_call():
    out = '<tool_call>{"name": "get_time", "arguments": {}, "comment": "hi"}</tool_call>'
    events, p = parse(out)
    assert shape(events) == [("text", out)]
    assert "unexpected keys" in p.rejections[0]


def test_ordinary_json_lines_stay_text_and_are_released_early():
    p = ToolCallParser(BOX)
    first = p.feed('{"user": "ann", "items": [1, 2')
    # the first key shows this is not a call: no need to wait for the end of the object
    assert "".join(e.text for e in first if isinstance(e, TextChunk)) == '{"user": "ann", "items": [1, 2'
    events, _ = parse('{"name": "Ann", "age": 3}\n{}\n{ not json\n')
    assert shape(events) == [("text", '{"name": "Ann", "age": 3}\n{}\n{ not json\n')]


def test_bare_detection_can_be_turned_off():
    out = '{"name": "get_time", "arguments": {}}'
    events, _ = parse(out, bare_json=False)
    assert shape(events) == [("text", out)]


def test_overlong_call_block_is_released_as_text():
    out = '<tool_call>{"name": "get_time", "arguments": {"tz": "' + "x" * 500 + '"}}</tool_call>'
    events, p = parse(out, max_call_chars=100)
    assert calls(events) == []
    assert restore(events) == out
    assert "call block too long" in p.rejections


# -- coercion by schema -----------------------------------------------------------------------------


def test_arguments_are_coerced_to_the_schema_types():
    out = '<tool_call>{"name": "get_weather", "arguments": {"city": 10115, "days": "3", "metric": "false", "tags": "warm"}}</tool_call>'
    events, _ = parse(out)
    assert orjson.loads(calls(events)[0].arguments) == {
        "city": "10115",
        "days": 3,
        "metric": False,
        "tags": ["warm"],
    }
