"""Property tests of the streaming parser: splits never change the result, nothing crashes or vanishes."""

from __future__ import annotations

import itertools

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import parse, restore, shape

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text that is certainly plain: no markup, backticks, tildes or braces that could start anything
plain = st.text(
    alphabet=st.characters(blacklist_characters="<`~{", blacklist_categories=("Cs",)), max_size=40
)
json_scalar = st.one_of(
    st.integers(-(10**6), 10**6), st.booleans(), st.none(), st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)  # fmt: skip
arguments = st.dictionaries(st.text(min_size=1, max_size=8), json_scalar, max_size=4)
tool_name = st.sampled_from(["get_weather", "get_time"])


@st.composite
def call_block(draw: st.DrawFn) -> tuple[str, str, dict]:
    name = draw(tool_name)
    args = draw(arguments)
    if name == "get_weather":  # keep the schema out of it: only keys the schema does not declare
        args = {f"x_{k}": v for k, v in args.items()}
    sep = draw(st.sampled_from(["", "\n", " "]))
    body = orjson.dumps({"name": name, "arguments": args}).decode()
    return f"<tool_call>{sep}{body}{sep}</tool_call>", name, args


@st.composite
def valid_output(draw: st.DrawFn) -> tuple[str, list[tuple[str, dict]]]:
    """Plain text and well-formed call blocks, in any order."""
    pieces: list[str] = []
    expected: list[tuple[str, dict]] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            block, name, args = draw(call_block())
            pieces.append(block)
            expected.append((name, args))
        else:
            pieces.append(draw(plain))
    return "".join(pieces), expected


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=12))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@SETTINGS
@given(data=st.data(), out=valid_output())
def test_any_split_of_a_valid_output_parses_the_same(data: st.DataObject, out: tuple[str, list]) -> None:
    text, expected = out
    whole, _ = parse(text)
    pieces = data.draw(splits(text))
    split, _ = parse(pieces)
    assert shape(split) == shape(whole)
    got = [(e[1], orjson.loads(e[2])) for e in shape(whole) if e[0] == "call"]
    assert got == expected
    assert restore(whole) == text


# arbitrary text, heavy in the tokens the parser cares about
TOKENS = ["<tool_call>", "</tool_call>", "<TOOL_CALL>", "```", "~~~", "`", "{", "}", '"', "\n", ",", ":",
          '"name"', '"arguments"', '"get_time"', "\\", "[", "]", "<", " ", "True"]  # fmt: skip
tricky = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.characters(blacklist_categories=("Cs",))), max_size=60
).map("".join)


@st.composite
def tricky_text(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(st.one_of(tricky, plain), max_size=4)))


@SETTINGS
@given(data=st.data(), text=tricky_text())
def test_arbitrary_text_never_crashes_loses_nothing_and_ignores_splits(
    data: st.DataObject, text: str
) -> None:
    whole, _ = parse(text)
    assert restore(whole) == text
    split, _ = parse(data.draw(splits(text)))
    assert shape(split) == shape(whole)
    assert restore(split) == text
