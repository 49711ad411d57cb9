"""Argument coercion by JSON schema."""

from __future__ import annotations

import pytest

from any2api.toolemu.coerce import coerce

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "flag": {"type": "boolean"},
        "s": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "integer"}},
        "obj": {"type": "object", "properties": {"k": {"type": "integer"}}},
        "maybe": {"type": ["integer", "null"]},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "ref": {"$ref": "#/$defs/Point"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
    },
    "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"n": "42"}, {"n": 42}),
        ({"n": "4.0"}, {"n": 4}),
        ({"n": 4.0}, {"n": 4}),
        ({"n": "4.5"}, {"n": "4.5"}),  # not an integer: left for the tool to refuse
        ({"x": "2.5"}, {"x": 2.5}),
        ({"x": "1e3"}, {"x": 1000.0}),
        ({"flag": "true"}, {"flag": True}),
        ({"flag": "No"}, {"flag": False}),
        ({"flag": 1}, {"flag": True}),
        ({"flag": "maybe"}, {"flag": "maybe"}),
        ({"s": 12}, {"s": "12"}),
        ({"s": True}, {"s": "true"}),
        ({"s": {"a": 1}}, {"s": '{"a":1}'}),
        ({"tags": "[1, 2]"}, {"tags": [1, 2]}),
        ({"tags": ["1", 2]}, {"tags": [1, 2]}),
        ({"tags": "7"}, {"tags": [7]}),
        ({"obj": '{"k": "5"}'}, {"obj": {"k": 5}}),
        ({"maybe": "null"}, {"maybe": None}),
        ({"maybe": "3"}, {"maybe": 3}),
        ({"unit": "Celsius"}, {"unit": "celsius"}),
        ({"ref": {"x": "9"}}, {"ref": {"x": 9}}),
        ({"either": "5"}, {"either": 5}),
        ({"either": ["a"]}, {"either": ["a"]}),
        ({"other": "1"}, {"other": "1"}),
    ],
)
def test_coerce(args, expected):
    assert coerce(args, SCHEMA) == expected


def test_bool_is_not_taken_for_an_integer():
    assert coerce({"n": True}, SCHEMA) == {"n": True}


def test_self_referencing_schema_terminates():
    schema = {"$ref": "#"}
    assert coerce({"a": 1}, schema) == {"a": 1}
