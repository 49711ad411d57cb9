"""Lenient JSON: strict input unchanged, common damage repaired, ambiguous input refused."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.toolemu.repair import loads_lenient, strip_fence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2,], "b": {"c": 1,},}', {"a": [1, 2], "b": {"c": 1}}),
        ('{"q": "say "hi" now"}', {"q": 'say "hi" now'}),
        ('{"q": "a "b", "c": 1}', {"q": 'a "b', "c": 1}),
        ('{"q": "a", "b", "c": 1}', None),  # "b" is a key without value or a quoted word: refused
        ('{"code": "line1\n\tline2"}', {"code": "line1\n\tline2"}),
        ('{"a": True, "b": False, "c": None}', {"a": True, "b": False, "c": None}),
        ('{"a": {"b": 1}', {"a": {"b": 1}}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": 1,', {"a": 1}),  # cut after a comma (a stream that ran out of tokens)
        ('{"a": [1, 2,', {"a": [1, 2]}),
        ('{"a": 1, ', {"a": 1}),
        ('{"a": ,', None),
        ("{'a': 'it', 'b': [1, None]}", {"a": "it", "b": [1, None]}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('{"a": 1]', None),
        ('{"a": ', None),
        ('{"a": "unterminated', None),
        ("plain words", None),
    ],
)
def test_repairs(text, expected):
    assert loads_lenient(text) == expected


def test_strip_fence_leaves_unfenced_text_alone():
    assert strip_fence('{"a": 1}') == '{"a": 1}'
    assert strip_fence('~~~\n{"a": 1}\n~~~') == '{"a": 1}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_valid_json_is_never_changed(value):
    text = orjson.dumps(value).decode()
    assert loads_lenient(text) == value
    # and the repair pass keeps it as it is, too
    from any2api.toolemu.repair import repair

    assert orjson.loads(repair(text)) == value


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text):
    loads_lenient(text)


@pytest.mark.parametrize(("text", "value"), [("{,", {}), ('{"a": 1, \n', {"a": 1}), ("[1, ", [1])])
def test_trailing_comma_before_a_missing_end_is_dropped(text, value):
    # found by the property above: "{," once raised IndexError instead of closing the object
    assert loads_lenient(text) == value
