"""<think> splitting across arbitrary chunk boundaries."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.providers.httpapi.think import ThinkSplitter


def split(text_pieces: list[str], **kw) -> tuple[str, str]:
    s = ThinkSplitter(**kw)
    out = []
    for p in text_pieces:
        out += s.feed(p)
    out += s.close()
    reasoning = "".join(t for r, t in out if r)
    text = "".join(t for r, t in out if not r)
    # pieces alternate properly: no empty pieces
    assert all(t for _, t in out)
    return reasoning, text


def test_leading_block():
    assert split(["<think>plan</think>\n\nanswer"]) == ("plan", "answer")
    assert split(["  \n<think>a</think>b"]) == ("a", "b")


def test_only_a_leading_block_counts_by_default():
    assert split(["x <think>y</think>"]) == ("", "x <think>y</think>")
    assert split(["<think>a</think>b<think>c</think>"]) == ("a", "b<think>c</think>")


def test_anywhere():
    assert split(["x <think>y</think> z <think>w</think>"], anywhere=True) == ("yw", "x z ")


def test_unclosed_block_is_reasoning():
    assert split(["<think>still thinking"]) == ("still thinking", "")


def test_custom_tags():
    assert split(["[R]a[/R]b"], open_tag="[R]", close_tag="[/R]") == ("a", "b")


def test_partial_tags_at_the_end():
    assert split(["<thi"]) == ("", "<thi")
    assert split(["<think>ab</thi"]) == ("ab</thi", "")


def test_streaming_yields_early():
    s = ThinkSplitter()
    assert s.feed("<think>abc") == [(True, "abc")]
    assert s.feed("de</th") == [(True, "de")]
    assert s.feed("ink>") == []
    assert s.feed("\n\nhi") == [(False, "hi")]


texts = st.lists(
    st.sampled_from(["<think>", "</think>", "<", "/", "think", ">", "a", " ", "\n", "<th", "ink>", "é"]),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=texts, data=st.data(), anywhere=st.booleans())
def test_any_split_gives_the_same_result(text, data, anywhere):
    whole = split([text], anywhere=anywhere)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=8))))
    pieces = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
    assert split(pieces, anywhere=anywhere) == whole
