"""Probe finding 12: the emulated-tool parser is linear (an 800 KB reply used to take 3.4 s on the event
loop, from ``+=`` on the text it emits)."""

from __future__ import annotations

import time

import pytest

from any2api.toolemu import ToolCallParser
from tests.toolemu.helpers import BOX, calls, merge, restore

CALL = '<tool_call>{"name": "get_time", "arguments": {"tz": "UTC"}}</tool_call>'


def parse_time(body: str, pieces: int) -> float:
    text = body + CALL
    step = len(text) // pieces + 1
    best = float("inf")
    for _ in range(3):
        p = ToolCallParser(BOX)
        t0 = time.perf_counter()
        events = []
        for i in range(0, len(text), step):
            events += p.feed(text[i : i + step])
        events += p.close()
        best = min(best, time.perf_counter() - t0)
    events = merge(events)
    assert restore(events) == text
    assert [c.name for c in calls(events)] == ["get_time"]
    return best


@pytest.mark.parametrize("unit", ["line\n", "a `b` c\n", "x < y { z } ~ "])
@pytest.mark.parametrize("pieces", [1, 400])
def test_an_800kb_reply_parses_in_linear_time(unit, pieces):
    big = parse_time(unit * (800_000 // len(unit)), pieces)
    # quadratic, this took 3.6 s on an idle machine; linear, about 0.3 s (bound loose for loaded CI)
    assert big < 2.0, f"{big:.2f}s"
